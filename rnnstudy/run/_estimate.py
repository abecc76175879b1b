"""How long a study will take, from a few timed training steps, before its first trial.

The driver's dry run builds the study's models on the real data; :func:`time_steps` times a
few ``train_on_batch`` and ``test_on_batch`` steps of each, and :class:`Estimate` turns those
into the study's wall time::

    estimated time: 25 trials × 1,000 epochs ≈ 41 h on 1 worker; --subset 5000 ≈ 4 h

With ``--budget``, a study that does not fit is refused with the settings that would fit
(:meth:`Estimate.check`). The figures are the timed steps scaled up: data loading, MLflow
and the per-epoch callbacks are left out unless the caller adds them as ``overhead_s``.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rnnstudy.durations import human
from rnnstudy.errors import RnnstudyError

FORWARD_RATIO = 1 / 3  # forward-only step against a training one when untimed; the CNN grid timed 0.26-0.37
KNOBS = ("epochs", "subset", "trials", "repeats")  # what a refusal suggests, in this order


class BudgetError(RnnstudyError):
    """``--budget`` cannot be checked."""


class OverBudgetError(RnnstudyError):
    """The study's estimated time is more than its ``--budget``."""


@dataclass(frozen=True)
class StepTime:
    """What one model's steps cost, as :func:`time_steps` measured them."""

    train_s: float  # one training step of ``batch_size`` samples
    batch_size: int
    eval_s: float | None = None  # one forward step (validation, test); None: train_s × FORWARD_RATIO
    warmup_s: float = 0.0  # what a trial's first steps cost beyond the later ones: tracing
    sizes: tuple[int, int, int] | None = None  # this trial's (n_train, n_val, n_test); None: the Estimate's

    @property
    def forward_s(self) -> float:
        return self.train_s * FORWARD_RATIO if self.eval_s is None else self.eval_s


