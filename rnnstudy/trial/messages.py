"""What a worker process and its driver tell each other: typed messages, and exit codes.

A worker reports on its pipe to the driver (small frozen dataclasses, pickled), and the
driver answers on the same pipe (rnnstudy.run._pool). The driver claims
every trial a worker runs: a worker says it is :class:`Ready`, the driver moves a waiting trial
to RUNNING in the storage and sends it an :class:`Assignment`. So from the moment a trial is
RUNNING the driver knows which worker holds it, and ends it if that worker dies, whatever
the death and however early. The driver's :class:`~rnnstudy.run._supervisor.Supervisor` decides
from the messages and the exit codes; :class:`~rnnstudy.run._progress.Progress` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnnstudy.stores.outcome import Outcome

# exit codes of a worker process
EXIT_RECYCLED = 0  # ran its max_trials; there may be more to claim
EXIT_FATAL = 2  # the study itself is wrong: stop every worker
EXIT_DRAINED = 3  # nothing left to claim
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; a running trial was ended INTERRUPTED (none before the go)
CLEAN_EXITS = (EXIT_RECYCLED, EXIT_DRAINED)  # any other exit code means the worker died


@dataclass(frozen=True)
class Ready:
    """Worker ``pid`` wants a trial: the driver answers with an :class:`Assignment`, or None
    when nothing is left for it."""

    pid: int


@dataclass(frozen=True)
class Assignment:
    """Driver to worker: run the storage's trial ``trial_id`` (already RUNNING), the study's
    trial ``number``, with ``point`` (what it was enqueued with; None: the sampler chooses)."""

    trial_id: int
    number: int
    point: dict[str, Any] | None = None


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


Message = Ready | TrialStarted | EpochEnded | TrialEnded | Note | Fatal | Exiting
