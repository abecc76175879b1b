"""Fail points for the fault-injection tests: a trial's phases where a test kills or breaks
the process, to prove that nothing is lost, left RUNNING or run twice.

Off unless ``$RNNSTUDY_FAULT`` is set, which only the tests do:

    RNNSTUDY_FAULT=build:kill        # SIGKILL the process that reaches the phase
    RNNSTUDY_FAULT=tell:raise        # raise InjectedFault there
    RNNSTUDY_FAULT=claim:exit        # a line on stderr, then os._exit(1), as a plugin that gives up
    RNNSTUDY_FAULT_ONCE=/tmp/marker  # fire in the first process only (the marker is created)

The phases, in a trial's order: ``claim`` (a worker took it), ``build`` (its model is being
built), ``epoch`` (its first epoch ended), ``checkpoint`` (a checkpoint is being written),
``mlflow_end`` (its MLflow run is being ended), ``tell`` (Optuna is being told), and the
driver's ``report`` (the closing report).
"""

from __future__ import annotations

import os
import signal
import sys

FAULT_ENV = "RNNSTUDY_FAULT"
ONCE_ENV = "RNNSTUDY_FAULT_ONCE"
PHASES = ("claim", "build", "epoch", "checkpoint", "mlflow_end", "tell", "report")
ACTIONS = ("kill", "raise", "exit")


class InjectedFault(RuntimeError):
    """The failure a test asked for at a phase."""


def point(phase: str) -> None:
    """Fail here if the test asked for ``phase``; otherwise (always, outside tests) nothing."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    asked, _, action = wanted.partition(":")
    if asked != phase or not _first_time():
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "exit":  # as a plugin that gives up: a line on stderr, then gone
        print(f"injected fault at {phase}: exiting", file=sys.stderr, flush=True)
        os._exit(1)
    raise InjectedFault(f"injected fault at {phase}")


def _first_time() -> bool:
    """Whether this is the first process to fire (always, without ``$RNNSTUDY_FAULT_ONCE``)."""
    marker = os.environ.get(ONCE_ENV)
    if not marker:
        return True
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
