"""Everything a run needs, resolved once before anything is written: the :class:`Preflight`.

``rnnstudy optimize`` reads its options and the study once, here: the number of workers and
where they go, the storage and tracking URIs, the backends and their environments, the
checkpoint root, the ``--budget``. Then it dry-runs the study's plugins on the data
(:func:`validate`) and estimates the time (:func:`estimate_line`). Every mistake the user can
make is one line from here, with nothing written; the driver's run loop only reads the plan.
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from rnnstudy._lazy import module
from rnnstudy.durations import human, parse_duration
from rnnstudy.errors import RnnstudyError, SearchSpaceError, StorageError, StudyFileError
from rnnstudy.plugins.registry import KINDS, Registry
from rnnstudy.run import _estimate as estimate
from rnnstudy.run import _throughput as throughput
from rnnstudy.run._throughput import Remembered
from rnnstudy.run._worker import WorkerConfig
from rnnstudy.runtime import backend, devices
from rnnstudy.runtime.precision import recurrent
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy.spec.study import Study, load_study, pack_study
from rnnstudy.stores.mlflow_tracking import default_tracking_uri
from rnnstudy.stores.optuna_storage import default_storage_url, is_sqlite
from rnnstudy.trial import checkpoint
from rnnstudy.urls import redact

runner = module("rnnstudy.trial.runner")


@dataclass
class RunOptions:
    """How to run a study (not what it searches)."""

    storage_url: str | None = None
    tracking_uri: str | None = None
    workers: int | None = (
        None  # None (auto): GPUs × workers_per_gpu, else the count measured fastest (_throughput)
    )
    data_dir: str | None = None
    trials_per_worker: int = 25
    overrides: dict[str, Any] = field(default_factory=dict)
    command: str | None = None  # the command line, shown redacted as the way to resume
    backend: str | None = None  # the Keras backend, over the study's
    workers_per_gpu: int | None = None  # trials that share one GPU (1 when None)
    budget: str | None = None  # --budget: refuse a study whose estimated time is longer
    checkpoint_dir: str | None = None  # --checkpoint-dir; None: the MLflow artifact store
    keep_models: bool = False  # --keep-models: log complete trials' models
    deterministic: bool = False  # --deterministic: the backend's deterministic ops in every worker


@dataclass(frozen=True)
class Preflight:
    """A run's options and study, resolved: what every later step reads and none decides again."""

    spec: Study  # the study, its overrides applied
    options: RunOptions  # its workers resolved to a number
    packed: bytes | None  # a Study defined in code, pickled for the workers (pack_study)
    storage_url: str
    tracking_uri: str
    gpus: list  # visible GPUs; each worker on one, round-robin (none: the CPU)
    budget_s: float | None
    checkpoint_root: Path | None
    searched: list[str]  # the backends the study compares (each checked installed)
    wanted: str  # the backend asked for: a name or "auto"
    auto: str = ""  # --workers auto on CPUs: "remembered", "unmeasured" (measure when it pays), else ""
    speeds: Remembered | None = None  # the measured speeds --workers auto went by

    @property
    def known(self) -> str | None:
        """The workers' backend when it is known before the check (not auto, not searched)."""
        return None if self.wanted == "auto" or self.searched else self.wanted

    @property
    def check_backend(self) -> str:
        """The backend the dry run builds under: the workers', else the default or a searched one."""

        if self.known:
            return self.known
        return backend.DEFAULT if backend.DEFAULT in self.searched or not self.searched else self.searched[0]

    def backend_env(self, name: str) -> dict[str, str]:

        return backend.env(name, self.options.workers, deterministic=self.options.deterministic)

    def searched_envs(self) -> dict[str, dict[str, str]]:
        return {name: self.backend_env(name) for name in self.searched}

    def worker_config(self) -> WorkerConfig:
        options = self.options
        return WorkerConfig(
            study_path=str(self.spec.path or ""),
            study=self.packed,
            overrides=options.overrides,
            storage_url=self.storage_url,
            tracking_uri=self.tracking_uri,
            data_dir=options.data_dir,
            max_trials=options.trials_per_worker,
            checkpoint_root=self.checkpoint_root,
            keep_models=options.keep_models,
            env=self.backend_env(self.known) if self.known else {},  # auto: it comes with the go
        )


def resolve(study_path: str | Study, options: RunOptions) -> Preflight:
    """Read the study and the options once; raise RnnstudyError (one line) on anything wrong."""

    budget_s = parse_duration(options.budget) if options.budget else None  # before anything else
    given = isinstance(study_path, Study)  # defined in code (a notebook): sent to workers pickled
    spec = copy.deepcopy(study_path) if given else load_study(study_path)
    packed = pack_study(spec) if given else None
    spec.override(**options.overrides)
    storage_url = options.storage_url or default_storage_url()
    gpus = devices.visible_gpus()
    auto, speeds = "", None
    if options.workers is None and not gpus and not spec.searched_backends:  # auto, on CPUs
        speeds = throughput.Memory().get(throughput.model_key(spec, options.backend or spec.backend))
        auto = "remembered" if speeds else "unmeasured" if devices.cores_here() > 1 else ""
    workers = speeds.workers if speeds else options.workers
    options = replace(options, workers=len(devices.placement(gpus, options.workers_per_gpu, workers)))
    _check_options(options, storage_url)
    return Preflight(
        spec=spec,
        options=options,
        packed=packed,
        storage_url=storage_url,
        tracking_uri=options.tracking_uri or default_tracking_uri(),
        gpus=gpus,
        budget_s=budget_s,
        checkpoint_root=checkpoint.folder_root(options.checkpoint_dir) if options.checkpoint_dir else None,
        searched=_searched_backends(spec, options),  # a study comparing backends: workers of each
        wanted=backend.check(options.backend or spec.backend),  # one line, before any worker starts
        auto=auto,
        speeds=speeds,
    )