def time_steps(
    model,
    x,
    y,
    batch_size: int,
    steps: int = 5,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> StepTime:
    """Time ``steps`` training and forward steps of a compiled Keras model on one batch.

    A first step of each is run and timed apart: it traces the step function, which each
    trial pays once (``warmup_s``). The later steps' median is the step time: on shared cores
    one slow step is noise. Each step returns its logs as Python numbers, so a GPU has
    finished the step when the clock stops. A Keras model on any backend, or a model that is not
    Keras and has the same two methods (rnnstudy.plugins.ModelBuilder).

    The model is trained by this: time a throwaway one (the dry run's).

    Args:
        model: a compiled ``keras.Model``, or anything with ``train_on_batch``/``test_on_batch``.
        x, y: the training data (arrays, or lists/dicts of them); the first batch is used.
        batch_size: the trial's batch size.
        steps: the timed steps after the first, of each kind.
        clock: seconds; tests pass a fake.
    """
    if steps < 1:
        raise ValueError(f"steps={steps} must be >= 1")
    bx, by = _head(x, batch_size), _head(y, batch_size)
    size = _length(bx) or batch_size

    def timed(step) -> list[float]:
        times = []
        for _ in range(steps + 1):
            started = clock()
            step(bx, by)
            times.append(clock() - started)
        return times

    train = timed(model.train_on_batch)
    forward = timed(model.test_on_batch)
    train_s, forward_s = statistics.median(train[1:]), statistics.median(forward[1:])
    warmup = max(train[0] - train_s, 0.0) + max(forward[0] - forward_s, 0.0)
    return StepTime(train_s=train_s, batch_size=size, eval_s=forward_s, warmup_s=warmup)


def _head(data, n: int):
    """The first ``n`` samples of an array or a list, tuple or dict of arrays (None stays None)."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: _head(v, n) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(_head(v, n) for v in data)
    return data[:n]


def _length(data) -> int:
    while isinstance(data, dict | list | tuple):  # the first array of a structure
        data = next(iter(data.values() if isinstance(data, dict) else data), None)
    return 0 if data is None else len(data)


@dataclass(frozen=True)
class Knob:
    """One setting changed, and the estimate it gives: ``--epochs 240 ≈ 9 h 50 m``."""

    name: str
    value: int
    estimate: Estimate

    @property
    def flag(self) -> str:
        return f"--{self.name} {self.value}"

    def text(self) -> str:
        return f"{self.flag} ≈ {self.estimate.span()}"


@dataclass(frozen=True)
class Estimate:
    """A study's wall time, from the step times of its trials' models.

    One trial costs its first steps' tracing, ``epochs`` times (its training steps plus its
    forward steps over the validation split, and over the test split too with
    ``test_every_epoch``), one forward pass over the test split, and ``overhead_s``. Trials
    share ``workers`` processes whose combined speed is ``workers × efficiency`` times one's;
    the study takes at least its longest trial.

    Attributes:
        steps: one per trial to run, in order (a grid's points in order; a sampled study
            repeats its default point's).
        epochs: epochs per trial.
        n_train, n_val, n_test: samples in each split, before any ``subset``.
        test_every_epoch: the study evaluates the test split each epoch.
        workers: worker processes.
        efficiency: measured throughput of ``workers`` processes over ``workers`` × one's
            (BENCHMARKS.md: 2 workers on 2 cores gave 1.08–1.30×, i.e. 0.54–0.65; see
            :func:`measured_efficiency`); None assumes 1.0, and the text says so when
            ``workers`` > 1.
        efficiency_source: where ``efficiency`` was measured, for the text.
        repeats: (fewest, most) runs of each trial: racing stops a point between the two.
        overhead_s: per trial, outside the steps (MLflow, artifacts, building the model).
        subset: ``--subset``: at most this many samples of each split.
        trials_cap: what ``--trials T`` keeps, for :meth:`knob`: ``"configurations"`` (a
            sampling study: T configurations, each with its repeats), ``"runs"`` (a grid: its
            first T runs, seed by seed: every point's seed 0 first) or ``"none"`` (a race,
            which ``--trials`` does not shorten).
    """

    steps: tuple[StepTime, ...]
    epochs: int
    n_train: int
    n_val: int = 0
    n_test: int = 0
    test_every_epoch: bool = False
    workers: int = 1
    efficiency: float | None = None
    repeats: tuple[int, int] = (1, 1)
    overhead_s: float = 0.0
    subset: int | None = None
    efficiency_source: str = "measured"
    trials_cap: str = "configurations"

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        low, high = self.repeats
        if not 1 <= low <= high:
            raise ValueError(f"repeats={self.repeats} must be (low, high) with 1 <= low <= high")
        if self.workers < 1 or self.epochs < 1 or (self.efficiency is not None and self.efficiency <= 0):
            raise ValueError(f"workers={self.workers}, epochs={self.epochs} must be >= 1, efficiency > 0")

    @property
    def trials(self) -> int:
        return len(self.steps)

    def trial_seconds(self, step: StepTime) -> float:
        """One run of one trial."""

        def batches(n: int) -> int:
            return math.ceil(min(n, self.subset or n) / step.batch_size)

        n_train, n_val, n_test = step.sizes or (self.n_train, self.n_val, self.n_test)
        val_and_test = batches(n_val) + (batches(n_test) if self.test_every_epoch else 0)
        epoch = batches(n_train) * step.train_s + val_and_test * step.forward_s
        return step.warmup_s + self.epochs * epoch + batches(n_test) * step.forward_s + self.overhead_s

    def seconds(self) -> tuple[float, float]:
        """The study's wall time with the fewest repeats and with the most."""
        each = [self.trial_seconds(s) for s in self.steps]
        return self._wall(each, self.repeats[0]), self._wall(each, self.repeats[1])

    def _wall(self, each: list[float], repeats: int) -> float:
        if not each:
            return 0.0
        busy = min(self.workers, len(each) * repeats)
        speed = busy * (self.efficiency or 1.0) if busy > 1 else 1.0  # one alone runs at full speed
        return max(sum(each) * repeats / speed, max(each))

    def span(self) -> str:
        low, high = self.seconds()
        return human(high) if human(low) == human(high) else f"{human(low)}–{human(high)}"

    def text(self, also: Sequence[Knob] = ()) -> str:
        """``estimated time: 25 trials × 1,000 epochs ≈ 41 h on 1 worker; --subset 5000 ≈ 4 h``.

        Args:
            also: other settings to show with their estimates (see :meth:`knob`).
        """
        low, high = self.repeats
        repeats = "" if high == 1 else f" × {low} repeats" if low == high else f" × {low}–{high} repeats"
        subset = f" (--subset {self.subset})" if self.subset else ""
        workers = f"{self.workers} worker{'s' if self.workers > 1 else ''}"
        if self.workers > 1 and self.efficiency is None:
            workers += " (if they scale perfectly)"
        elif self.workers > 1:
            speed = self.workers * self.efficiency
            workers += f" ({speed:.2f}× one worker's throughput, {self.efficiency_source})"
        line = (
            f"estimated time: {self.trials:,} trial{'s' if self.trials != 1 else ''}{repeats} × "
            f"{self.epochs:,} epoch{'s' if self.epochs != 1 else ''}{subset} ≈ {self.span()} on {workers}"
        )
        return "; ".join([line, *(k.text() for k in also)])

    def knob(self, name: str, value: int) -> Knob:
        """This study with ``--<name> <value>``: ``epochs``, ``subset``, ``trials`` or ``repeats``."""
        if name == "epochs":
            changed = replace(self, epochs=value)
        elif name == "subset":
            changed = replace(self, subset=value)
        elif name == "trials" and self.trials_cap == "runs":  # seed by seed, as a grid runs them
            changed = replace(self, steps=(self.steps * self.repeats[1])[:value], repeats=(1, 1))
        elif name == "trials":
            changed = replace(self, steps=self.steps[:value])
        elif name == "repeats":
            changed = replace(self, repeats=(min(self.repeats[0], value), value))
        else:
            raise ValueError(f"unknown knob {name!r}; known: {', '.join(KNOBS)}")
        return Knob(name, value, changed)

    def fits(self, budget_s: float) -> bool:
        """Whether even the most repeats end within ``budget_s`` seconds."""
        return self.seconds()[1] <= budget_s

    def suggestions(self, budget_s: float) -> list[Knob]:
        """For each setting that can shrink the study, the largest value that fits ``budget_s``,
        with its estimate; a setting that cannot fit even at 1 is left out."""
        largest = [max(s.sizes) for s in self.steps if s.sizes]
        runs = {"runs": self.trials * self.repeats[1], "none": 1}.get(self.trials_cap, self.trials)
        ceilings = {
            "epochs": self.epochs - 1,
            "subset": min(self.subset or math.inf, max(self.n_train, self.n_val, self.n_test, *largest)) - 1,
            "trials": runs - 1,
            "repeats": self.repeats[1] - 1,
        }
        found = []
        for name in KNOBS:
            best = _largest(
                lambda v, name=name: self.knob(name, v).estimate.fits(budget_s), int(ceilings[name])
            )
            if best is not None:
                found.append(self.knob(name, best))
        return found

    def refusal(self, budget_s: float, budget: str | None = None) -> str:
        """The one-line message that refuses a study over ``budget_s`` and says what would fit."""
        asked = budget or human(budget_s)
        fixes = self.suggestions(budget_s)
        fix = (
            f"it would fit with {', '.join(k.text() for k in fixes)}"
            if fixes
            else "no single --epochs, --subset, --trials or --repeats makes it fit: raise --budget"
        )
        return f"{self.text()}, over --budget {asked}: {fix}"

    def check(self, budget_s: float, budget: str | None = None) -> None:
        """Raise :class:`OverBudgetError` with :meth:`refusal`'s message unless the study fits."""
        if not self.fits(budget_s):
            raise OverBudgetError(self.refusal(budget_s, budget))


# --- a study's estimate, from the driver's dry run --------------------------------------------------

# The throughput of N worker processes over N × one's, where it was measured: BENCHMARKS.md, "Goal 2"
# (9-point grids, 5 epochs, TensorFlow on 2 cores, no GPU). (workers, cores, every model recurrent).
MEASURED_EFFICIENCY = {
    (2, 2, False): (0.54, "the CNN grid"),  # 1.08× one worker's throughput
    (2, 2, True): (0.65, "the char-RNN grid"),  # 1.30×
}
TIMED_STEPS = 3  # per model and kind, after the first: the median of three
# Timing stops once it has cost this share of the study it estimates (each model's first
# step traces it: ~2 s on 2 cores); the points left untimed are taken at the timed ones' mean.
# --budget times every point that will run: a refusal must rest on each one's steps.
TIMING_SHARE = 0.02
IGNORED = frozenset({"name", "inbound_nodes", "input_layers", "output_layers", "seed", "build_config"})


def measured_efficiency(
    workers: int, *, cores: int, gpus: int = 0, recurrent: bool = False
) -> tuple[float, str] | None:
    """The parallel efficiency measured for ``workers`` processes on ``cores`` CPU cores and the
    text that says where, or None where nothing was measured (GPUs, other counts): the estimate
    then says that it assumes perfect scaling."""
    found = None if gpus or workers < 2 else MEASURED_EFFICIENCY.get((workers, cores, recurrent))
    if found is None:
        return None
    value, grid = found
    return value, f"as measured for {workers} workers on {cores} cores on {grid}: BENCHMARKS.md"


def point_key(point: dict | None) -> str:
    return json.dumps(point, sort_keys=True, default=str)


class Timer:
    """The step times of a study's points, from the models its dry run builds.

    The driver hands it the models its dry run builds (:meth:`add`). Models that are the same
    computation (layers, shapes, batch size, optimizer, dtype policy; their names, seeds and
    learning rates aside) are timed once, with :func:`time_steps`. A model without Keras'
    ``train_on_batch`` and ``test_on_batch``, or whose steps fail, cannot be timed: ``untimed``
    says why, and there is no estimate. A point that was not timed (:meth:`enough` stopped
    the timing) costs the timed points' mean (:meth:`typical`); one whose build failed
    (:meth:`failed`) is left out of the estimate: its trial fails at once.

    Args:
        share: timing stops once it has cost this share of the estimated study (:meth:`enough`);
            None times every point handed to it.
    """

    def __init__(
        self,
        steps: int = TIMED_STEPS,
        *,
        share: float | None = TIMING_SHARE,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.steps = steps
        self.share = share
        self.clock = clock
        self.by_point: dict[str, StepTime] = {}
        self.unbuilt: set[str] = set()  # points whose build failed
        self.epochs: int | None = None  # the first point's
        self.untimed: str | None = None
        self.seconds = 0.0  # what timing cost
        self.builds: list[float] = []  # seconds of each point's build (data, model, compile)
        self._by_model: dict[str, StepTime] = {}

    @property
    def models(self) -> int:
        """Distinct models timed."""
        return len(self._by_model)

    def enough(self, study_s: float) -> bool:
        """Whether timing more models would cost more than ``share`` of ``study_s``, the study's
        estimated seconds from what is timed so far (at least one model is always timed)."""
        return self.share is not None and bool(self._by_model) and self.seconds >= self.share * study_s

    def failed(self, point: dict | None) -> None:
        """``point`` did not build: its trial will fail at once."""
        self.unbuilt.add(point_key(point))

    def typical(self) -> StepTime | None:
        """What an untimed point costs: the mean of the timed points' steps (their sizes are the
        first timed point's: the study's splits)."""
        timed = list(self.by_point.values())
        if not timed:
            return None
        warmups = [s.warmup_s for s in timed]
        return StepTime(
            train_s=statistics.mean(s.train_s for s in timed),
            batch_size=timed[0].batch_size,
            eval_s=statistics.mean(s.forward_s for s in timed),
            warmup_s=statistics.mean(warmups),
            sizes=timed[0].sizes,
        )

    def step_of(self, point: dict | None) -> StepTime | None:
        """``point``'s step time: its own where timed, else :meth:`typical`; None when it did
        not build (or nothing was timed)."""
        key = point_key(point)
        if key in self.unbuilt:
            return None
        return self.by_point.get(key) or self.typical()

    def add(self, point: dict | None, built, values: dict, build_s: float | None = None) -> None:
        """A built point (rnnstudy.trial.runner.Built) of the dry run, its hyperparameter values and
        the seconds its build took (each trial pays it again)."""
        model, data = built.model, built.data
        if build_s is not None:
            self.builds.append(build_s)
        if self.epochs is None:
            self.epochs = int(values["epochs"])
        if self.untimed:
            return
        if not all(callable(getattr(model, step, None)) for step in ("train_on_batch", "test_on_batch")):
            self.untimed = (
                f"model {_plugin_name(built)!r} is not Keras and has no train_on_batch and test_on_batch: "
                "its training steps cannot be timed"
            )
            return
        batch = int(values["batch_size"])
        key = signature(model, data, batch, getattr(built, "precision", ""))
        if key not in self._by_model:
            started = self.clock()
            try:
                self._by_model[key] = time_steps(
                    model, data.x_train, data.y_train, batch, self.steps, clock=self.clock
                )
            except Exception as exc:  # its trial will fail the same way
                self.untimed = f"timing {point or 'the default point'} failed: {type(exc).__name__}: {exc}"
                return
            finally:
                self.seconds += self.clock() - started
        sizes = (len(data.y_train), len(data.y_val), len(data.y_test))
        self.by_point[point_key(point)] = replace(self._by_model[key], sizes=sizes)


def _plugin_name(built) -> str:
    plugin = getattr(built, "plugins", {}).get("model")
    return getattr(plugin, "name", type(built.model).__name__)


def signature(model, data, batch_size: int, policy: str = "") -> str:
    """What decides a model's step time, as text: two models with the same one are timed once."""
    try:
        config = _stripped(model.get_config())
    except Exception:  # a subclassed model without a config: its own
        config = f"id {id(model)}"
    optimizer = getattr(model, "optimizer", None)
    clipping = [k for k in ("clipnorm", "clipvalue", "global_clipnorm") if getattr(optimizer, k, None)]
    sizes = [len(data.y_train), len(data.y_val), len(data.y_test)]
    parts = [config, _count(model), type(optimizer).__name__, clipping, _shapes(data.x_train), sizes]
    return json.dumps([*parts, batch_size, policy], sort_keys=True, default=str)


def _count(model) -> int | None:
    try:
        return int(model.count_params())
    except Exception:  # not built
        return None


def _stripped(config):
    if isinstance(config, dict):
        return {k: _stripped(v) for k, v in config.items() if k not in IGNORED}
    if isinstance(config, list | tuple):
        return [_stripped(v) for v in config]
    return config


def _shapes(data):
    if isinstance(data, dict):
        return {k: _shapes(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_shapes(v) for v in data]
    return [list(getattr(data, "shape", ())[1:]), str(getattr(data, "dtype", ""))]


def for_study(
    spec,
    timer: Timer,
    points: list[dict] | None,
    *,
    workers: int,
    efficiency: tuple[float, str] | None = None,
) -> Estimate | None:
    """The estimate of the study ``spec`` (rnnstudy.spec.study.Study) from its dry run's ``timer``;
    None when a model could not be timed (``timer.untimed``) or no point builds.

    Each trial also pays the median build of the dry run (``overhead_s``: its data, model and
    compile); MLflow, the per-trial files and the worker's start are not in it.
    The whole study is estimated, however much of it a resumed run still has to do. A grid
    runs each point with its seeds (``--trials`` cuts it seed by seed), a race between
    ``min_repeats`` and ``max_repeats`` of each, a sampling study ``trials`` configurations
    timed at its default point.

    Args:
        points: the grid's points (None: a sampling study), as :func:`rnnstudy.run.preflight.validate` returns.
        workers: worker processes.
        efficiency: (value, source) of :func:`measured_efficiency`, or None.
    """
    if timer.untimed or not timer.by_point or timer.epochs is None:
        return None
    seeds = max(len(spec.seeds), 1)
    if points is None:
        default = timer.by_point.get(point_key(None))
        steps, repeats, cap = [default] * (spec.trials or 1), (seeds, seeds), "configurations"
        if default is None:
            return None
    else:
        # a point that does not build is left out: its trial fails at once
        steps = [s for s in map(timer.step_of, points) if s is not None]
        if spec.racing:
            repeats, cap = (spec.min_repeats, spec.max_repeats), "none"
        elif spec.trials and spec.trials < len(steps) * seeds:
            steps, repeats, cap = (steps * seeds)[: spec.trials], (1, 1), "runs"
        else:
            repeats, cap = (seeds, seeds), "runs"
    if not steps:
        return None
    value, source = efficiency or (None, "measured")
    n_train, n_val, n_test = steps[0].sizes or (0, 0, 0)
    return Estimate(
        tuple(steps),
        epochs=timer.epochs,
        n_train=n_train,
        n_val=n_val,
        n_test=n_test,
        test_every_epoch=spec.test_every_epoch,
        workers=workers,
        efficiency=value,
        efficiency_source=source,
        repeats=repeats,
        subset=spec.fixed.get("subset") or None,
        trials_cap=cap,
        overhead_s=statistics.median(timer.builds) if timer.builds else 0.0,
    )


def trial_cost(guess: Estimate, timer: Timer) -> Callable[[dict], float]:
    """A trial's estimated seconds from its searched values (its seed aside): what the progress
    line weighs the trials left by (rnnstudy.run._progress). A point the dry run did not time (a
    sampled configuration) costs the mean of those it did."""
    mean = statistics.mean(guess.trial_seconds(step) for step in guess.steps)

    def cost(params: dict) -> float:
        point = {k: v for k, v in params.items() if k != "seed"} or None
        step = timer.by_point.get(point_key(point))
        return mean if step is None else guess.trial_seconds(step)

    return cost


def unknown(reason: str) -> str:
    """The line printed when there is no estimate."""
    return f"estimated time: unknown ({reason})"


def _largest(ok: Callable[[int], bool], ceiling: int) -> int | None:
    """The largest v in 1..ceiling with ok(v), for ok true up to some v and false beyond."""
    if ceiling < 1 or not ok(1):
        return None
    low, high = 1, ceiling
    while low < high:
        middle = (low + high + 1) // 2
        if ok(middle):
            low = middle
        else:
            high = middle - 1
    return low
