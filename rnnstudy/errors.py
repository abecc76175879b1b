"""Errors a user can fix. Each message names the bad value, what is allowed and how to fix it.

The CLI prints ``Error: <message>`` on one line and exits with code 2 for every subclass of
:class:`RnnstudyError`; anything else is a bug and keeps its traceback. :class:`Exit` lists
every exit code of ``rnnstudy optimize``.
"""

import enum


class RnnstudyError(Exception):
    """Base class of every error that is the user's input, not a bug."""


class StudyFileError(RnnstudyError):
    """The study file cannot be read, or does not define a valid ``study``."""


class PluginError(RnnstudyError):
    """A plugin is unknown, or failed to load."""


class SearchSpaceError(RnnstudyError):
    """A searched or fixed hyperparameter is unknown, empty, inverted or out of range."""


class DataNotFoundError(RnnstudyError):
    """A dataset is not available locally and cannot be downloaded."""


class StorageError(RnnstudyError):
    """The Optuna storage or the MLflow tracking server cannot be reached."""


class ReportError(RnnstudyError):
    """The report cannot be made as asked (unknown study, column, pivot ...)."""


class StatisticsError(RnnstudyError):
    """The scores or the race's settings cannot be used as given."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: the study stopped cleanly, its running trials ended, and the same
    command (or call) again resumes it. ``signal`` is the one that came."""

    def __init__(self, message: str, signal: int = 2) -> None:
        super().__init__(message)
        self.signal = signal


class Stopped(Exception):
    """The study cannot make progress (its workers keep dying before they finish a trial):
    it stopped, with the reason and the last lines the workers wrote."""


class Exit(enum.IntEnum):
    """The exit codes of ``rnnstudy optimize`` (the README's "Exit codes")."""

    DONE = 0  # every trial of the plan ended COMPLETE or PRUNED
    TRIALS_FAILED = 1  # the plan ran to its end, but some trials failed: the same command retries them
    BAD_INPUT = 2  # an RnnstudyError: nothing was written, or the study itself is wrong
    STOPPED = 3  # no progress was possible (Stopped): nothing is left RUNNING
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT); the same command resumes
    TERMINATED = 143  # SIGTERM (128 + SIGTERM), as Slurm and Kubernetes send; the same command resumes
