"""A worker process: it takes trials from the study until there are none left, or until it
has run ``max_trials`` and is replaced by a fresh process (TensorFlow leaks a few MiB per
trial, so a long study recycles its workers to keep memory bounded).

Workers talk to the driver only through a queue of small event dicts, and take work through
the Optuna storage, so workers of one study may run on other machines too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from rnnstudy.errors import RnnstudyError

EXIT_FATAL = 2


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, picklable for a spawned process."""

    study_path: str
    overrides: dict[str, Any]
    storage_url: str
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    data_dir: str | None = None
    max_trials: int = 25
    env: dict[str, str] = field(default_factory=dict)


def main(config: WorkerConfig, queue, left) -> None:
    """Process entry point: run trials while ``left`` (a shared counter) allows."""
    os.environ.update(config.env)
    from rnnstudy import backend

    backend.start()
    import optuna

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
        if not _take(left):
            return
        trial, point = claim(study, grid=spec.sampler == "grid")
        if trial is None:
            with left.get_lock():
                left.value = 0  # nothing left to claim: no worker should be started for it
            return
        queue.put({"event": "claimed", "trial": trial.number, "pid": os.getpid()})
        if not _run_one(study, trial, point, runner, queue):
            raise SystemExit(EXIT_FATAL)


def _take(left) -> bool:
    """Take one trial from the budget shared by this invocation's workers."""
    with left.get_lock():
        if left.value <= 0:
            return False
        left.value -= 1
        return True


def claim(study, *, grid: bool):
    """The next trial to run and its grid point: a waiting (enqueued) one, or for sampling
    studies a new one (whose point is None); (None, None) when there is nothing to run."""
    import optuna
    from optuna.trial import TrialState

    storage = study._storage  # the study we opened; Optuna has no public getter
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(
            storage.get_study_id_from_name(study.study_name), frozen.number
        )
        try:
            if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                return optuna.Trial(study, trial_id), frozen.system_attrs.get("fixed_params")
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker took it first
    return (None, None) if grid else (study.ask(), None)


def _run_one(study, trial, point, runner, queue) -> bool:
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
        trial.set_user_attr("fail_reason", "interrupted (Ctrl-C)")
        study.tell(trial, state=TrialState.FAIL)
        queue.put({**event, "state": "FAIL", "reason": "interrupted"})
        raise
    except RnnstudyError as exc:
        study.tell(trial, state=TrialState.FAIL)
        queue.put({**event, "state": "FAIL", "reason": str(exc)})
        queue.put({"event": "fatal", "message": str(exc)})
        return False
    except Exception as exc:  # a failed trial must not stop the study
        study.tell(trial, state=TrialState.FAIL)
        event.update(state="FAIL", reason=f"{type(exc).__name__}: {exc}")
    event["seconds"] = time.perf_counter() - started
    queue.put(event)
    return True
