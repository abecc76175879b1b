"""A worker process: it claims waiting trials from the study until none is left, or until it
has run ``max_trials`` and is replaced by a fresh process (TensorFlow leaks a few MiB per
trial, so a long study recycles its workers to keep memory bounded).

A worker starts before the driver has checked the study (see rnnstudy.pool): it imports
what trials need, then waits on its order pipe for the study's MLflow ids.

Work is taken through the Optuna storage only: the driver enqueues every trial (a grid point,
or an empty one that the sampler fills in), and a worker claims one atomically by moving it
from WAITING to RUNNING. So workers of one study may run on other machines too. While a trial
runs, a heartbeat tells others that its worker is alive. Workers talk to their own driver
through a queue of small event dicts, and through their exit code.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field, replace
from typing import Any

from rnnstudy.errors import RnnstudyError
from rnnstudy.urls import redact

EXIT_RECYCLED = 0  # ran max_trials; there may be more to claim
EXIT_FATAL = 2  # the study itself is wrong: stop every worker
EXIT_DRAINED = 3  # nothing left to claim
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; a running trial was marked (none before the go)


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, picklable for a spawned process. The MLflow ids come with the
    driver's go (see rnnstudy.pool); ``env`` applies before TensorFlow is imported."""

    study_path: str
    overrides: dict[str, Any]
    storage_url: str
    tracking_uri: str
    experiment_id: str = ""
    parent_run_id: str = ""
    data_dir: str | None = None
    max_trials: int = 25
    env: dict[str, str] = field(default_factory=dict)


def main(config: WorkerConfig, queue, orders) -> None:
    """Process entry point: get ready, wait for the go on ``orders``, then claim and run trials;
    the exit code says why it stopped."""
    stops = (signal.SIGINT, signal.SIGTERM)
    _interrupt_once(*stops)
    code = EXIT_INTERRUPTED
    try:
        _prepare(config)
        go = orders.recv()
        code = _work(replace(config, **go), queue)
    except (KeyboardInterrupt, EOFError):  # EOFError: the driver is gone before the go
        pass
    finally:
        for number in stops:  # the work is over: a late Ctrl-C must not break the exit
            signal.signal(number, signal.SIG_IGN)
    queue.put({"event": "exit", "pid": os.getpid()})  # the driver reaps at once, not at its next poll
    queue.close()
    queue.join_thread()  # the driver gets every event before the process ends
    from rnnstudy import backend

    backend.exit_now(code)


def _prepare(config: WorkerConfig) -> None:
    """Import what trials use (TensorFlow, Optuna, MLflow, the plugins), writing nothing."""
    os.environ.update(config.env)
    from rnnstudy import backend

    backend.start()
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (the client's store: its import is slow)
    import optuna  # noqa: F401
    import pandas  # noqa: F401

    from rnnstudy import plots, trial  # noqa: F401
    from rnnstudy.registry import default_registry

    default_registry().all()


def _work(config: WorkerConfig, queue) -> int:
    import optuna

    from rnnstudy.heartbeat import Heartbeat
    from rnnstudy.registry import default_registry
    from rnnstudy.storage import open_storage
    from rnnstudy.strategy import make_pruner, make_sampler
    from rnnstudy.study import load_study
    from rnnstudy.tracking import Tracker
    from rnnstudy.trial import TrialRunner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = load_study(config.study_path)
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
        events=queue.put,
    )
    for _ in range(config.max_trials):
        trial, point = claim(study)
        if trial is None:
            return EXIT_DRAINED
        with Heartbeat(study, trial._trial_id):
            queue.put({"event": "claimed", "trial": trial.number, "pid": os.getpid()})
            if not run_one(study, trial, point, runner, queue):
                return EXIT_FATAL
    return EXIT_RECYCLED


def claim(study):
    """The next waiting trial, now RUNNING and this process's, with its grid point (None when
    the sampler chooses); (None, None) when nothing is waiting."""
    import optuna
    from optuna.trial import TrialState

    storage = study._storage  # the study we opened; Optuna has no public getter
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                return optuna.Trial(study, frozen._trial_id), frozen.system_attrs.get("fixed_params") or None
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another worker took it first
    return None, None


def run_one(study, trial, point, runner, queue) -> bool:
    """Run and tell one trial; False when the study must stop."""
    import optuna
    from optuna.trial import TrialState

    started = time.perf_counter()
    event = {"event": "trial_end", "trial": trial.number}
    try:
        value = runner.run(trial, point)
        study.tell(trial, value)
        event.update(state="COMPLETE", value=value)
    except optuna.TrialPruned as exc:
        study.tell(trial, state=TrialState.PRUNED)
        event.update(state="PRUNED", reason=f"pruned at epoch {exc}")
    except KeyboardInterrupt:
        trial.set_user_attr("fail_reason", "interrupted (Ctrl-C or SIGTERM)")
        study.tell(trial, state=TrialState.FAIL)
        queue.put({**event, "state": "FAIL", "reason": "interrupted"})
        raise
    except RnnstudyError as exc:
        study.tell(trial, state=TrialState.FAIL)
        queue.put({**event, "state": "FAIL", "reason": redact(str(exc))})
        queue.put({"event": "fatal", "message": redact(str(exc))})
        return False
    except Exception as exc:  # a failed trial must not stop the study
        study.tell(trial, state=TrialState.FAIL)
        event.update(state="FAIL", reason=redact(f"{type(exc).__name__}: {exc}"))
    event["seconds"] = time.perf_counter() - started
    queue.put(event)
    return True


def _interrupt_once(*signals: int) -> None:
    """The first of these signals raises KeyboardInterrupt; later ones are ignored, so the
    worker can mark its trial even when Ctrl-C reaches it twice (terminal and driver)."""

    def handler(signum, frame):
        for number in signals:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt

    for number in signals:
        signal.signal(number, handler)
