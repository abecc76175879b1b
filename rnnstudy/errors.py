"""Errors a user can fix. Each message names the bad value, what is allowed and how to fix it.

The CLI prints ``Error: <message>`` on one line and exits with code 2 for every subclass of
:class:`RnnstudyError`; anything else is a bug and keeps its traceback.
"""


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