def auto_workers(flight: Preflight, timer, points, out: TextIO) -> Preflight:
    """``--workers auto`` on CPUs without a remembered answer: measure the worker counts now
    when the study is long enough to pay for it (rnnstudy.run._throughput), remember them, and
    return the flight with the chosen count; print what auto chose and why."""
    if flight.auto == "remembered":
        print(flight.speeds.line("remembered for this model on this machine"), file=out, flush=True)
    one = estimate.for_study(flight.spec, timer, points, workers=1) if flight.auto == "unmeasured" else None
    if one is None or one.seconds()[0] < throughput.MEASURE_AFTER_S or most_trials(flight.spec) < 2:
        return flight  # short: one worker, as always
    cores = devices.cores_here()
    point = next((p for p in points or [None] if estimate.point_key(p) in timer.by_point), None)
    counts = " and ".join(map(str, throughput.counts_to_try(cores)))
    print(
        f"workers auto: timing {counts} worker(s) on {cores} cores (once for this model)",
        file=out,
        flush=True,
    )
    try:
        measured = throughput.measure(
            flight.spec, point, flight.check_backend, flight.options.data_dir, cores
        )
    except throughput.ProbeError as exc:
        print(f"workers auto: 1 ({exc})", file=out, flush=True)
        return flight
    key = throughput.model_key(flight.spec, flight.options.backend or flight.spec.backend)
    speeds = throughput.Memory().put(key, measured)
    print(speeds.line(f"measured now, remembered in {throughput.cache_path()}"), file=out, flush=True)
    return replace(
        flight, options=replace(flight.options, workers=speeds.workers), auto="remembered", speeds=speeds
    )


def _searched_backends(spec: Study, options: RunOptions) -> list[str]:
    """The backends a study compares, each checked installed; [] when it searches none."""

    searched = spec.searched_backends
    if searched and options.backend:
        raise backend.BackendError(
            f"--backend {options.backend} with a study that searches backend ({', '.join(searched)}): "
            "leave out --backend, or take backend out of the study's search"
        )
    return [backend.check(name) for name in searched]


def most_trials(spec: Study) -> int:
    """An upper bound of the trials this run may start (0 when the study's space is wrong:
    validation will say what)."""
    seeds = spec.max_repeats if spec.racing else max(len(spec.seeds), 1)
    if spec.sampler != "grid":
        return spec.trials * seeds  # a sampling study must say how many (Study checks)
    try:
        return min(len(spec.grid_points) * seeds, spec.trials or 10**9)
    except RnnstudyError:
        return 0


