"""The decisions of a running study about its worker processes, apart from the processes.

The driver feeds a :class:`Supervisor` what happens (each worker's messages, each worker's
end with its exit code, Ctrl-C) and carries out the actions it answers with. It holds no
process, storage or MLflow client, so its rules are tested by feeding it events:

- a worker that ends with a clean exit code (recycled, or nothing left) is replaced while
  trials wait;
- a worker that dies (any other exit code) has its running trial ended LOST, then the study
  is re-planned (its point enqueued again, stale trials of other machines recovered) and the
  worker replaced; at most ``max_retries`` re-plans per invocation, so a point that kills
  every worker cannot loop for ever;
- a fatal error (the study itself is wrong) interrupts every worker and starts no other;
- where the plan depends on results (a race adds seeds to the points still tied with the
  leader), every trial's end re-plans the study;
- Ctrl-C (or SIGTERM) stops every worker and ends INTERRUPTED the trials still running.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnstudy.messages import CLEAN_EXITS, Claimed, Exiting, Fatal, Message, TrialEnded

MAX_RETRIES = 10  # re-plans after dead workers, per invocation


@dataclass(frozen=True)
class LoseTrial:
    """End ``trial`` LOST: its worker died running it."""

    trial: int
    reason: str


@dataclass(frozen=True)
class InterruptTrial:
    """End ``trial`` INTERRUPTED: the study was stopped while it ran (if its worker did not)."""

    trial: int


@dataclass(frozen=True)
class Replan:
    """Under the study's lock: recover stale trials and enqueue what has no trial."""


@dataclass(frozen=True)
class StartWorker:
    """Start one worker, if trials are waiting."""


@dataclass(frozen=True)
class InterruptWorkers:
    """Ask every worker to stop (each ends its own trial INTERRUPTED)."""


Action = LoseTrial | InterruptTrial | Replan | StartWorker | InterruptWorkers


@dataclass
class Supervisor:
    """Which trial each worker runs, and what to do when something happens."""

    workers: int  # how many to keep busy
    replan_after_trials: bool = False  # the plan depends on results (a race): re-plan after each trial
    max_retries: int = MAX_RETRIES
    running: dict[int, int] = field(default_factory=dict)  # worker pid -> trial number
    exiting: set[int] = field(default_factory=set)  # workers that said they exit
    fatal: str | None = None
    retries: int = 0

    def on_message(self, message: Message) -> list[Action]:
        if isinstance(message, Claimed):
            self.running[message.pid] = message.trial
        elif isinstance(message, TrialEnded):
            for pid in [p for p, n in self.running.items() if n == message.trial]:
                del self.running[pid]
            if self.replan_after_trials and self.fatal is None:
                return [Replan()]
        elif isinstance(message, Exiting):
            self.exiting.add(message.pid)
        elif isinstance(message, Fatal) and self.fatal is None:
            self.fatal = message.message
            return [InterruptWorkers()]
        return []

    def on_worker_end(self, pid: int, exitcode: int | None, live_workers: int) -> list[Action]:
        """Worker ``pid`` ended with ``exitcode``; ``live_workers`` are still there."""
        self.exiting.discard(pid)
        trial = self.running.pop(pid, None)
        died = exitcode not in CLEAN_EXITS
        actions: list[Action] = []
        if died and trial is not None:
            actions.append(LoseTrial(trial, f"worker process died (exit code {exitcode})"))
        if self.fatal is not None:
            return actions
        if died and self.retries < self.max_retries:
            self.retries += 1
            actions.append(Replan())
        if live_workers < self.workers:
            actions.append(StartWorker())  # recycled, or replacing one that died
        return actions

    def on_interrupt(self) -> list[Action]:
        """Ctrl-C or SIGTERM: what to end once the workers are stopped."""
        return [InterruptTrial(trial) for trial in self.running.values()]
