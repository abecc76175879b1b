"""Heartbeats: how a trial whose worker died is told from one that is still running.

Optuna's own heartbeat exists for RDB storages only; this one works on every storage and
across machines. While a worker runs a trial, a thread writes the time, the machine and the
process (id and start time) into the trial's system attributes every ``interval`` seconds.
A RUNNING trial is stale when its process is gone from this machine, known at once (after a
``kill -9``, say), or, for a process on another machine, when no beat came for
``MISSED_BEATS`` intervals (that machine may be gone): "heartbeat stale". A machine is its
host name and PID namespace, or ``$RNNSTUDY_MACHINE`` where that is set: for nodes that share
a host name, and for the tests, which play two machines on one.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

from rnnstudy.keys import HEARTBEAT_ATTR
from rnnstudy.stores import optuna_internals

INTERVAL_ENV = "RNNSTUDY_HEARTBEAT_SECONDS"
MACHINE_ENV = "RNNSTUDY_MACHINE"
DEFAULT_INTERVAL = 15.0
MISSED_BEATS = 4  # a trial is stale after this many intervals without a beat


def interval() -> float:
    """Seconds between beats: ``$RNNSTUDY_HEARTBEAT_SECONDS`` or 15."""
    return float(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL)


def machine() -> str:
    """This machine, as seen by process ids (containers on one host have their own), or
    ``$RNNSTUDY_MACHINE``: process ids of another machine are never looked up here."""
    if os.environ.get(MACHINE_ENV):
        return os.environ[MACHINE_ENV]
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}"


class Heartbeat:
    """Beats for one trial while the ``with`` block runs; the first beat before it starts."""

    def __init__(self, study, number: int, every: float | None = None) -> None:
        self.study = study
        self.number = number
        self.every = every or interval()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rnnstudy-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def beat(self) -> None:
        beat(self.study, self.number, os.getpid(), self.every)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception:  # the trial was finished (or failed as stale) elsewhere
                return


def beat(study, number: int, pid: int, every: float | None = None) -> None:
    """Say that process ``pid`` of this machine runs trial ``number``, now. The driver beats
    first, for the worker it claims a trial for, so a trial is never RUNNING without one for
    longer than the claim takes."""
    record = {"machine": machine(), "pid": pid, "started": _started(pid), "time": time.time()}
    optuna_internals.set_system_attr(study, number, HEARTBEAT_ATTR, {**record, "every": every or interval()})


def stale(study, now: float | None = None) -> list:
    """The study's RUNNING trials whose worker is gone, as (trial, reason) pairs."""
    from optuna.trial import TrialState

    now = time.time() if now is None else now
    here = machine()
    found = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        beat = trial.system_attrs.get(HEARTBEAT_ATTR)
        if beat is None:  # claimed, and died before its first beat
            beat = {"machine": "", "time": trial.datetime_start.timestamp(), "every": interval()}
        if beat["machine"] == here and beat.get("started"):
            if _started(beat["pid"]) != beat["started"]:  # dead, or its id is another process's now
                found.append((trial, f"worker process {beat['pid']} is gone (killed?)"))
            continue
        silent = now - beat["time"]
        if silent > MISSED_BEATS * beat["every"]:
            found.append(
                (trial, f"heartbeat stale: no beat for {silent:.0f} s (its worker or machine is gone)")
            )
    return found


def _started(pid: int) -> str | None:
    """When a live process started (clock ticks since boot), or None: gone, a zombie, no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]
