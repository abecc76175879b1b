"""The decisions of a running study about its worker processes, apart from the processes.

The driver feeds a :class:`Supervisor` what happens (each worker's messages, each worker's
end with its exit code, Ctrl-C) and carries out the actions it answers with. It holds no
process, storage or MLflow client, so its rules are tested by feeding it events:

- a worker that is ready gets a trial claimed for it (the driver knows from then on which
  trial it holds), unless the study is stopping;
- a worker that ends with a clean exit code (recycled, or nothing left) is replaced while
  trials wait;
- a worker that dies (any other exit code, a signal) has its trial ended LOST, with the death
  named, then the study is re-planned (its point enqueued again, stale trials of other
  machines recovered) and the worker replaced; at most ``max_retries`` re-plans per
  invocation;
- ``max_deaths`` workers dying in a row with no trial ended in between stop the study: it
  cannot make progress (a plugin that exits, a model that runs out of memory as it is built);
- a fatal error (the study itself is wrong) interrupts every worker and starts no other;
- where the plan depends on results (a race adds seeds to the points still tied with the
  leader), every trial's end re-plans the study;
- every ``check_every`` seconds (a heartbeat's interval) it looks for trials of other
  commands whose heartbeat went stale (their machine vanished): if any, the study is
  re-planned, so a command that still runs takes over a lost machine's trials;
- Ctrl-C (or SIGTERM) stops every worker and ends INTERRUPTED the trials still running.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from rnnstudy.trial.messages import CLEAN_EXITS, Exiting, Fatal, Message, Ready, TrialEnded

MAX_RETRIES = 10  # re-plans after dead workers, per invocation
MAX_DEATHS = (
    3  # workers dead in a row, no trial ended between: stop (Keras Tuner's max_consecutive_failed_trials)
)


@dataclass(frozen=True)
class LoseTrial:
    """End ``trial`` LOST: its worker died running it."""

    trial: int
    reason: str


@dataclass(frozen=True)
class Assign:
    """Claim a waiting trial for worker ``pid`` and send it; None if nothing is left for it."""

    pid: int


@dataclass(frozen=True)
class Dismiss:
    """Tell worker ``pid`` that there is nothing for it: it exits."""

    pid: int


@dataclass(frozen=True)
class InterruptTrial:
    """End ``trial`` INTERRUPTED: the study was stopped while it ran (if its worker did not)."""

    trial: int


@dataclass(frozen=True)
class Replan:
    """Under the study's lock: recover stale trials and enqueue what has no trial."""


@dataclass(frozen=True)
class LookForStale:
    """Re-plan (:class:`Replan`) if a trial of another command has a stale heartbeat."""


@dataclass(frozen=True)
class StartWorker:
    """Start one worker, if trials are waiting."""


@dataclass(frozen=True)
class InterruptWorkers:
    """Ask every worker to stop (each ends its own trial INTERRUPTED)."""


Action = (
    Assign | Dismiss | LoseTrial | InterruptTrial | Replan | LookForStale | StartWorker | InterruptWorkers
)


@dataclass
class Supervisor:
    """Which trial each worker runs, and what to do when something happens."""

    workers: int  # how many to keep busy
    replan_after_trials: bool = False  # the plan depends on results (a race): re-plan after each trial
    max_retries: int = MAX_RETRIES
    max_deaths: int = MAX_DEATHS
    check_every: float | None = None  # seconds between looks for other commands' stale trials
    running: dict[int, int] = field(default_factory=dict)  # worker pid -> trial number
    exiting: set[int] = field(default_factory=set)  # workers that said they exit
    fatal: str | None = None  # the study itself is wrong (exit code 2)
    stopped: str | None = None  # no progress is possible (exit code 3)
    retries: int = 0
    deaths: int = 0  # workers dead since a trial last ended
    next_check: float | None = None  # when to look for stale trials next (the first tick + check_every)

    def on_message(self, message: Message) -> list[Action]:
        if isinstance(message, Ready):
            return [Dismiss(message.pid) if self.stopping else Assign(message.pid)]
        if isinstance(message, TrialEnded):
            self.deaths = 0
            for pid in [p for p, n in self.running.items() if n == message.trial]:
                del self.running[pid]
            if self.replan_after_trials and not self.stopping:
                return [Replan()]
        elif isinstance(message, Exiting):
            self.exiting.add(message.pid)
        elif isinstance(message, Fatal) and self.fatal is None:
            self.fatal = message.message
            return [InterruptWorkers()]
        return []

    def assigned(self, pid: int, trial: int) -> None:
        """Trial ``trial`` was claimed for worker ``pid``: it is that worker's until it ends."""
        self.running[pid] = trial

    @property
    def stopping(self) -> bool:
        return self.fatal is not None or self.stopped is not None

    def on_worker_end(self, pid: int, exitcode: int | None, live_workers: int) -> list[Action]:
        """Worker ``pid`` ended with ``exitcode``; ``live_workers`` are still there."""
        self.exiting.discard(pid)
        trial = self.running.pop(pid, None)
        died = exitcode not in CLEAN_EXITS
        actions: list[Action] = []
        if died and trial is not None:
            actions.append(LoseTrial(trial, f"worker process died: {death(exitcode)}"))
        if self.stopping:  # the workers were told to stop: their ends are expected
            return actions
        if died:
            self.deaths += 1
            if self.deaths >= self.max_deaths:
                self.stopped = (
                    f"{self.deaths} worker processes in a row died before ending a trial "
                    f"(the last: {death(exitcode)}); no progress is possible"
                )
                return [*actions, InterruptWorkers()]
            if self.retries < self.max_retries:
                self.retries += 1
                actions.append(Replan())
        if live_workers < self.workers:
            actions.append(StartWorker())  # recycled, or replacing one that died
        return actions

    def on_tick(self, now: float) -> list[Action]:
        """The driver's loop came round at ``now`` (monotonic seconds)."""
        if self.check_every is None or self.stopping:
            return []
        if self.next_check is None:
            self.next_check = now + self.check_every
        if now < self.next_check:
            return []
        self.next_check = now + self.check_every
        return [LookForStale()]

    def on_interrupt(self) -> list[Action]:
        """Ctrl-C or SIGTERM: what to end once the workers are stopped."""
        return [InterruptTrial(trial) for trial in self.running.values()]


def death(exitcode: int | None) -> str:
    """A worker's end in words: ``exit code 1``, ``killed by SIGKILL (exit code -9; out of memory?)``."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = "; out of memory?" if name == "SIGKILL" else ""  # the kernel's OOM killer sends it
        return f"killed by {name} (exit code {exitcode}{why})"
    return f"exit code {exitcode}"