def placement_line(gpus: list, options: RunOptions) -> str:
    """Where the workers run, as the first line of a GPU run."""
    names = sorted({g.name for g in gpus})
    most = -(-options.workers // len(gpus))  # round-robin: the most on one GPU
    per_gpu = "one per GPU" if most == 1 else f"up to {most} per GPU"
    return f"{len(gpus)} GPU(s) ({', '.join(names)}): {options.workers} worker(s), {per_gpu}"


def estimate_line(flight: Preflight, timer, points, models: list):
    """The study's estimated time as a line to show (rnnstudy.run._estimate), and a trial's estimated
    seconds by its values (None without an estimate); refuse it when over ``--budget``. Shown
    once the stores are reached, so a mistake is still one line."""
    spec, options, gpus, budget_s = flight.spec, flight.options, flight.gpus, flight.budget_s

    rnn = bool(models) and all(recurrent(m) for m in models)
    efficiency = estimate.measured_efficiency(
        options.workers, cores=devices.cores_here(), gpus=len(gpus), recurrent=rnn
    )
    if flight.speeds and flight.speeds.efficiency and options.workers == flight.speeds.workers:
        efficiency = (flight.speeds.efficiency, "as measured for this model on this machine")
    guess = estimate.for_study(spec, timer, points, workers=options.workers, efficiency=efficiency)
    if guess is None:
        reason = timer.untimed or "no point of the study builds"
        if budget_s is not None:
            raise estimate.BudgetError(
                f"--budget {options.budget} cannot be checked: {reason}; leave out --budget"
            )
        return estimate.unknown(reason), None
    if budget_s is not None:
        guess.check(budget_s, options.budget)
    within = f"; within --budget {options.budget}" if budget_s is not None else ""
    timing = f" ({timer.models} model(s) timed in {human(timer.seconds)}{_untimed(spec, timer, points)})"
    return guess.text() + timing + within, estimate.trial_cost(guess, timer)


def _untimed(spec: Study, timer, points) -> str:
    """What the estimate line says of the points to run it did not time (Timer.enough)."""
    keys = [estimate.point_key(p) for p in _points_run(spec, points)]
    left = [k for k in keys if k not in timer.by_point and k not in timer.unbuilt]
    return f"; {len(left)} other point(s) taken at their mean" if left else ""


def _check_options(options: RunOptions, storage_url: str) -> None:

    if options.workers < 1:
        raise RnnstudyError(f"--workers {options.workers} must be >= 1")
    if options.workers > 1 and is_sqlite(storage_url):
        raise StorageError(
            f"--workers {options.workers} with SQLite storage {redact(storage_url)}: SQLite locks under "
            "several processes; use the default journal file (leave out --storage) or postgresql://..."
        )


def validate(
    spec: Study,
    registry: Registry,
    data_dir: str | None,
    out: TextIO | None = None,
    models: list | None = None,
    timer: estimate.Timer | None = None,
):
    """Dry-run the study's plugins on its data; return the grid points (None when sampling).

    Raises before anything is written: an unknown plugin or hyperparameter, a value or range a
    plugin does not allow, data that is not there. A point whose model fails to build for any
    other reason is only a warning: its trial will fail and the study go on without it.

    With ``timer``, the points this run will run are also built and their distinct models'
    training steps timed on the real data, for the time estimate, until the timing has cost
    its share of the study (:meth:`rnnstudy.run._estimate.Timer.enough`).
    """

    for kind in KINDS:
        for name in _mentioned(spec, kind):
            registry.get(kind, name)
    points = spec.grid_points if spec.sampler == "grid" else None
    declared: dict[str, Any] = {}
    unbuildable: set[str] = set()
    logged: list[set[str] | None] = []  # per model built: the metrics its trials log

    to_time = {estimate.point_key(p) for p in _points_run(spec, points)}

    def timed(point: dict[str, Any] | None) -> bool:
        if timer is None or timer.untimed or estimate.point_key(point) not in to_time:
            return False
        so_far = estimate.for_study(spec, timer, points, workers=1)
        return so_far is None or not timer.enough(so_far.seconds()[0])

    def dry_run(point: dict[str, Any] | None, time_it: bool) -> None:
        hp = HyperParameters(search=spec.spaces_for(point), fixed=spec.fixed, point=point)
        try:
            started = time.perf_counter()
            built = runner.build_trial(hp, registry, data_dir)
            runner.declare_fit(built, hp)
            logged.append(runner.logged_metrics(built, spec.test_every_epoch))
            if models is not None:
                models.append(built.model)
            if time_it:
                timer.add(point, built, hp.values, time.perf_counter() - started)
        except RnnstudyError:
            raise
        except Exception as exc:
            unbuildable.update(point or {})
            if timer is not None:
                timer.failed(point)
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
            dry_run(point, timed(point))
    rerun = bool(unknown())
    for point in skipped if rerun else ():
        dry_run(point, timed(point))
    import keras

    keras.backend.clear_session()
    if unknown():
        raise SearchSpaceError(
            f"unknown hyperparameter(s) {', '.join(unknown())}: no plugin of this study declares them; "
            f"known: {', '.join(sorted(declared))}"
        )
    _check_objectives(spec, logged)
    for point in skipped if not rerun else ():  # the estimate's: built only to be timed
        if timed(point):
            dry_run(point, True)
    if timer is not None:
        keras.backend.clear_session()
    return points


def _check_objectives(spec: Study, logged: list[set[str] | None]) -> None:
    """Every objective must be a metric the trials log; known before training where rnnstudy
    compiled every model built (a model that logs its own metrics is checked at its trial's end)."""
    if not logged or any(names is None for names in logged):
        return
    known = set.union(*logged)
    unknown = [name for name in spec.objectives if name not in known]
    if unknown:
        raise StudyFileError(
            f"objective {unknown[0]!r} is not a metric the trials log; logged: {', '.join(sorted(known))}"
            + ("" if spec.test_every_epoch else " (test_* metrics every epoch need test_every_epoch=True)")
        )


def _points_run(spec: Study, points: list[dict[str, Any]] | None) -> list[dict[str, Any] | None]:
    """The points a run of the whole study runs: a grid's first ``--trials`` (seed 0 of each
    point comes first), else all (a race runs every point; a sampling study is timed at its
    default point)."""
    if points is None:
        return [None]
    if spec.trials and not spec.racing:
        return points[: spec.trials]
    return points


def _admitted(point: dict[str, Any] | None, declared: dict[str, Any]) -> bool:
    """Whether a dry run of ``point`` could only repeat what an earlier one found."""
    return point is not None and all(k in declared and declared[k].admits(v) for k, v in point.items())


def _mentioned(spec: Study, kind: str) -> set[str]:
    names = {spec.fixed[kind]} if kind in spec.fixed else set()
    if kind in spec.search:
        names |= set(spec.search[kind].values())
    names |= {p[kind] for p in spec.points or () if kind in p}
    return names
