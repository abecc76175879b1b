"""The trial runner: one Optuna trial from plugins to a logged MLflow run.

In reading order: resolve the plugins → load the data → build the model → compile → fit with
the epoch callback (MLflow metrics, progress, pruning, divergence) → evaluate on the test set
→ log the results and artifacts → return the objective.
"""

from __future__ import annotations

import contextlib
import io
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from rnnstudy import faults
from rnnstudy._lazy import module
from rnnstudy.errors import RnnstudyError
from rnnstudy.keys import (
    CHANCE_PARAM,
    CONTINUED_BY_TAG,
    CONTINUES_TAG,
    CURVES,
    HISTORY,
    MODEL_SUMMARY,
    POINT_TAG,
    RESUMED_AT_TAG,
    RUN_ATTR,
    RUN_NAME_TAG,
)
from rnnstudy.plugins import contract
from rnnstudy.plugins.data import Data
from rnnstudy.plugins.registry import KINDS, Plugin, Registry
from rnnstudy.runtime import backend, devices, precision
from rnnstudy.runtime.backend import BACKENDS
from rnnstudy.spec.direction import best, lower_is_better
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy.spec.space import label
from rnnstudy.spec.study import Study
from rnnstudy.trial import checkpoint, pruning
from rnnstudy.trial.messages import EpochEnded, Message, Note, TrialStarted

plots = module("rnnstudy.results.plots")

Send = Callable[[Message], None]

OVERFIT = "overfit_pct = 100 × (train accuracy − validation accuracy) at the last epoch"
# the costs a trial logs once, by the names the report shows them under (an objective may name either)
COSTS = {"params": "params_total", "train_s": "train_time_s", "infer_s": "inference_time_s"}
ONCE = (
    "params_total",
    "params_trainable",
    "train_time_s",
    "epochs_trained",
    "checkpoint_s",
    "inference_time_s",
    "inference_ms_per_sample",
    "overfit_pct",
)  # logged at a trial's end, beside test_* and best_* of every per-epoch metric


class TrialFailed(Exception):
    """The trial went wrong (its loss diverged, say); the study goes on."""


@dataclass
class Built:
    """What a trial trains: its plugins, its data and its model."""

    plugins: dict[str, Plugin]
    data: Data
    hypermodel: contract.AdaptedHypermodel
    model: Any
    precision: str = "float32"  # the Keras dtype policy the model was built under
    optimizer: str = ""  # what trains it: a plugin's name, or "model.compile: Adam" (its own)
    compiled: list[str] | None = None  # the metrics rnnstudy compiled it with (None: not known)


def logged_metrics(built: Built, test_every_epoch: bool) -> set[str] | None:
    """Every metric name a trial of ``built`` logs, known before it trains; None where the
    model's logs are its own (not Keras, compiled by itself, or trained by a fit hook of its own)."""
    if built.compiled is None or built.hypermodel.fit is not contract.AdaptedHypermodel.fit:
        return None
    names = ["loss", *built.compiled]
    epoch = {*names, *(f"val_{m}" for m in names), *(f"test_{m}" for m in names if test_every_epoch)}
    return epoch | {f"best_{m}" for m in epoch} | {f"test_{m}" for m in names} | set(ONCE) | set(COSTS)


