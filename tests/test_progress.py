"""Progress lines: trials done of total, the current epoch and metric, the best so far, time left,
on a real terminal (a pseudo-terminal) and in a log file."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import termios

import pytest

from rnnstudy.run import _progress as progress
from rnnstudy.run._progress import Progress
from rnnstudy.stores.outcome import Outcome
from rnnstudy.trial.messages import EpochEnded, TrialEnded, TrialStarted


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(progress.time, "monotonic", fake)
    return fake


def _trial(
    show: Progress, clock: Clock, number: int, accuracies: list[float], seconds_per_epoch: float
) -> None:
    show.handle(TrialStarted(number, {"c1": 10 * (number + 1)}, 4))
    for epoch, accuracy in enumerate(accuracies, 1):
        clock.now += seconds_per_epoch
        logs = {"loss": 1.0, "val_accuracy": accuracy}
        show.handle(EpochEnded(number, epoch, 4, logs))
    show.handle(
        TrialEnded(number, Outcome.COMPLETE, max(accuracies), seconds=seconds_per_epoch * len(accuracies))
    )


def test_log_lines_tell_done_total_epoch_best_and_time_left(clock):
    out = io.StringIO()
    show = Progress(3, "val_accuracy", "maximize", out=out, every=3600)
    _trial(show, clock, 0, [0.2, 0.4, 0.5, 0.6], seconds_per_epoch=15)
    _trial(show, clock, 1, [0.3, 0.7, 0.8, 0.75], seconds_per_epoch=15)
    lines = out.getvalue().splitlines()

    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()  # plain lines for CI logs
    assert lines[0] == "trial #0 started (1/3) c1=10"
    # a trial's first and last epochs, and the others only every `every` seconds; before a trial
    # has finished, time left comes from the epochs: 15 s per epoch, 4 epochs, 2.75 trials to go
    assert lines[1] == "[0/3 done] trial #0 epoch 1/4 val_accuracy 0.2000 | best - | time left ~2m45s"
    assert lines[2] == "[0/3 done] trial #0 epoch 4/4 val_accuracy 0.6000 | best - | time left ~2m00s"
    assert (
        lines[3] == "trial #0 COMPLETE (1/3) val_accuracy=0.6000 in 1m00s | best #0 0.6000 | time left ~2m00s"
    )
    assert (
        lines[-1]
        == "trial #1 COMPLETE (2/3) val_accuracy=0.8000 in 1m00s | best #1 0.8000 | time left ~1m00s"
    )
    assert len(lines) == 8


def test_time_left_counts_workers_and_the_best_follows_the_direction(clock):
    out = io.StringIO()
    show = Progress(5, "val_loss", "minimize", workers=2, best=(7, 0.9), out=out, every=0)
    _trial(show, clock, 8, [0.5, 0.4, 0.45, 0.6], seconds_per_epoch=30)  # value: max of the list
    last = out.getvalue().splitlines()[-1]
    assert "best #8 0.6000" in last  # 0.6 < 0.9 from an earlier run of the study
    assert "time left ~4m00s" in last  # 4 trials of 2 minutes on 2 workers


def test_time_left_weighs_the_trials_left_by_their_estimated_cost(clock):
    """A grid that runs its cheap point first: by count the time left would read 1 minute
    (one trial of 1 minute to go); the trial left was estimated to cost 4 times as much."""
    estimated = {10: 30.0, 20: 120.0}  # c1 -> seconds: both read half of what they take

    def cost(params):
        return estimated[params["c1"]]

    out = io.StringIO()
    show = Progress(
        2, "val_accuracy", "maximize", out=out, every=3600, cost=cost, pending=[{"c1": 10}, {"c1": 20}]
    )
    _trial(show, clock, 0, [0.2, 0.4, 0.5, 0.6], seconds_per_epoch=15)  # c1=10, 60 s
    assert out.getvalue().splitlines()[-1].endswith("time left ~4m00s")  # 120 × (60 / 30)
    show.handle(TrialStarted(1, {"c1": 20}, 4))
    clock.now += 60
    show.handle(EpochEnded(1, 1, 4, {"val_accuracy": 0.5}))
    assert out.getvalue().splitlines()[-1].endswith("time left ~3m00s")  # 3/4 of it left

    without = io.StringIO()
    plain = Progress(2, "val_accuracy", "maximize", out=without, every=3600)
    _trial(plain, clock, 0, [0.2, 0.4, 0.5, 0.6], seconds_per_epoch=15)
    assert without.getvalue().splitlines()[-1].endswith("time left ~1m00s")


def test_failed_trial_shows_its_reason_and_no_value(clock):
    out = io.StringIO()
    show = Progress(2, "val_accuracy", "maximize", out=out)
    show.handle(TrialEnded(0, Outcome.LOST, reason="worker process died (exit code -9)"))
    assert out.getvalue() == (
        "trial #0 LOST (1/2) worker process died (exit code -9) | best - | time left: estimating\n"
    )


def _read_all(fd: int) -> str:
    """Everything the terminal received: one read of a pty may return only part of it."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_terminal_status_line_is_redrawn_in_place_and_fits_the_width(clock):
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))  # 60 columns
    terminal = os.fdopen(follower, "w")
    try:
        show = Progress(4, "val_accuracy", "maximize", out=terminal)
        assert show.tty
        _trial(show, clock, 0, [0.25, 0.5, 0.75, 0.8], seconds_per_epoch=2)
        show.close()
        screen = _read_all(leader)
    finally:
        terminal.close()
        os.close(leader)
    redraws = screen.split("\r\x1b[2K")
    statuses = [r for r in redraws if r.startswith("[0/4 done]")]
    assert len(statuses) >= 4  # every epoch redraws the status line ...
    assert all(len(s.split("\r")[0].split("\n")[0]) <= 59 for s in statuses)  # ... cut to the width
    assert "trial #0 COMPLETE (1/4) val_accuracy=0.8000 in 8s" in screen  # whole lines above it
    after = screen.split("trial #0 COMPLETE")[1]
    assert after.endswith("\r\n") and "done]" not in after  # no stale status of a finished trial
