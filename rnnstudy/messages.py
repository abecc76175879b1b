"""What a worker process tells its driver: typed messages on one queue, and its exit code.

Messages are small frozen dataclasses (pickled through a ``multiprocessing`` queue). The
driver's :class:`~rnnstudy.supervisor.Supervisor` decides from them and from exit codes;
:class:`~rnnstudy.progress.Progress` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnnstudy.outcome import Outcome

# exit codes of a worker process
EXIT_RECYCLED = 0  # ran its max_trials; there may be more to claim
EXIT_FATAL = 2  # the study itself is wrong: stop every worker
EXIT_DRAINED = 3  # nothing left to claim
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; a running trial was ended INTERRUPTED (none before the go)
CLEAN_EXITS = (EXIT_RECYCLED, EXIT_DRAINED)  # any other exit code means the worker died


@dataclass(frozen=True)
class Claimed:
    """Worker ``pid`` took trial ``trial`` from the storage."""

    pid: int
    trial: int


@dataclass(frozen=True)
class TrialStarted:
    trial: int
    params: dict[str, Any] = field(default_factory=dict)  # the searched values
    epochs: int = 0
    resumed_at: int = 0  # the epoch of the checkpoint it continues from (0: from the start)


@dataclass(frozen=True)
class EpochEnded:
    trial: int
    epoch: int  # from 1
    epochs: int
    logs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialEnded:
    trial: int
    outcome: Outcome
    value: float | None = None
    reason: str = ""
    seconds: float | None = None


@dataclass(frozen=True)
class Note:
    """A line for the user from a worker (a damaged checkpoint, say)."""

    text: str


@dataclass(frozen=True)
class Fatal:
    """The study itself is wrong (an RnnstudyError in a trial): every worker stops."""

    message: str


@dataclass(frozen=True)
class Exiting:
    """Worker ``pid`` is about to exit: the driver reaps it at once, not at its next poll."""

    pid: int


Message = Claimed | TrialStarted | EpochEnded | TrialEnded | Note | Fatal | Exiting
