"""A worker process: it claims waiting trials from the study until none is left, or until it
has run ``max_trials`` and is replaced by a fresh process (TensorFlow leaks a few MiB per
trial, so a long study recycles its workers to keep memory bounded).

A worker starts before the driver has checked the study (see rnnstudy.run._pool): it imports
what trials need, then waits on its order pipe for the study's MLflow ids.

Work goes through the Optuna storage: every driver enqueues its study's trials (a grid point,
or an empty one that the sampler fills in), and claims one for a worker of its own that is
ready by moving it from WAITING to RUNNING, which one caller wins; so commands of one study
may run on other machines too. While a trial runs, a heartbeat tells others that its worker
is alive. Workers talk to their own driver through a pipe each (typed messages one way, orders the
other) and their exit code (rnnstudy.trial.messages). A worker whose driver is gone exits.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from rnnstudy import faults
from rnnstudy.errors import RnnstudyError
from rnnstudy.plugins.registry import default_registry
from rnnstudy.runtime import backend
from rnnstudy.spec.samplers import make_pruner, make_sampler
from rnnstudy.spec.study import load_study
from rnnstudy.stores.heartbeat import Heartbeat
from rnnstudy.stores.mlflow_tracking import Tracker
from rnnstudy.stores.optuna_internals import trial_of
from rnnstudy.stores.optuna_storage import open_storage
from rnnstudy.stores.outcome import Ending, Outcome, end_trial
from rnnstudy.trial import messages
from rnnstudy.trial.messages import EXIT_DRAINED, EXIT_FATAL, EXIT_INTERRUPTED, EXIT_RECYCLED, Exiting, Ready

INTERRUPTED = "interrupted (Ctrl-C or SIGTERM)"


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, picklable for a spawned process. The MLflow ids come with the
    driver's go (see rnnstudy.run._pool); ``env`` applies before TensorFlow is imported."""

    study_path: str
    overrides: dict[str, Any]
    storage_url: str
    tracking_uri: str
    experiment_id: str = ""
    parent_run_id: str = ""
    data_dir: str | None = None
    max_trials: int = 25
    env: dict[str, str] = field(default_factory=dict)
    study: bytes | None = None  # a Study defined in code (pack_study), instead of study_path
    checkpoint_root: str | None = None  # --checkpoint-dir as a URI; None: the MLflow artifact store
    backend: str | None = None  # in a study that searches the backend: the one this worker runs
    keep_models: bool = False
    stderr_path: str | None = None  # where its standard error goes (the driver shows it, and its end)


def main(config: WorkerConfig, pipe) -> None:
    """Process entry point: get ready, wait for the go on ``pipe``, then run the trials the
    driver sends, reporting on the same pipe; the exit code says why it stopped."""
    stops = (signal.SIGINT, signal.SIGTERM)
    _interrupt_once(*stops)
    _stderr_to(config.stderr_path)
    code = EXIT_INTERRUPTED
    try:
        _prepare(config)
        go = pipe.recv()
        _start_keras(go.pop("env", None) or {})  # auto: the backend comes with the go
        code = _work(replace(config, **go), _sender(pipe), pipe)
    except (KeyboardInterrupt, EOFError, BrokenPipeError):  # the pipe's errors: the driver is gone
        pass
    finally:
        for number in stops:  # the work is over: a late Ctrl-C must not break the exit
            signal.signal(number, _ignore)
    with contextlib.suppress(OSError):
        pipe.send(Exiting(os.getpid()))  # the driver reaps at once, not at its next poll
    pipe.close()

    backend.exit_now(code)


def _sender(pipe):
    """``send(message)`` on ``pipe``, from any thread of this process (a pipe is not thread-safe)."""
    lock = threading.Lock()

    def send(message) -> None:
        with lock:
            pipe.send(message)

    return send


def _stderr_to(path: str | None) -> None:
    """Send this process's standard error (Python's and the libraries' own) to ``path``,
    which the driver copies to its own and reads the end of when this process dies."""
    if path is None:
        return
    sys.stderr.flush()
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 2)
    os.close(log)


