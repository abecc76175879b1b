"""The Optuna driver: check a study, set up its storage and MLflow runs, and run its trials in
worker processes.

Everything the user can get wrong is checked by a dry run before anything is written: the
study file, the plugin names, the data, every hyperparameter and range. Running the same
command again resumes: grid points that finished are not run again.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from rnnstudy import worker
from rnnstudy.errors import RnnstudyError, SearchSpaceError
from rnnstudy.hyperparameters import HyperParameters
from rnnstudy.registry import KINDS, Registry, default_registry
from rnnstudy.study import Study, load_study
from rnnstudy.urls import redact

PARENT_RUN_ATTR = "mlflow_parent_run_id"
DONE_STATES = ("COMPLETE", "PRUNED")


@dataclass
class Options:
    """How to run a study (not what it searches)."""

    storage_url: str | None = None
    tracking_uri: str | None = None
    workers: int = 1
    data_dir: str | None = None
    trials_per_worker: int = 25
    overrides: dict[str, Any] = field(default_factory=dict)


class Interrupted(Exception):
    """Ctrl-C: the study stopped cleanly and can be resumed."""


def optimize(study_path: str, options: Options, *, out: TextIO | None = None):
    """Run a study file to the end of its budget; return the Optuna study."""
    from rnnstudy import backend

    backend.start()
    import optuna

    from rnnstudy.storage import default_storage_url, open_storage
    from rnnstudy.strategy import make_pruner, make_sampler
    from rnnstudy.tracking import Tracker

    out = out or sys.stdout
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = load_study(study_path)
    spec.override(**options.overrides)
    if options.workers < 1:
        raise RnnstudyError(f"--workers {options.workers} must be >= 1")

    # check everything before anything is written
    points = validate(spec, default_registry(), options.data_dir, out)
    storage_url = options.storage_url or default_storage_url()
    storage = open_storage(storage_url)
    tracker = Tracker(options.tracking_uri)
    tracker.check()

    # the study and its parent run, found again on resume
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        direction=spec.direction,
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
        load_if_exists=True,
    )
    if study.direction.name.lower() != spec.direction:
        raise RnnstudyError(
            f"study {spec.name!r} already exists with direction {study.direction.name.lower()}; "
            f"the file says {spec.direction}: rename the study or use another --storage"
        )
    experiment_id = tracker.experiment(spec.name)
    parent_id = study.user_attrs.get(PARENT_RUN_ATTR)
    if parent_id is None:
        parent_id = tracker.parent_run(experiment_id, spec.name, None, spec.description)
        study.set_user_attr(PARENT_RUN_ATTR, parent_id)
        tracker.log_params(parent_id, _spec_params(spec))
        tracker.set_tags(parent_id, {"rnnstudy.storage": redact(storage_url)})
    else:
        tracker.parent_run(experiment_id, spec.name, parent_id, spec.description)

    to_run = plan(study, spec, points)
    previous = _best(study)
    print(
        f"study {spec.name!r}: {to_run} trial(s) to run, {_count(study, DONE_STATES)} already done; "
        f"MLflow experiment {spec.name!r} at {redact(tracker.uri)}",
        file=out,
        flush=True,
    )
    status = "FINISHED"
    try:
        if to_run:
            config = worker.WorkerConfig(
                study_path=str(spec.path),
                overrides=options.overrides,
                storage_url=storage_url,
                tracking_uri=tracker.uri,
                experiment_id=experiment_id,
                parent_run_id=parent_id,
                data_dir=options.data_dir,
                max_trials=options.trials_per_worker,
                env=backend.thread_env(options.workers),
            )
            _run_workers(study, spec, tracker, config, to_run, options.workers, previous, out)
    except Interrupted:
        status = "KILLED"
        raise
    except RnnstudyError:
        status = "FAILED"
        raise
    finally:
        _close_parent(study, spec, tracker, parent_id, status)
    from rnnstudy.report import publish

    counts = ", ".join(
        f"{_count(study, (state,))} {state.lower()}" for state in ("COMPLETE", "PRUNED", "FAIL")
    )
    print(f"\n{spec.name}: {counts}\n{publish(spec, study, tracker, parent_id)}", file=out, flush=True)
    return study


def validate(spec: Study, registry: Registry, data_dir: str | None, out: TextIO | None = None):
    """Dry-run the study's plugins on its data; return the grid points (None when sampling).

    Raises before anything is written: an unknown plugin or hyperparameter, a value or range a
    plugin does not allow, data that is not there. A point whose model fails to build for any
    other reason is only a warning: its trial will fail and the study go on without it.
    """
    from rnnstudy.trial import build

    for kind in KINDS:
        for name in _mentioned(spec, kind):
            registry.get(kind, name)
    points = spec.grid_points if spec.sampler == "grid" else None
    declared: dict[str, Any] = {}
    unbuildable: set[str] = set()

    def dry_run(point: dict[str, Any] | None) -> None:
        hp = HyperParameters(search=spec.spaces_for(point), fixed=spec.fixed, point=point)
        try:
            build(hp, registry, data_dir)
        except RnnstudyError:
            raise
        except Exception as exc:
            unbuildable.update(point or {})
            print(
                f"warning: {point or 'the default point'} does not build ({type(exc).__name__}: {exc}); "
                "its trial will fail",
                file=out or sys.stderr,
            )
        declared.update(hp.declared)

    def unknown() -> list[str]:
        named = set(spec.search) | set(spec.fixed) | {k for p in points or () for k in p}
        return sorted(named - set(declared) - unbuildable)

    # a point whose values earlier builds already admit is skipped, unless a name is still
    # unknown then: it may be declared only under that point's values (a conditional one)
    skipped = []
    for point in points or [None]:
        if declared and _admitted(point, declared):
            skipped.append(point)
        else:
            dry_run(point)
    for point in skipped if unknown() else ():
        dry_run(point)
    import keras

    keras.backend.clear_session()
    if unknown():
        raise SearchSpaceError(
            f"unknown hyperparameter(s) {', '.join(unknown())}: no plugin of this study declares them; "
            f"known: {', '.join(sorted(declared))}"
        )
    return points


def _admitted(point: dict[str, Any] | None, declared: dict[str, Any]) -> bool:
    """Whether a dry run of ``point`` could only repeat what an earlier one found."""
    return point is not None and all(k in declared and declared[k].admits(v) for k, v in point.items())


def plan(study, spec: Study, points: list[dict] | None) -> int:
    """Enqueue the grid points still to run; return how many trials this invocation runs."""
    from optuna.trial import TrialState

    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.WAITING, TrialState.RUNNING)
    trials = study.get_trials(deepcopy=False, states=live)
    if points is None:
        done = sum(t.state != TrialState.WAITING for t in trials)
        return max(spec.trials - done, 0)
    taken = [t.system_attrs.get("fixed_params") or t.params for t in trials]
    target = points[: spec.trials or len(points)]
    pending = [p for p in target if not any(_same(p, t) for t in taken)]
    for point in pending:
        study.enqueue_trial(point)
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    return len(pending) + waiting


def _same(point: dict, params: dict) -> bool:
    return all(k in params and params[k] == v for k, v in point.items())


def _run_workers(study, spec: Study, tracker, config, to_run: int, workers: int, best, out) -> None:
    """Keep up to ``workers`` processes busy until the budget is spent; print their progress."""
    from rnnstudy.progress import Progress

    context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
    events = context.Queue()
    left = context.Value("i", to_run)
    progress = Progress(to_run, spec.objective, spec.direction, workers=workers, best=best, out=out)
    procs: dict[int, Any] = {}
    running: dict[int, int] = {}  # worker pid -> trial number
    fatal: list[str] = []

    def start() -> None:
        proc = context.Process(target=worker.main, args=(config, events, left))
        proc.start()
        procs[proc.pid] = proc

    def drain(timeout: float) -> None:
        try:
            event = events.get(timeout=timeout)
            while True:
                _dispatch(event)
                event = events.get_nowait()
        except queue_module.Empty:
            pass

    def _dispatch(event: dict) -> None:
        kind = event.get("event")
        if kind == "claimed":
            running[event["pid"]] = event["trial"]
        elif kind == "trial_end":
            for pid in [p for p, n in running.items() if n == event["trial"]]:
                del running[pid]
        elif kind == "fatal":
            fatal.append(event["message"])
            for proc in procs.values():
                _interrupt(proc)
        progress.handle(event)

    for _ in range(min(workers, to_run)):
        start()
    try:
        while procs:
            drain(0.3)
            for pid, proc in list(procs.items()):
                if proc.is_alive():
                    continue
                proc.join()
                drain(0.05)
                del procs[pid]
                number = running.pop(pid, None)
                if number is not None and proc.exitcode != 0:
                    reason = f"worker process died (exit code {proc.exitcode})"
                    _fail_orphan(study, tracker, number, reason)
                    progress.handle(
                        {"event": "trial_end", "trial": number, "state": "FAIL", "reason": reason}
                    )
                if not fatal and left.value > 0:
                    start()  # recycled, or replacing one that died
    except KeyboardInterrupt:
        for proc in procs.values():
            proc.join(timeout=60)  # each worker received Ctrl-C too and marks its trial
            if proc.is_alive():
                proc.terminate()
        drain(0.2)
        for number in running.values():
            _fail_orphan(study, tracker, number, "interrupted (Ctrl-C)")
        progress.close()
        raise Interrupted(
            f"interrupted: {_count(study, DONE_STATES)} trial(s) done; run the same command again to resume"
        ) from None
    progress.close()
    if fatal:
        raise RnnstudyError(fatal[0])


def _interrupt(proc) -> None:
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGINT)


def _fail_orphan(study, tracker, number: int, reason: str) -> None:
    """Mark a trial whose worker is gone FAIL in Optuna and KILLED in MLflow."""
    from optuna.trial import TrialState

    trial = study.get_trials(deepcopy=False)[number]
    if trial.state.is_finished():
        return
    storage = study._storage  # the study we opened; Optuna has no public getter
    trial_id = storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name(study.study_name), number
    )
    storage.set_trial_user_attr(trial_id, "fail_reason", reason)
    study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
    run_id = trial.user_attrs.get("mlflow_run_id")
    if run_id:
        tracker.set_tags(run_id, {"rnnstudy.state": "FAILED", "rnnstudy.error": reason})
        tracker.finish(run_id, "KILLED")


def _close_parent(study, spec: Study, tracker, parent_id: str, status: str) -> None:
    best = _best(study)
    metrics = {
        "trials_complete": _count(study, ("COMPLETE",)),
        "trials_pruned": _count(study, ("PRUNED",)),
        "trials_failed": _count(study, ("FAIL",)),
    }
    if best is not None:
        metrics["best_" + spec.objective] = best[1]
        tracker.set_tags(parent_id, {"rnnstudy.best_trial": best[0]})
    tracker.log_metrics(parent_id, metrics)
    tracker.finish(parent_id, status)


def _best(study) -> tuple[int, float] | None:
    try:
        trial = study.best_trial
    except ValueError:
        return None
    return trial.number, trial.value


def _count(study, states: tuple[str, ...]) -> int:
    return sum(t.state.name in states for t in study.get_trials(deepcopy=False))


def _mentioned(spec: Study, kind: str) -> set[str]:
    names = {spec.fixed[kind]} if kind in spec.fixed else set()
    if kind in spec.search:
        names |= set(spec.search[kind].values())
    names |= {p[kind] for p in spec.points or () if kind in p}
    return names


def _spec_params(spec: Study) -> dict[str, Any]:
    params = {f"fixed.{k}": v for k, v in spec.fixed.items()}
    params.update({f"search.{k}": repr(v) for k, v in spec.search.items()})
    params.update(
        sampler=spec.sampler,
        pruner=spec.pruner,
        objective=spec.objective,
        direction=spec.direction,
        reduce=spec.reduce,
        window=spec.window,
        trials=spec.trials,
    )
    if spec.points:
        params["points"] = repr(spec.points)
    return params