def build_trial(hp: HyperParameters, registry: Registry, data_dir: str | None) -> Built:
    """Resolve the plugins, load the data and build the model, declaring every hyperparameter.

    A dry run of this, with no Optuna trial, is how a study is validated before it starts.
    """
    # plugins: which ones are themselves hyperparameters, fixed or searched by the study
    chosen = {}
    with hp.owned_by("rnnstudy"):
        for kind in KINDS:
            names = [p.name for p in registry.all() if p.kind == kind]
            default = "adam" if kind == "optimizer" and "adam" in names else None
            chosen[kind] = registry.get(kind, hp.Choice(kind, names or [""], default=default))
        hp.Int("epochs", 1, 10**6, default=10)
        hp.Int("batch_size", 1, 10**6, default=32)
        seed = hp.Int("seed", 0, 2**31 - 1, default=0)
        subset = hp.Int("subset", 0, 10**9, default=0)
        train_samples = hp.Int("train_samples", 0, 10**9, default=0)
        wanted_precision = hp.Choice("precision", precision.PRECISIONS, default="float32")
        hp.Boolean("artifacts", default=True)  # False: metrics only, no files (the fastest sweeps)
        if "backend" in hp.search:  # a study comparing backends: each worker runs its own
            _check_backend(hp.Choice("backend", [b for b in BACKENDS if b != "auto"]), hp)
        every = hp.fixed.get("checkpoint_every", checkpoint.DEFAULT_EVERY)  # epochs, or "30m" of training
        checkpoint.parse_every(every)  # a bad value is one line at the check, not a failed trial
        hp.Fixed("checkpoint_every", every)

    # data: the plugin caches its files; only the slicing is per trial
    with hp.owned_by(f"dataset {chosen['dataset'].name!r}"), _stdout_kept_unless_it_fails():
        data = chosen["dataset"].obj(hp, data_dir=data_dir)
    if train_samples:
        data = data.sample_train(train_samples, seed)
    if subset:
        data = data.limit(subset)

    # model: a Keras Tuner hypermodel (or build function) made for this data
    policy = precision.apply(wanted_precision)  # before the model: layers take the policy when made
    hypermodel, model = _model(chosen["model"], data, hp, seed)
    if wanted_precision == "auto" and policy != "float32" and precision.recurrent(model):
        policy = precision.apply("float32")  # see precision.recurrent: bf16 RNNs lose here
        hypermodel, model = _model(chosen["model"], data, hp, seed)
    used, compiled = chosen["optimizer"].name, None
    if isinstance(model, keras.Model) and model.compiled and "optimizer" not in {*hp.fixed, *hp.search}:
        # a hypermodel that compiles itself (Keras Tuner's do) keeps its loss, metrics and
        # optimizer, unless the study names an optimizer plugin
        used = f"model.compile: {type(model.optimizer).__name__}"
    elif isinstance(model, keras.Model):
        with hp.owned_by(f"optimizer {used!r}"):
            optimizer = chosen["optimizer"].obj(hp)
        metrics = ["accuracy", *hypermodel.metrics()]  # a model may log more, e.g. perplexity
        model.compile(optimizer=optimizer, loss=data.info["loss"], metrics=metrics)
        compiled = [m if isinstance(m, str) else getattr(m, "name", str(m)) for m in metrics]
    else:
        with hp.owned_by(f"optimizer {used!r}"):
            chosen["optimizer"].obj(hp)  # a model that is not Keras reads its settings from hp
    return Built(chosen, data, hypermodel, model, policy, used, compiled)


def _check_backend(wanted: str, hp: HyperParameters) -> None:
    """A trial's backend is its worker's (the check's dry run builds every point under one)."""
    running = keras.backend.backend()
    if hp.trial is not None and wanted != running:
        raise RuntimeError(f"a trial of backend {wanted!r} was taken by a {running!r} worker")


class _FitDeclared(Exception):
    """Raised by :func:`declare_fit`'s callback: the hook has declared what it declares."""


