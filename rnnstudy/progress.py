"""Progress on the terminal: trials done of total, the current epoch, the best so far, time left.

On a terminal one status line is redrawn in place; elsewhere (CI logs, files) whole lines are
printed: every trial's start and end, and epochs at most every ``every`` seconds.
"""

from __future__ import annotations

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
        self.started = time.monotonic()
        self._last_epoch_line = 0.0
        self._status = ""

    def handle(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "trial_start":
            params = " ".join(f"{k}={v}" for k, v in event["params"].items())
            self._line(f"trial #{event['trial']} started ({self.done + 1}/{self.total}) {params}")
        elif kind == "epoch":
            self._epoch(event)
        elif kind == "trial_end":
            self._trial_end(event)

    def close(self) -> None:
        if self.tty and self._status:
            self.out.write("\n")
            self.out.flush()

    def _epoch(self, event: dict) -> None:
        logs = event["logs"]
        shown = self.objective if self.objective in logs else next(iter(logs), None)
        metric = f" {shown} {_format(logs[shown])}" if shown else ""
        text = (
            f"[{self.done}/{self.total} done] trial #{event['trial']} epoch {event['epoch']}/{event['epochs']}"
            f"{metric} | best {self._best_text()} | {self._eta()}"
        )
        if self.tty:
            self._status = text
            self.out.write("\r\x1b[2K" + text)
            self.out.flush()
        elif time.monotonic() - self._last_epoch_line >= self.every or event["epoch"] == event["epochs"]:
            self._last_epoch_line = time.monotonic()
            self._line(text)

    def _trial_end(self, event: dict) -> None:
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
        if not self.durations:
            return "time left: estimating"
        left = max(self.total - self.done, 0)
        mean = sum(self.durations) / len(self.durations)
        return f"time left ~{_duration(mean * left / max(self.workers, 1))}"

    def _line(self, text: str) -> None:
        if self.tty and self._status:
            self.out.write("\r\x1b[2K")
        self.out.write(text + "\n")
        self.out.flush()
        if self.tty and self._status:
            self.out.write(self._status)
            self.out.flush()