def _prepare(config: WorkerConfig) -> None:
    """Import what trials use (TensorFlow, Optuna, MLflow, the plugins), writing nothing."""
    os.environ.update(config.env)
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (the client's store: its import is slow)
    import optuna  # noqa: F401
    import pandas  # noqa: F401

    if "KERAS_BACKEND" in config.env:  # a known backend: Keras now, while the driver checks
        _start_keras({})


def _start_keras(env: dict[str, str]) -> None:
    """Import Keras on the study's backend (from the environment), the trial code and plugins."""
    os.environ.update(env)

    backend.start()  # cheap the second time
    from rnnstudy.trial import runner  # noqa: F401  (Keras and the trial code, now: on the backend just set)

    default_registry().all()


def _work(config: WorkerConfig, send, orders) -> int:
    import optuna

    from rnnstudy.trial.runner import TrialRunner  # imported by _start_keras, after the backend's environment

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = pickle.loads(config.study) if config.study else load_study(config.study_path)
    spec.override(**config.overrides)
    study = optuna.load_study(
        study_name=spec.name,
        storage=open_storage(config.storage_url),
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
    )
    runner = TrialRunner(
        spec,
        default_registry(),
        Tracker(config.tracking_uri),
        config.experiment_id,
        config.parent_run_id,
        config.data_dir,
        send=send,
        stopping=_stopping.is_set,
        checkpoint_root=config.checkpoint_root,
        keep_models=config.keep_models,
    )
    for _ in range(config.max_trials):
        if _stopping.is_set():
            raise KeyboardInterrupt
        send(Ready(os.getpid()))
        order = orders.recv()  # the driver claims the trial: it knows this process holds it
        if order is None:
            return EXIT_DRAINED
        trial = trial_of(study, order.trial_id)
        faults.point("claim")
        with Heartbeat(study, trial.number):
            if not run_one(study, trial, order.point, runner, send):
                return EXIT_FATAL
    return EXIT_RECYCLED


def run_one(study, trial, point, runner, send) -> bool:
    """Run one trial and end it (rnnstudy.stores.outcome); False when the study must stop."""
    import optuna

    started = time.perf_counter()
    run_ids: list[str] = []
    fatal = None
    try:
        run_ids.append(runner.start(trial))
        ending = Ending(Outcome.COMPLETE, value=runner.train(trial, point, run_ids[0]))
    except optuna.TrialPruned as exc:
        ending = Ending(Outcome.PRUNED, reason=f"pruned at epoch {exc}", pruned_at=int(str(exc)))
    except KeyboardInterrupt:
        # a stop that lands between the run's start and the line that notes its id: find the run
        run_ids = run_ids or runner.tracker.unfailed_trial_runs(
            runner.experiment_id, runner.parent_run_id, trial.number
        )
        _end(study, trial, Ending(Outcome.INTERRUPTED, reason=INTERRUPTED), runner, run_ids, send, started)
        raise
    except RnnstudyError as exc:  # the study itself is wrong: every worker stops
        ending = fatal = Ending(Outcome.FAILED, reason=str(exc))
    except Exception as exc:  # a failed trial must not stop the study
        ending = Ending(Outcome.FAILED, reason=f"{type(exc).__name__}: {exc}")
    _end(study, trial, ending, runner, run_ids, send, started)
    if fatal is not None:
        send(messages.Fatal(fatal.reason))
        return False
    return True


def _end(study, trial, ending: Ending, runner, run_ids: list[str], send, started: float) -> None:
    end_trial(study, trial.number, ending, tracker=runner.tracker, run_ids=run_ids)
    seconds = time.perf_counter() - started
    value = ending.value
    if isinstance(value, list):  # several objectives: the progress line shows the primary's
        value = value[list(runner.study.objectives).index(runner.study.primary)]
    send(messages.TrialEnded(trial.number, ending.outcome, value, ending.reason, seconds))


_stopping = threading.Event()  # a stop signal came


def _ignore(signum, frame) -> None:
    """A later stop signal: ignored in Python, not with SIG_IGN, for a signal that arrived
    before the switch would then be "ignored due to race condition" with a traceback (Slurm's
    scancel sends SIGTERM to the worker and to its driver, which passes it on)."""


def _interrupt_once(*signals: int) -> None:
    """The first of these signals raises KeyboardInterrupt; later ones are ignored, so the
    worker can mark its trial even when Ctrl-C reaches it twice (terminal and driver).

    A signal that lands inside a garbage-collection callback or a finaliser has its
    KeyboardInterrupt swallowed there ("Exception ignored in ..."): so the stop is also
    remembered, and the trial runner raises it again at its next epoch (and the worker before
    its next claim), and such swallowed interrupts print nothing."""

    def handler(signum, frame):
        for number in signals:
            signal.signal(number, _ignore)
        _stopping.set()
        raise KeyboardInterrupt

    for number in signals:
        signal.signal(number, handler)
    default_hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: (
        None if isinstance(unraisable.exc_value, KeyboardInterrupt) else default_hook(unraisable)
    )