class _StopAtOnce(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        raise _FitDeclared

    on_epoch_end = on_train_begin


def declare_fit(built: Built, hp: HyperParameters) -> None:
    """Let a Keras Tuner style ``fit`` hook declare its hyperparameters (a tuned batch size, a
    preprocessing switch) without training: it is called on two samples, and stopped before
    the first step. Names declared only after ``model.fit`` returns are still missed."""
    if not built.hypermodel.tuner_fit:
        return
    tiny = built.data.limit(2)
    try:
        built.hypermodel.fit(
            hp,
            built.model,
            x=tiny.x_train,
            y=tiny.y_train,
            validation_data=(tiny.x_val, tiny.y_val),
            epochs=1,
            batch_size=hp.values["batch_size"],
            callbacks=[_StopAtOnce()],
            verbose=0,
        )
    except _FitDeclared:
        pass


def _model(plugin: Plugin, data: Data, hp: HyperParameters, seed: int):
    """The plugin's hypermodel for this data, and the model it builds from ``seed``."""
    keras.utils.set_random_seed(seed)
    with hp.owned_by(f"model {plugin.name!r}"):
        hypermodel = contract.adapt(plugin.obj, data.info)
        return hypermodel, hypermodel.build(hp)


@contextlib.contextmanager
def _stdout_kept_unless_it_fails():
    """Show a dataset's download chatter only if the load works: offline, the error says it all."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    sys.stdout.write(buffer.getvalue())


class TrialRunner:
    """Runs trials in one worker process; holds what the trials of a study share.

    It trains and logs; how a trial ends (its MLflow run's status, the Optuna state) is
    rnnstudy.stores.outcome's to write, by whoever catches what :meth:`train` raises.
    """

    def __init__(
        self,
        study: Study,
        registry: Registry,
        tracker,
        experiment_id: str,
        parent_run_id: str,
        data_dir: str | None = None,
        send: Send | None = None,
        stopping: Callable[[], bool] | None = None,
        checkpoint_root: str | None = None,
        keep_models: bool = False,
        checkpoints: bool = True,
    ) -> None:
        self.study = study
        self.registry = registry
        self.tracker = tracker
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.data_dir = data_dir
        self.send = send or (lambda message: None)
        self.stopping = stopping or (lambda: False)  # Ctrl-C or SIGTERM came: stop at the next epoch
        self.checkpoint_root = checkpoint_root  # a folder's URI (--checkpoint-dir); None: MLflow's store
        self.keep_models = keep_models  # --keep-models: a complete trial's model is logged
        self.checkpoints = checkpoints  # False: neither save nor take up the study's checkpoints

    def start(self, trial) -> str:
        """Open the trial's MLflow run, a child of the study's parent run; return its id."""
        run_id = self.tracker.start_trial(
            self.experiment_id,
            self.parent_run_id,
            self.study.name,
            trial.number,
            run_name=f"trial-{trial.number:03d}",
            description=OVERFIT,
        )
        trial.set_user_attr(RUN_ATTR, run_id)
        return run_id

    def train(self, trial, point: dict[str, Any] | None, run_id: str) -> float | list[float]:
        """Train and log one trial (a grid ``point``, or sampled when None); return its objective
        (a list of them, in the study's order, where it has several).

        Raises:
            optuna.TrialPruned: the pruner stopped it; its argument is the epoch.
            TrialFailed: it diverged; any other exception also fails only this trial.
            RnnstudyError: the study itself is wrong; the driver stops.
        """
        fixed = self.study.fixed
        if self.study.repeated and point is not None:  # the seed is rnnstudy's, not the point's
            point = dict(point)
            fixed = {**fixed, "seed": point.pop("seed")}
        hp = HyperParameters(trial=trial, search=self.study.spaces_for(point or None), fixed=fixed)
        return self._train(trial, hp, run_id)

    def _train(self, trial, hp: HyperParameters, run_id: str) -> float | list[float]:
        import optuna

        faults.point("build")
        built = build_trial(hp, self.registry, self.data_dir)
        data, model = built.data, built.model
        searched = {k: hp.values[k] for k in hp.search if k in hp.values}
        tags = {RUN_NAME_TAG: _run_name(trial.number, searched), POINT_TAG: label(searched)}
        if self.study.repeated:  # the runs of one configuration group by this tag in the UI
            tags[RUN_NAME_TAG] += f" seed={hp.values['seed']}"
        # the trial's own logging is queued (wait=False): finish() writes it before the run ends
        self.tracker.set_tags(run_id, tags, wait=False)
        logged = dict(hp.values)
        self.tracker.log_params(
            run_id,
            {
                **hp.values,
                **{f"{kind}_package": f"{p.package} {p.version}" for kind, p in built.plugins.items()},
                **data.sizes(),
                **({CHANCE_PARAM: chance} if (chance := data.chance()) is not None else {}),
                **data.info.get("params", {}),  # what the dataset found out (e.g. words missing from GloVe)
                "precision_policy": built.precision,
                "optimizer": built.optimizer,
                "keras_backend": keras.backend.backend(),
                "device": devices.current_device(),  # the worker's GPU (rnnstudy.runtime.devices), else the CPU
                "deterministic": backend.deterministic(),  # --deterministic (rnnstudy.runtime.backend)
            },
            wait=False,
        )
        # a checkpoint of this configuration × seed, left by a trial that was killed or stopped
        saved = self._checkpoints(built, hp)
        resumed = self._resume(saved, built, trial, run_id) if saved else None
        start_epoch = resumed.epoch if resumed else 0
        self.send(TrialStarted(trial.number, searched, hp.values["epochs"], resumed_at=start_epoch))

        # fit, one callback doing everything that happens each epoch
        epochs, batch_size = hp.values["epochs"], hp.values["batch_size"]
        callback = EpochCallback(self, trial, run_id, data, batch_size, epochs, saved, resumed, hp.values)
        resume_args = {"initial_epoch": start_epoch} if start_epoch else {}
        try:
            built.hypermodel.fit(
                hp,
                model,
                x=data.x_train,
                y=data.y_train,
                validation_data=(data.x_val, data.y_val),
                epochs=epochs,
                batch_size=batch_size,
                callbacks=[callback],
                verbose=0,
                **resume_args,
            )
        except BaseException:  # Ctrl-C, SIGTERM, out of memory: the last whole epoch is kept
            callback.save_last()
            raise
        train_time = callback.train_seconds()
        declared_in_fit = {k: v for k, v in hp.values.items() if k not in logged}
        if declared_in_fit:  # a Keras Tuner fit hook's own (its batch size, say)
            self.tracker.log_params(run_id, declared_in_fit, wait=False)
        if callback.diverged:
            if saved:  # a result, not an accident: a retry starts afresh
                saved.clear()
            raise TrialFailed(callback.diverged)
        if callback.pruned_at:
            if saved:
                saved.clear()
            raise optuna.TrialPruned(callback.pruned_at)

        # evaluate: test metrics, sizes and speeds; the test pass is the timed inference (one
        # pass over the test set, not two: its loss and accuracy cost next to nothing)
        started = time.perf_counter()
        test = model.evaluate(data.x_test, data.y_test, batch_size=batch_size, verbose=0, return_dict=True)
        inference_time = time.perf_counter() - started
        rows = callback.rows
        final = {
            **{f"test_{k}": float(v) for k, v in test.items()},
            "params_total": float(model.count_params()),
            "params_trainable": float(_trainable(model)),
            "train_time_s": train_time,  # of every attempt, when it was resumed
            "epochs_trained": len(rows) - start_epoch,  # by this attempt
            "checkpoint_s": callback.checkpoint_seconds,  # saving checkpoints took, this attempt
            "inference_time_s": inference_time,
            "inference_ms_per_sample": 1000 * inference_time / max(len(data.y_test), 1),
            "overfit_pct": 100
            * (rows[-1].get("accuracy", math.nan) - rows[-1].get("val_accuracy", math.nan)),
            **{f"best_{k}": best([r[k] for r in rows], self._lower(k)) for k in rows[-1]},
        }
        scores = {name: self._score(name, rows, final) for name in self.study.objectives}
        final["objective"] = scores[self.study.primary]
        if self.study.several:  # each objective's score beside the metric it reduces
            final.update({f"objective_{name}": value for name, value in scores.items()})
        self.tracker.log_metrics(run_id, final, step=len(rows), wait=False)

        # artifacts: history, plots.curves, summary and whatever the model adds (a few tenths of a
        # second per trial; a quick sweep may do without)
        if hp.values["artifacts"]:
            self._artifacts(run_id, built, rows, trial.number, isinstance(model, keras.Model))
        if self.keep_models and isinstance(model, keras.Model):
            self.tracker.log_model(run_id, model)
        if saved:
            saved.clear()
        return list(scores.values()) if self.study.several else scores[self.study.primary]

    def _checkpoints(self, built: Built, hp: HyperParameters) -> checkpoint.Checkpoints | None:
        """This trial's checkpoints; None for a model they cannot continue (not Keras, or a fit
        hook that does not take ``initial_epoch``)."""
        if not (self.checkpoints and isinstance(built.model, keras.Model) and built.hypermodel.resumable):
            return None
        root = self.checkpoint_root or self.tracker.checkpoint_root(self.experiment_id)
        uri = f"{root}/{checkpoint.key(self.study.name, hp.values)}"
        return checkpoint.Checkpoints(
            self.tracker.repository(uri), uri, warn=lambda text: self.send(Note(text))
        )

    def _resume(
        self, saved: checkpoint.Checkpoints, built: Built, trial, run_id: str
    ) -> checkpoint.State | None:
        """Continue from the newest whole checkpoint, if there is one: its weights, optimizer
        and history go into this trial, whose run takes the history over (MLflow cannot drop
        the epochs the killed run logged after its checkpoint, so this run is the one history,
        and the old one says which run continues it)."""
        state = saved.latest()
        if state is None:
            return None
        try:
            checkpoint.restore(built.model, state)
        except ValueError as exc:  # another model under the same values: a changed plugin, say
            saved.warn(
                f"warning: checkpoint of epoch {state.epoch} does not fit the model ({exc}); starting at epoch 0"
            )
            return None
        primary = self.study.primary
        for step, row in enumerate(state.rows, start=1):
            self.tracker.log_metrics(run_id, row, step=step, wait=False)
            if primary in row and self.study.pruner != "none":
                pruning.report(trial, row[primary], step, self.study)  # the pruner sees the whole curve
        self.tracker.set_tags(run_id, {CONTINUES_TAG: state.run_id, RESUMED_AT_TAG: state.epoch}, wait=False)
        self.tracker.set_tags(state.run_id, {CONTINUED_BY_TAG: run_id}, wait=False)
        return state

    def _score(self, name: str, rows: list[dict[str, float]], final: dict[str, float]) -> float:
        """One objective's score: a per-epoch metric reduced as the study says, or a cost the
        trial logged once."""
        study = self.study
        if name not in rows[-1]:
            once = final.get(COSTS.get(name, name))
            if once is not None:
                return float(once)
            raise RnnstudyError(
                f"objective {name!r} is not logged; logged metrics: {', '.join([*rows[-1], *final])} "
                "(test_* metrics need test_every_epoch=True)"
            )
        series = [r[name] for r in rows]
        if study.reduce == "last":
            return series[-1]
        if study.reduce == "mean_last":
            return float(np.mean(series[-study.window :]))
        return best(series, self._lower(name))

    def _lower(self, metric: str) -> bool:
        """An objective goes its own direction; any other metric, the rule's."""
        if metric in self.study.objectives:
            return self.study.objectives[metric] == "minimize"
        return lower_is_better(metric)

    def _artifacts(self, run_id: str, built: Built, rows: list[dict], number: int, is_keras: bool) -> None:
        import pandas as pd

        with self.tracker.artifact_dir() as tmp:
            directory = Path(tmp)
            frame = pd.DataFrame(rows)
            frame.index = pd.RangeIndex(1, len(rows) + 1, name="epoch")
            frame.to_csv(directory / HISTORY)
            plots.curves(rows, directory / CURVES, title=f"{self.study.name} trial {number}")
            if is_keras:
                text = io.StringIO()
                built.model.summary(print_fn=lambda line, **_: text.write(line + "\n"))
                (directory / MODEL_SUMMARY).write_text(text.getvalue())
            built.hypermodel.artifacts(built.model, built.data, directory)
            self.tracker.log_artifacts(run_id, directory)


def _run_name(number: int, searched: dict[str, Any]) -> str:
    return " ".join([f"trial-{number:03d}", *(f"{k}={v}" for k, v in searched.items())])[:250]


def _trainable(model) -> int:
    weights = getattr(model, "trainable_weights", None)
    if weights is None:
        return int(model.count_params())
    return int(sum(int(np.prod(w.shape)) for w in weights))


class EpochCallback(keras.callbacks.Callback):
    """After each epoch: test metrics if asked, MLflow metrics, progress, divergence, pruning,
    and the trial's state kept for a checkpoint (saved when due, or when the trial stops)."""

    def __init__(
        self,
        runner: TrialRunner,
        trial,
        run_id: str,
        data: Data,
        batch_size: int,
        epochs: int,
        saved: checkpoint.Checkpoints | None = None,
        resumed: checkpoint.State | None = None,
        values: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.runner, self.trial, self.run_id = runner, trial, run_id
        self.data, self.batch_size, self.epochs = data, batch_size, epochs
        self.saved, self.resumed, self.values = saved, resumed, values or {}
        self.rows: list[dict[str, float]] = list(resumed.rows) if resumed else []
        self.start_epoch = resumed.epoch if resumed else 0
        self.diverged: str | None = None
        self.pruned_at: int | None = None
        self.every = checkpoint.parse_every(self.values.get("checkpoint_every", checkpoint.DEFAULT_EVERY))
        self.last: checkpoint.State | None = None  # the newest epoch's state, saved or not
        self.saved_epoch = self.start_epoch
        self.checkpoint_seconds = 0.0
        self._began = self._saved_at = time.perf_counter()  # made just before fit starts

    def train_seconds(self) -> float:
        """Seconds of training in every attempt of this trial so far."""
        before = self.resumed.train_seconds if self.resumed else 0.0
        return before + time.perf_counter() - self._began

    def on_train_begin(self, logs=None) -> None:
        if self.resumed:  # now: setting training up has drawn from them
            checkpoint.set_generators(self.resumed.generators)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if epoch < self.start_epoch:  # a fit hook that did not pass initial_epoch on
            self.saved.clear()
            raise TrialFailed(
                f"resumed at epoch {self.start_epoch}, but the model's fit hook started at epoch {epoch}: "
                "it must pass initial_epoch on to model.fit; the checkpoint was dropped, the retry starts afresh"
            )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row = {k: float(v) for k, v in (logs or {}).items() if np.isscalar(v) or np.ndim(v) == 0}
        if self.runner.study.test_every_epoch:
            test = self.model.evaluate(
                self.data.x_test, self.data.y_test, batch_size=self.batch_size, verbose=0, return_dict=True
            )
            row.update({f"test_{k}": float(v) for k, v in test.items()})
        self.rows.append(row)
        step = epoch + 1
        self.runner.tracker.log_metrics(self.run_id, row, step=step, wait=False)
        self.runner.send(EpochEnded(self.trial.number, step, self.epochs, row))
        if step == 1:
            faults.point("epoch")
        bad = next((k for k, v in row.items() if "loss" in k and not math.isfinite(v)), None)
        if bad is not None:
            self.diverged = f"{bad} became {row[bad]} at epoch {step}"
            self.model.stop_training = True
            return
        study = self.runner.study
        if study.primary in row and study.pruner != "none":
            pruning.report(self.trial, row[study.primary], step, study)
            if pruning.should_prune(self.trial, study):
                self.pruned_at = step
                self.model.stop_training = True
                return
        self._keep(step)
        if self.runner.stopping():  # a stop the signal handler could not raise where it landed
            raise KeyboardInterrupt

    def _keep(self, step: int) -> None:
        """Hold this epoch's state; save it when a checkpoint is due (never after the last
        epoch: the trial is about to end)."""
        if self.saved is None:
            return
        self.last = checkpoint.capture(
            self.model, step, self.rows, self.run_id, self.train_seconds(), self.values
        )
        due = self.every.due(step - self.saved_epoch, time.perf_counter() - self._saved_at)
        if due and step < self.epochs:
            self.save_last()

    def save_last(self) -> None:
        """Save the newest epoch's state if no checkpoint has it yet (the trial is stopping, or
        one is due). A failure to save is a warning: the trial goes on, or ends as it was."""
        if self.saved is None or self.last is None or self.last.epoch <= self.saved_epoch:
            return
        faults.point("checkpoint")  # outside the try: a test's fault is no warning
        try:
            self.checkpoint_seconds += self.saved.save(self.last)
            self.saved_epoch = self.last.epoch
        except Exception as exc:
            self.saved.warn(
                f"warning: checkpoint of epoch {self.last.epoch} not saved ({type(exc).__name__}: {exc})"
            )
        self._saved_at = time.perf_counter()
