"""Study files: what a study searches, what it fixes, and how it is scored.

A study file is a Python module with one module-level ``study = Study(...)`` and, optionally,
a ``report(frame)`` function for the experiment's own analysis. See ``studies/`` and the
README for examples.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnstudy import stats
from rnnstudy.errors import StudyFileError
from rnnstudy.runtime.backend import BACKENDS
from rnnstudy.spec.direction import lower_is_better
from rnnstudy.spec.space import Space, as_space, grid

SAMPLERS = ("grid", "tpe", "random", "cmaes", "qmc", "nsga2")
SINGLE_SAMPLERS = ("cmaes",)  # Optuna's samplers that optimise one objective only
SINGLE_PRUNERS = ("hyperband",)  # its brackets read the study's one direction from the storage
DIRECTIONS = {"max": "maximize", "min": "minimize", "maximize": "maximize", "minimize": "minimize"}
ADAPTIVE = "adaptive"  # repeats decided by racing (rnnstudy.stats.race_step)
PRUNERS = ("none", "median", "successive_halving", "hyperband")
REDUCTIONS = ("best", "last", "mean_last")
PLUGIN_CHOICES = ("dataset", "model", "optimizer")


@dataclass
class Study:
    """One experiment.

    Args:
        dataset, model, optimizer: plugin names (`rnnstudy plugins` lists them); search
            ``"model": [...]`` to compare plugins. Without an optimizer, a hypermodel that
            compiles its model itself (as Keras Tuner's do) keeps its own compile; any other
            model trains with the "adam" plugin.
        search: the searched hyperparameters: a list of values, ``Int(low, high)`` or
            ``Float(low, high, log=True)``.
        points: explicit configurations to run, each a dict of hyperparameter values
            (for comparisons that are not a grid, such as seed 003's optimizer question).
        fixed: values for hyperparameters that are not searched (epochs, batch_size, ...).
        sampler: "grid" runs every point of ``search`` (or ``points``) exactly once;
            "tpe", "random", "cmaes", "qmc", "nsga2" sample ``trials`` points from ``search``
            (with several objectives, "tpe" or "nsga2": Optuna's multi-objective samplers).
        trials: the number of trials for a sampling study.
        objective: the metric that scores a trial (e.g. "val_accuracy"): a per-epoch metric or
            a cost the trial logs once ("params", "train_s", "infer_s"); or a list of them, the
            study's objectives (``["val_accuracy", "params"]``: a Pareto front). A name's
            direction is rnnstudy.spec.direction's rule (costs and losses go down, the rest up);
            ``{"params": "max"}`` in the list says it instead.
        direction: "maximize" or "minimize", for a single objective given as a string.
        primary: with several objectives, the one the pruner and the progress line see (Optuna
            prunes no multi-objective study); the first by default, and it must be named when
            the study has a pruner.
        reduce: how a trial's epochs become one score: "best", "last", or "mean_last" over
            the last ``window`` epochs (seed 003's "mean of the last 200 epochs").
        pruner: "none", "median", "successive_halving" or "hyperband".
        test_every_epoch: also evaluate the test set after every epoch (seed 003's curves).
        repeats: how many seeds each configuration runs with: N runs seeds 0 … N−1 for every
            point (the same seeds everywhere, so comparisons are paired); "adaptive" races:
            every point starts with ``min_repeats`` seeds, and more go only to the points that
            still tie with the leader, up to ``max_repeats``. 1 (the default) runs each point once.
        min_repeats, max_repeats: the range of an adaptive race (3 and 10).
        backend: the Keras backend the trials train on: "tensorflow" (the default), "jax",
            "torch", or "auto" (rnnstudy.runtime.backend.choose picks from the models the check builds).
            To compare backends, search it instead: ``search={"backend": ["tensorflow", "jax"]}``
            (a grid, or ``points``): each trial runs in a worker process of its own backend.
        name: the Optuna study and MLflow experiment; defaults to the file name.
    """

    dataset: str
    model: str
    optimizer: str | None = None
    search: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    sampler: str = "grid"
    trials: int | None = None
    objective: str | list | dict = "val_accuracy"
    direction: str = "maximize"
    primary: str | None = None
    reduce: str = "best"
    window: int = 1
    pruner: str = "none"
    test_every_epoch: bool = False
    repeats: int | str = 1
    min_repeats: int = 3
    max_repeats: int = 10
    backend: str = "tensorflow"
    name: str | None = None
    description: str = ""
    report: Callable | None = None
    path: Path | None = None
    objectives: dict[str, str] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.search = {name: as_space(name, spec) for name, spec in self.search.items()}
        _one_of("sampler", self.sampler, SAMPLERS)
        _one_of("pruner", self.pruner, PRUNERS)
        _one_of("reduce", self.reduce, REDUCTIONS)
        _one_of("direction", self.direction, ("maximize", "minimize"))
        self._resolve_objectives()
        _one_of("backend", self.backend, BACKENDS)
        if self.window < 1:
            raise StudyFileError(f"window={self.window} must be >= 1")
        if self.points is not None:
            if not self.points or not all(isinstance(p, dict) and p for p in self.points):
                raise StudyFileError("points must be a non-empty list of non-empty dicts")
            if self.search:
                raise StudyFileError("give either `search` or `points`, not both")
            if self.sampler != "grid":
                raise StudyFileError("`points` are run one by one: use sampler='grid' with them")
        if self.sampler != "grid":
            if not self.search:
                raise StudyFileError(f"sampler={self.sampler!r} needs a `search` space")
            if self.trials is None:
                raise StudyFileError(f"sampler={self.sampler!r} needs `trials`, the number to run")
        if self.trials is not None and self.trials < 1:
            raise StudyFileError(f"trials={self.trials} must be >= 1")
        for kind in PLUGIN_CHOICES:  # the chosen plugins are hyperparameters like any other
            named = getattr(self, kind)
            if (
                named is not None
                and kind not in self.search
                and not any(kind in p for p in self.points or ())
            ):
                self.fixed.setdefault(kind, named)
        self._check_backends()
        self._check_repeats()

    def _resolve_objectives(self) -> None:
        """``objectives`` (name -> direction, in order) and the ``primary`` one, whose direction
        ``direction`` then is."""
        self.objectives = objectives_of(self.objective, self.direction)
        several = len(self.objectives) > 1
        if self.primary is not None and self.primary not in self.objectives:
            raise StudyFileError(
                f"primary={self.primary!r} is not one of the objectives: {', '.join(self.objectives)}"
            )
        if several and self.primary is None and self.pruner != "none":
            raise StudyFileError(
                f"{len(self.objectives)} objectives and pruner={self.pruner!r}: name the one the pruner "
                f"sees with primary=NAME (--primary NAME), one of {', '.join(self.objectives)}; "
                "Optuna prunes no multi-objective study"
            )
        if several and self.pruner in SINGLE_PRUNERS:
            raise StudyFileError(
                f"pruner={self.pruner!r} prunes single-objective studies only; with several "
                "objectives use 'median' or 'successive_halving'"
            )
        if several and self.sampler in SINGLE_SAMPLERS:
            raise StudyFileError(
                f"sampler={self.sampler!r} optimises one objective; with several use 'tpe' or 'nsga2'"
            )
        self.primary = self.primary or next(iter(self.objectives))
        self.direction = self.objectives[self.primary]

    @property
    def several(self) -> bool:
        """Whether the study has several objectives (a Pareto front, not one best)."""
        return len(self.objectives) > 1

    @property
    def searched_backends(self) -> list[str]:
        """The backends a study compares (``backend`` searched or in its points), in order."""
        if "backend" in self.search:
            return list(self.search["backend"].values())
        return list(dict.fromkeys(p["backend"] for p in self.points or () if "backend" in p))

    def _check_backends(self) -> None:
        named = self.searched_backends
        if not named:
            return
        bad = [b for b in named if b not in BACKENDS or b == "auto"]
        if bad:
            raise StudyFileError(
                f"backend {bad[0]!r} cannot be searched; allowed: {', '.join(b for b in BACKENDS if b != 'auto')}"
            )
        if self.sampler != "grid":
            raise StudyFileError(
                f"backend is searched with sampler={self.sampler!r}: each trial's backend must be known "
                "before a worker takes it; compare backends on a grid (sampler='grid') or with points"
            )

    @property
    def racing(self) -> bool:
        return self.repeats == ADAPTIVE

    @property
    def repeated(self) -> bool:
        """Whether each configuration runs with several seeds (the seed is then rnnstudy's)."""
        return self.racing or self.repeats > 1

    @property
    def seeds(self) -> list[int]:
        """The seeds every configuration runs with from the start (a race may add more)."""
        if not self.repeated:
            return []
        return list(range(self.min_repeats if self.racing else self.repeats))

    def _check_repeats(self) -> None:
        if self.racing:
            stats.check_race(self.min_repeats, self.max_repeats)
            if self.several:
                raise StudyFileError(
                    f"repeats={ADAPTIVE!r} races the points on one objective; with "
                    f"{len(self.objectives)} give a number of repeats instead, e.g. --repeats 5"
                )
            if self.sampler != "grid":
                raise StudyFileError(
                    f"repeats={ADAPTIVE!r} races the points of a grid or `points`; sampler={self.sampler!r} "
                    "samples new ones: give a number of repeats instead, e.g. --repeats 3"
                )
        elif isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or self.repeats < 1:
            raise StudyFileError(
                f"repeats={self.repeats!r} is not allowed: give a whole number >= 1 (seeds per "
                f"configuration, e.g. --repeats 5) or {ADAPTIVE!r} for racing"
            )
        seeded = "seed" in self.search or "seed" in self.fixed or any("seed" in p for p in self.points or ())
        if self.repeated and seeded:
            raise StudyFileError(
                f"repeats={self.repeats!r} runs every configuration with seeds 0, 1, ... itself, so the "
                "study must not also search or fix `seed`: remove it from search/points/fixed/--set, "
                "or run with --repeats 1"
            )

    @property
    def grid_points(self) -> list[dict[str, Any]]:
        """Every configuration a grid study runs, in order."""
        if self.points is not None:
            return [dict(p) for p in self.points]
        return grid(self.search)

    def spaces_for(self, point: dict[str, Any] | None) -> dict[str, Space]:
        """The search space of one trial: a grid point's names, or the whole space."""
        if point is None:
            return self.search
        if self.points is not None:
            return {n: as_space(n, sorted({p[n] for p in self.points if n in p}, key=str)) for n in point}
        return {n: self.search[n] for n in point}

    def variant(self, **changes: Any) -> Study:
        """A copy with some fields changed: the same experiment on other data, say."""
        fixed = {**self.fixed, **{k: changes[k] for k in PLUGIN_CHOICES if k in changes}}
        if "objective" in changes:  # other objectives: the primary is theirs, the first unless named
            changes.setdefault("primary", None)
        return dataclasses.replace(self, **{"fixed": fixed, "name": None, **changes})

    def override(
        self,
        *,
        trials: int | None = None,
        values: dict[str, Any] | None = None,
        repeats: int | str | None = None,
        objective: list | None = None,
        primary: str | None = None,
    ) -> None:
        """Apply command-line overrides: a trial budget, fixed values (epochs, subset, ...), the
        repeats, and the objectives (each direction by the rule, or "NAME=max") with their primary."""
        if trials is not None:
            if trials < 1:
                raise StudyFileError(f"--trials {trials} must be >= 1")
            self.trials = trials
        self.fixed.update(values or {})
        if repeats is not None:
            self.repeats = repeats
        if objective:
            self.objective, self.primary = list(objective), None
        if primary is not None:
            self.primary = primary
        if objective or primary is not None:
            self._resolve_objectives()
        self._check_repeats()


def objectives_of(objective: str | list | dict, direction: str = "maximize") -> dict[str, str]:
    """A study's objectives, name -> "maximize" or "minimize", in order: a string goes
    ``direction``; each name of a list or dict goes the one rule's way (rnnstudy.spec.direction),
    unless a dict gives "max" or "min" (``["val_accuracy", {"params": "min"}]``)."""
    if isinstance(objective, str):
        return {objective: direction}
    items = list(objective.items()) if isinstance(objective, dict) else None
    if items is None:
        if not isinstance(objective, (list, tuple)) or not objective:
            raise StudyFileError(
                f"objective={objective!r}: give a metric's name or a list of them, e.g. "
                "objective=['val_accuracy', 'params']"
            )
        items = []
        for entry in objective:
            if isinstance(entry, dict):
                items += list(entry.items())
            else:
                items.append((entry, None))
    found: dict[str, str] = {}
    for name, way in items:
        if not isinstance(name, str) or not name:
            raise StudyFileError(f"objective {name!r} is not a metric's name")
        if name in found:
            raise StudyFileError(f"objective {name!r} is given twice; give each objective once")
        if way is not None and way not in DIRECTIONS:
            raise StudyFileError(f"objective {name!r}: direction {way!r} is not known; allowed: max, min")
        found[name] = DIRECTIONS[way] if way else ("minimize" if lower_is_better(name) else "maximize")
    return found


def _one_of(what: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise StudyFileError(f"{what}={value!r} is not known; allowed: {', '.join(allowed)}")


def load_study(path: str | Path) -> Study:
    """Read a study file. Every problem becomes a :class:`StudyFileError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise StudyFileError(f"study file {str(path)!r} not found; the bundled ones are in studies/")
    module_name = f"rnnstudy_study_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise StudyFileError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except StudyFileError as exc:
        raise StudyFileError(f"{path}: {exc}") from None
    except Exception as exc:  # any failure of a user's file is a user error
        raise StudyFileError(f"{path}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(module_name, None)
    study = getattr(module, "study", None)
    if study is None:
        raise StudyFileError(f"{path} defines no `study`; add `study = Study(dataset=..., model=...)`")
    if not isinstance(study, Study):
        raise StudyFileError(f"{path}: `study` is a {type(study).__name__}, not rnnstudy.Study")
    study.name = study.name or path.stem.replace("_", "-")
    study.report = getattr(module, "report", None)
    study.path = path.resolve()
    return study


def pack_study(spec) -> bytes:
    """A Study for the worker processes, which cannot import a notebook's ``__main__``:
    cloudpickle sends what it defines there by value. Its ``report`` hook stays behind (only
    the driver calls it)."""
    import cloudpickle

    sent = copy.copy(spec)
    sent.report = None
    try:
        return cloudpickle.dumps(sent)
    except Exception as exc:
        raise StudyFileError(
            f"the study cannot be sent to the worker processes ({type(exc).__name__}: {exc}); "
            "give its search and fixed values as plain numbers, strings, lists and dicts"
        ) from None
