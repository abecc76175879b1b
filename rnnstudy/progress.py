"""Progress on the terminal: trials done of total, the current epoch, the best so far, time left.

On a terminal one status line, cut to the terminal's width, is redrawn in place; elsewhere
(CI logs, files) whole lines are printed: every trial's start and end, its first and last
epoch, and the epochs between at most every ``every`` seconds. Time left comes from the
finished trials, and before the first one finishes from the epochs of the running ones.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


def _format(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


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
    ):
        self.total, self.objective, self.direction, self.workers = total, objective, direction, workers
        self.best = best
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.every = every
        self.done = 0
        self.durations: list[float] = []
        self.running: dict[int, list[float]] = {}  # trial -> [started, epochs done, epochs]
        self._last_epoch_line = 0.0
        self._status = ""
        self._status_trial: int | None = None

    def handle(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "trial_start":
            self.running[event["trial"]] = [time.monotonic(), 0, event.get("epochs") or 0]
            params = " ".join(f"{k}={v}" for k, v in event["params"].items())
            self._line(f"trial #{event['trial']} started ({self.done + 1}/{self.total}) {params}")
        elif kind == "epoch":
            self._epoch(event)
        elif kind == "trial_end":
            self._trial_end(event)

    def close(self) -> None:
        self._clear()

    def _clear(self) -> None:
        """Take the status line off the terminal."""
        if self.tty and self._status:
            self.out.write("\r\x1b[2K")
            self.out.flush()
        self._status, self._status_trial = "", None

    def _epoch(self, event: dict) -> None:
        if event["trial"] in self.running:
            self.running[event["trial"]][1:] = [event["epoch"], event["epochs"]]
        logs = event["logs"]
        shown = self.objective if self.objective in logs else next(iter(logs), None)
        metric = f" {shown} {_format(logs[shown])}" if shown else ""
        text = (
            f"[{self.done}/{self.total} done] trial #{event['trial']} epoch {event['epoch']}/{event['epochs']}"
            f"{metric} | best {self._best_text()} | {self._eta()}"
        )
        if self.tty:
            self._status = text[: self._width() - 1]  # a wrapped line could not be redrawn in place
            self._status_trial = event["trial"]
            self.out.write("\r\x1b[2K" + self._status)
            self.out.flush()
        elif event["epoch"] in (1, event["epochs"]) or time.monotonic() - self._last_epoch_line >= self.every:
            self._last_epoch_line = time.monotonic()
            self._line(text)

    def _trial_end(self, event: dict) -> None:
        self.running.pop(event["trial"], None)
        if self._status_trial == event["trial"]:  # its epochs are over: no stale status below
            self._clear()
        self.done += 1
        if "seconds" in event:
            self.durations.append(event["seconds"])
        value = event.get("value")
        if value is not None and (self.best is None or self._better(value, self.best[1])):
            self.best = (event["trial"], value)
        result = f"{self.objective}={_format(value)}" if value is not None else event.get("reason", "")
        took = f" in {_duration(event['seconds'])}" if "seconds" in event else ""
        self._line(
            f"trial #{event['trial']} {event['state']} ({self.done}/{self.total}) {result}{took}"
            f" | best {self._best_text()} | {self._eta()}"
        )

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "maximize" else a < b

    def _best_text(self) -> str:
        return "-" if self.best is None else f"#{self.best[0]} {_format(self.best[1])}"

    def _eta(self) -> str:
        """Trials left × the time a trial takes ÷ workers, less what running trials have done."""
        now = time.monotonic()
        fractions = {n: epoch / epochs for n, (_, epoch, epochs) in self.running.items() if epochs and epoch}
        if self.durations:
            per_trial = sum(self.durations) / len(self.durations)
        elif fractions:  # nothing finished yet: the running trials' epochs tell
            per_trial = min((now - self.running[n][0]) / f for n, f in fractions.items())
        else:
            return "time left: estimating"
        work = max(self.total - self.done - sum(fractions.values()), 0)
        return f"time left ~{_duration(per_trial * work / max(self.workers, 1))}"

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
