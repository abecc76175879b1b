"""Progress on the terminal: trials done of total, the current epoch, the best so far, time left.

On a terminal one status line, cut to the terminal's width, is redrawn in place; elsewhere
(CI logs, files) whole lines are printed: every trial's start and end, its first and last
epoch, and the epochs between at most every ``every`` seconds. In a Jupyter notebook one
progress bar (tqdm) says the same. Time left comes from the finished trials, and before the
first one finishes from the epochs of the running ones; where the study has a time estimate
(rnnstudy.run._estimate), each trial weighs what its point was estimated to cost, so a grid that
runs its cheap points first does not read short. :func:`make` chooses by where the output goes.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

from rnnstudy.spec.direction import better, lower_is_better
from rnnstudy.stores.outcome import Outcome
from rnnstudy.trial.messages import EpochEnded, Message, Note, TrialEnded, TrialStarted


def _format(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass
class _Running:
    """A trial under way: when it started, its epochs done of all, its estimated cost."""

    started: float
    epoch: int
    epochs: int
    cost: float

    def at(self, epoch: int, epochs: int) -> None:
        self.epoch, self.epochs = epoch, epochs

    @property
    def fraction(self) -> float:
        return self.epoch / self.epochs if self.epochs else 0.0


class Progress:
    """Turns worker events into lines for a person to read."""

    def __init__(
        self,
        total: int,
        objective: str,
        direction: str,
        *,
        workers: int = 1,
        best: tuple[int, float] | None = None,
        out: TextIO | None = None,
        every: float = 10.0,
        cost: Callable[[dict], float] | None = None,
        pending: Iterable[dict] | None = None,
    ):
        """``cost``: a trial's estimated seconds from its searched values, and ``pending``: the
        searched values of the trials waiting; without them every trial weighs the same."""
        self.total, self.objective, self.direction, self.workers = total, objective, direction, workers
        self.best = best
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.every = every
        self.done = 0
        self.cost = cost or (lambda params: 1.0)
        self.finished: list[tuple[float, float]] = []  # (seconds taken, cost) of each trial
        self.running: dict[int, _Running] = {}
        self._waiting = None if pending is None or cost is None else sum(map(cost, pending))
        self._last_epoch_line = 0.0
        self._status = ""
        self._status_trial: int | None = None

    def handle(self, message: Message) -> None:
        if isinstance(message, TrialStarted):
            started = _Running(
                time.monotonic(), message.resumed_at, message.epochs, self.cost(message.params)
            )
            self.running[message.trial] = started
            if self._waiting is not None:
                self._waiting = max(self._waiting - started.cost, 0.0)
            params = " ".join(f"{k}={v}" for k, v in message.params.items())
            resumed = (
                f"; resumed at epoch {message.resumed_at} from its checkpoint" if message.resumed_at else ""
            )
            self._line(f"trial #{message.trial} started ({self.done + 1}/{self.total}) {params}{resumed}")
        elif isinstance(message, EpochEnded):
            self._epoch(message)
        elif isinstance(message, TrialEnded):
            self._trial_end(message)
        elif isinstance(message, Note):
            self.note(message.text)

    def note(self, text: str) -> None:
        """A line about the study as a whole (why a race adds trials, say)."""
        self._line(text)

    def replanned(self, remaining: int, pending: Iterable[dict] | None = None) -> None:
        """The study was planned again (a worker died, a race added seeds): ``remaining`` trials
        wait or run, ``pending`` the searched values of those waiting."""
        self.total = self.done + remaining
        if self._waiting is not None:
            self._waiting = sum(map(self.cost, pending or ()))

    def close(self) -> None:
        self._clear()

    def _clear(self) -> None:
        """Take the status line off the terminal."""
        if self.tty and self._status:
            self.out.write("\r\x1b[2K")
            self.out.flush()
        self._status, self._status_trial = "", None

    def _epoch(self, message: EpochEnded) -> None:
        if message.trial in self.running:
            self.running[message.trial].at(message.epoch, message.epochs)
        logs = message.logs
        shown = self.objective if self.objective in logs else next(iter(logs), None)
        metric = f" {shown} {_format(logs[shown])}" if shown else ""
        text = (
            f"[{self.done}/{self.total} done] trial #{message.trial} epoch {message.epoch}/{message.epochs}"
            f"{metric} | best {self._best_text()} | {self._eta()}"
        )
        if self.tty:
            self._status = text[: self._width() - 1]  # a wrapped line could not be redrawn in place
            self._status_trial = message.trial
            self.out.write("\r\x1b[2K" + self._status)
            self.out.flush()
        elif message.epoch in (1, message.epochs) or time.monotonic() - self._last_epoch_line >= self.every:
            self._last_epoch_line = time.monotonic()
            self._line(text)

    def _trial_end(self, message: TrialEnded) -> None:
        ended = self.running.pop(message.trial, None)
        if self._status_trial == message.trial:  # its epochs are over: no stale status below
            self._clear()
        self.done += 1
        if message.seconds is not None:
            self.finished.append((message.seconds, ended.cost if ended else 1.0))
        value = message.value
        if value is not None and (self.best is None or self._better(value, self.best[1])):
            self.best = (message.trial, value)
        result = f"{self.objective}={_format(value)}" if value is not None else message.reason
        took = f" in {_duration(message.seconds)}" if message.seconds is not None else ""
        self._line(
            f"trial #{message.trial} {message.outcome.name} ({self.done}/{self.total}) {result}{took}"
            f" | best {self._best_text()} | {self._eta()}"
        )

    def _better(self, a: float, b: float) -> bool:
        return better(
            a, b, lower_is_better(self.objective, objective=self.objective, direction=self.direction)
        )

    def _best_text(self) -> str:
        return "-" if self.best is None else f"#{self.best[0]} {_format(self.best[1])}"

    def _eta(self) -> str:
        """The work left (the waiting trials' costs and what the running ones have still to do)
        × the seconds a unit of cost took so far ÷ workers."""
        now = time.monotonic()
        under_way = [r for r in self.running.values() if r.fraction]
        if self.finished:
            rate = sum(s for s, _ in self.finished) / sum(c for _, c in self.finished)
        elif under_way:  # nothing finished yet: the running trials' epochs tell
            rate = min((now - r.started) / (r.fraction * r.cost) for r in under_way)
        else:
            return "time left: estimating"
        running = sum(r.cost * (1 - r.fraction) for r in self.running.values())
        if self._waiting is None:  # every trial alike: those not started yet
            waiting = max(self.total - self.done - len(self.running), 0)
        else:
            waiting = self._waiting
        return f"time left ~{_duration(rate * (waiting + running) / max(self.workers, 1))}"

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError, AttributeError):  # not a real terminal after all
            return 120

    def _line(self, text: str) -> None:
        if self.tty and self._status:
            self.out.write("\r\x1b[2K")
        self.out.write(text + "\n")
        self.out.flush()
        if self.tty and self._status:
            self.out.write(self._status)
            self.out.flush()


class NotebookProgress(Progress):
    """In a Jupyter notebook: one bar of trials done, with the current trial's epoch and
    metric, the best so far and the time left beside it; failed trials and notes as lines."""

    def __init__(self, total: int, objective: str, direction: str, **kwargs) -> None:
        super().__init__(total, objective, direction, **kwargs)
        self.tty = False
        with warnings.catch_warnings():  # without ipywidgets tqdm.auto warns, then draws text
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
        self.bar = tqdm(
            total=total,
            file=self.out,
            bar_format="{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} trials [{elapsed}{postfix}]",
            dynamic_ncols=True,
        )
        self._show(f"best {self._best_text()} | {self._eta()}")

    def note(self, text: str) -> None:
        self.bar.write(text, file=self.out)

    def replanned(self, remaining: int, pending: Iterable[dict] | None = None) -> None:
        super().replanned(remaining, pending)
        self.bar.total = self.total
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()

    def _epoch(self, message: EpochEnded) -> None:
        if message.trial in self.running:
            self.running[message.trial].at(message.epoch, message.epochs)
        logs = message.logs
        shown = self.objective if self.objective in logs else next(iter(logs), None)
        metric = f" {shown} {_format(logs[shown])}" if shown else ""
        self._show(
            f"trial #{message.trial} epoch {message.epoch}/{message.epochs}{metric} | "
            f"best {self._best_text()} | {self._eta()}"
        )

    def _trial_end(self, message: TrialEnded) -> None:
        super()._trial_end(message)
        self.bar.n = self.done
        if message.outcome in (Outcome.FAILED, Outcome.LOST):  # why it failed is worth a line
            self.bar.write(f"trial #{message.trial} {message.outcome.name}: {message.reason}", file=self.out)
        self._show(f"best {self._best_text()} | {self._eta()}")

    def _line(self, text: str) -> None:
        pass  # the bar says what the lines would

    def _show(self, status: str) -> None:
        self.bar.set_postfix_str(status, refresh=True)


def in_notebook(out: TextIO) -> bool:
    """Whether ``out`` is a Jupyter kernel's output (ipykernel's stream), not a terminal or file."""
    iostream = sys.modules.get("ipykernel.iostream")
    return iostream is not None and isinstance(out, iostream.OutStream)


def make(
    total: int,
    objective: str,
    direction: str,
    *,
    workers: int = 1,
    best: tuple[int, float] | None = None,
    out: TextIO | None = None,
    cost: Callable[[dict], float] | None = None,
    pending: Iterable[dict] | None = None,
) -> Progress:
    """The progress for ``out`` (sys.stdout when None): a bar in a notebook, else lines."""
    out = out or sys.stdout
    kind = NotebookProgress if in_notebook(out) else Progress
    return kind(total, objective, direction, workers=workers, best=best, out=out, cost=cost, pending=pending)
