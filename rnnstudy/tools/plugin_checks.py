"""Contract checks for plugins: what rnnstudy's trial runner needs of a dataset, a model and an
optimizer, checked the way the runner uses them (see rnnstudy.plugins for the contract).

A plugin author runs them on tiny data in their own tests::

    from rnnstudy.tools.plugin_checks import check_dataset, check_model, check_optimizer

    def test_my_plugins(tmp_path):
        write_tiny_images(tmp_path)
        data = check_dataset(load_images, {"validation_samples": 5}, tmp_path, name="my_images")
        check_model(ResNetSmall, data.limit(16), {"width": 4, "batch_size": 8}, name="resnet_small")
        check_optimizer(lion, name="lion")

Each check raises AssertionError with a message naming the plugin and what failed; an exception
the plugin itself raises is wrapped in one. ``hp`` is what a study would give: None (every
hyperparameter at its plugin's default), a dict of fixed values, or a
:class:`~rnnstudy.spec.hyperparameters.HyperParameters`. Every fixed value must be declared by the
plugin checked (or by rnnstudy itself: ``epochs``, ``batch_size``, ``seed``, ...), so a
misspelt name fails instead of being ignored. rnnstudy's own plugins pass these checks in
tests/test_plugin_contract.py.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rnnstudy._lazy import module
from rnnstudy.plugins import contract
from rnnstudy.plugins.data import Data
from rnnstudy.plugins.registry import Registry, default_registry
from rnnstudy.spec.hyperparameters import HyperParameters

runner = module("rnnstudy.trial.runner")

HpSpec = HyperParameters | Mapping[str, Any] | None
SPLITS = ("train", "val", "test")
MLFLOW_PARAM_TYPES = (str, int, float, bool, np.integer, np.floating, np.bool_)


class _Failer:
    """Raises AssertionError prefixed with the plugin's kind and name."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name

    @property
    def owner(self) -> str:
        return f"{self.kind} {self.name!r}"

    def __call__(self, problem: str, cause: BaseException | None = None):
        raise AssertionError(f"{self.owner}: {problem}") from cause

    def call(self, what: str, function: Callable, *args, **kwargs):
        """``function(*args, **kwargs)``; an exception it raises fails the check, naming ``what``."""
        try:
            return function(*args, **kwargs)
        except AssertionError:
            raise
        except Exception as exc:
            self(f"{what} raised {type(exc).__name__}: {exc}", exc)


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__


def _fresh(hp: HpSpec) -> HyperParameters:
    """A new ``hp`` for one call, as each trial gets its own."""
    if hp is None:
        return HyperParameters()
    if isinstance(hp, HyperParameters):
        return HyperParameters(trial=hp.trial, search=hp.search, fixed=hp.fixed, point=hp.point)
    return HyperParameters(fixed=dict(hp))


def _given(hp: HyperParameters) -> set[str]:
    return set(hp.fixed) | set(hp.search)


def _check_all_declared(fail: _Failer, hp: HyperParameters, given: set[str]) -> None:
    unused = sorted(n for n in given if n not in hp.declared and n not in hp._seen)
    if unused:
        declared = ", ".join(sorted(hp.declared)) or "none"
        fail(
            f"the values given for {', '.join(unused)} were never declared (declared: {declared}); "
            "a plugin reads each of its hyperparameters through hp.Int/Float/Choice/Boolean"
        )


def _bindable(fail: _Failer, function: Callable, call: str, *args, **kwargs) -> None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # no signature to read (a builtin): the call will tell
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        fail(f"cannot be called as {call}: {exc} (its signature is {signature})")


# --- datasets --------------------------------------------------------------------------


def check_dataset(
    load: Callable, hp: HpSpec = None, data_dir: str | os.PathLike | None = None, *, name: str | None = None
) -> Data:
    """Check a dataset plugin ``load(hp, *, data_dir=None) -> Data`` on a dry run; return its data.

    Checked: it is called as the trial runner calls it (a dry run, ``trial=None``); it returns
    :class:`~rnnstudy.plugins.data.Data` whose six splits have matching lengths, train, validation and
    test non-empty; ``info`` has ``input_shape`` (the samples' shape), ``num_classes`` and a
    Keras ``loss`` the labels fit, and a ``params`` dict of plain values if any; the data can
    be cut by ``subset`` and ``train_samples``; every value given is declared; and a second
    call with the same hyperparameters gives equal data (cached, or split with a fixed seed).
    """
    fail = _Failer("dataset", name or _name(load))
    if not callable(load):
        fail(f"is a {type(load).__name__}, not a callable load(hp, *, data_dir=None)")
    data_dir = None if data_dir is None else str(data_dir)
    first = _fresh(hp)
    _bindable(fail, load, "load(hp, *, data_dir=...)", first, data_dir=data_dir)
    data = _load(fail, load, first, data_dir)
    _check_data(fail, data)
    _check_all_declared(fail, first, _given(first))

    again_hp = _fresh(hp)
    again = _load(fail, load, again_hp, data_dir)
    if again_hp.values != first.values:
        fail(f"a second call declared other values: {again_hp.values} after {first.values}")
    if not isinstance(again, Data):
        fail(f"a second call returned {type(again).__name__}, not rnnstudy.Data")
    for attribute in [f"{axis}_{split}" for split in SPLITS for axis in "xy"]:
        if not _same(getattr(data, attribute), getattr(again, attribute)):
            fail(
                f"a second call with the same hyperparameters gave a different {attribute}: "
                "a trial must see the same data each time (cache the files, split with a fixed seed)"
            )
    if set(data.info) != set(again.info) or not all(_same(data.info[k], again.info[k]) for k in data.info):
        different = sorted(
            k for k in set(data.info) | set(again.info) if not _same(data.info.get(k), again.info.get(k))
        )
        fail(f"a second call with the same hyperparameters gave a different info: {', '.join(different)}")
    return data


def _load(fail: _Failer, load: Callable, hp: HyperParameters, data_dir: str | None) -> Data:
    with hp.owned_by(fail.owner):
        return fail.call("load(hp, data_dir=...)", load, hp, data_dir=data_dir)


def _check_data(fail: _Failer, data: Any) -> None:
    if not isinstance(data, Data):
        fail(f"returned {type(data).__name__}, not rnnstudy.Data")
    for split in SPLITS:
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        for axis, array in (("x", x), ("y", y)):
            if not hasattr(array, "__len__") or not hasattr(array, "__getitem__"):
                fail(
                    f"{axis}_{split} is a {type(array).__name__}: give arrays (or sequences) with len() and [rows]"
                )
        if len(x) != len(y):
            fail(f"x_{split} has {len(x)} samples but y_{split} {len(y)}")
        if len(y) == 0:
            fail(f"the {split} split is empty")

    info = data.info
    if not isinstance(info, dict):
        fail(f"info is a {type(info).__name__}, not a dict")
    _check_loss(fail, info)
    shape = info.get("input_shape")
    if not isinstance(shape, (tuple, list)) or not all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0) for d in shape
    ):
        fail(f"info['input_shape'] is {shape!r}: give the shape of one sample, a tuple of positive ints")
    for split in SPLITS:
        x = getattr(data, f"x_{split}")
        sample = getattr(x, "shape", None)
        if sample is not None and not _shape_fits(tuple(sample[1:]), tuple(shape)):
            fail(
                f"x_{split} has samples of shape {tuple(sample[1:])}, info['input_shape'] says {tuple(shape)}"
            )
    classes = info.get("num_classes")
    if not isinstance(classes, (int, np.integer)) or isinstance(classes, bool) or classes < 1:
        fail(f"info['num_classes'] is {classes!r}: give the number of classes (the output size), an int")
    for split in SPLITS:
        _check_labels(fail, info["loss"], getattr(data, f"y_{split}"), int(classes), f"y_{split}")
    params = info.get("params", {})
    if not isinstance(params, dict):
        fail(f"info['params'] is a {type(params).__name__}: give a dict of values to log as MLflow params")
    bad = sorted(
        str(k) for k, v in params.items() if not isinstance(k, str) or not isinstance(v, MLFLOW_PARAM_TYPES)
    )
    if bad:
        fail(f"info['params'] has {', '.join(bad)} that are not str: plain value (logged as MLflow params)")

    # what the runner does with --subset and train_samples
    cut = fail.call("Data.limit(1) (--subset)", data.limit, 1)
    if cut.sizes() != {"n_train": 1, "n_val": 1, "n_test": 1} or len(cut.x_train) != 1:
        fail(f"its data cut to one sample per split has sizes {cut.sizes()} (x_train {len(cut.x_train)})")
    drawn = fail.call("Data.sample_train(1, seed) (train_samples)", data.sample_train, 1, 0)
    if len(drawn.x_train) != 1 or len(drawn.y_train) != 1:
        fail("x_train and y_train cannot be indexed by an array of rows (train_samples needs x[rows])")


def _check_loss(fail: _Failer, info: dict) -> None:
    import keras

    loss = info.get("loss")
    if not loss:
        fail(
            "info['loss'] is not set: give the Keras loss the labels fit, e.g. 'sparse_categorical_crossentropy'"
        )
    try:
        keras.losses.get(loss)
    except Exception as exc:
        fail(f"info['loss'] is {loss!r}, which Keras does not know: {exc}", exc)


def _shape_fits(sample: tuple, declared: tuple) -> bool:
    return len(sample) == len(declared) and all(d is None or s == d for s, d in zip(sample, declared))


def _check_labels(fail: _Failer, loss: Any, y: Any, classes: int, what: str) -> None:
    if loss not in ("sparse_categorical_crossentropy", "binary_crossentropy"):
        return
    try:
        labels = np.asarray(y)
    except Exception:
        return
    if labels.dtype.kind not in "iufb":
        fail(f"{what} has {labels.dtype} labels; {loss} needs numbers")
    if loss == "binary_crossentropy":
        if not np.isin(labels, (0, 1)).all():
            fail(f"{what} has labels other than 0 and 1, which binary_crossentropy needs")
        return
    if labels.dtype.kind == "f" and not np.equal(np.mod(labels, 1), 0).all():
        fail(f"{what} has fractional labels; sparse_categorical_crossentropy needs class ids")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        fail(
            f"{what} has labels from {labels.min()} to {labels.max()}, outside 0..{classes - 1} "
            f"(info['num_classes'] = {classes})"
        )


def _same(a: Any, b: Any) -> bool:
    """Equal values: arrays element by element, containers item by item."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__array__") or hasattr(b, "__array__"):
        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        except Exception:
            return False
    try:
        return bool(a == b)
    except Exception:
        return a is b


# --- models ------------------------------------------------------------------------------


def _probe(stop_after: int):
    """An epoch callback like the runner's: records the logs, stops after ``stop_after`` epochs."""
    import keras

    class Probe(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.logs: list[dict] = []
            self.unset = False

        def on_epoch_end(self, epoch, logs=None):
            self.logs.append(dict(logs or {}))
            if self.model is None:
                self.unset = True
            elif len(self.logs) >= stop_after:
                self.model.stop_training = True

    return Probe()


def check_model(
    factory: Callable,
    data: Data,
    hp: HpSpec = None,
    *,
    name: str | None = None,
    optimizer: str | Callable = "sgd",
):
    """Check a model plugin ``factory(info) -> hypermodel`` on ``data``; return what the runner built.

    Built as a trial builds it (:func:`rnnstudy.trial.runner.build_trial`: the adapted hypermodel, a dry-run
    ``hp``, compiled with ``optimizer`` and the data's loss when the model is Keras), then:
    ``metrics()`` is a list; a model that is not Keras has a ``fit`` hook and offers
    ``evaluate``, ``predict`` and ``count_params``; the fit (given up to 2 epochs) calls the
    epoch callback, with finite ``loss`` and ``val_loss``, and stops when it sets
    ``model.stop_training``; ``evaluate(..., return_dict=True)`` gives a finite loss;
    ``predict`` gives a row per sample; ``count_params() > 0``; and ``artifacts(model, data,
    directory)`` writes inside ``directory`` only. Keep ``data`` tiny (``data.limit(16)``)
    and the model small through ``hp``.

    Args:
        optimizer: a built-in optimizer's name, or an optimizer plugin ``make(hp)``.
    """
    import keras

    fail = _Failer("model", name or _name(factory))
    if not callable(factory):
        fail(f"is a {type(factory).__name__}, not a callable factory(info) -> hypermodel")
    _check_data(_Failer("data for", fail.name), data)
    if isinstance(optimizer, str):
        optimizer_name, make = optimizer, default_registry().get("optimizer", optimizer).obj
    else:
        optimizer_name, make = _name(optimizer), optimizer
    registry = Registry(entry_points=False)
    registry.add("dataset", "data", lambda hp, *, data_dir=None: data, package="rnnstudy.testing")
    registry.add("model", fail.name, factory)
    registry.add("optimizer", optimizer_name, make)

    hp = _fresh(hp)
    built = fail.call(
        "building it as a trial does (factory(info), build(hp), compile)",
        runner.build_trial,
        hp,
        registry,
        None,
    )
    _check_all_declared(fail, hp, _given(hp))
    made, model = built.hypermodel, built.model
    if model is None:
        fail("build(hp) returned None")
    metrics = fail.call("metrics()", made.metrics)
    if not isinstance(metrics, list):
        fail(f"metrics() returned a {type(metrics).__name__}, not a list of Keras metrics")
    is_keras = isinstance(model, keras.Model)
    if not is_keras:
        what = f"build(hp) made a {type(model).__name__}, not a keras.Model"
        if made.fit is contract._keras_fit:
            fail(f"{what}, so its hypermodel needs a fit(hp, model, *, x, y, ...) hook")
        missing = [
            m for m in ("evaluate", "predict", "count_params") if not callable(getattr(model, m, None))
        ]
        if missing:
            fail(
                f"{what}, so it must offer evaluate, predict and count_params; it lacks {', '.join(missing)}"
            )

    batch_size = hp.values["batch_size"]
    probe = _probe(stop_after=1)
    fail.call(
        "fit",
        made.fit,
        hp,
        model,
        x=data.x_train,
        y=data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=2,
        batch_size=batch_size,
        callbacks=[probe],
        verbose=0,
    )
    if not probe.logs:
        fail("fit never called its callbacks' on_epoch_end: the runner logs, prunes and stops from it")
    if probe.unset:
        fail("fit called on_epoch_end without set_model(model) on its callbacks first")
    if len(probe.logs) > 1:
        fail(
            f"fit ran {len(probe.logs)} epochs after a callback set model.stop_training = True after the first"
        )
    logs = probe.logs[0]
    for key in ("loss", "val_loss"):
        value = logs.get(key)
        if value is None or np.ndim(value) != 0 or not math.isfinite(float(value)):
            fail(f"the epoch's logs have {key}={value!r}, not a finite number (logs: {sorted(logs)})")

    result = fail.call(
        "evaluate(x_test, y_test, batch_size=..., verbose=0, return_dict=True)",
        model.evaluate,
        data.x_test,
        data.y_test,
        batch_size=batch_size,
        verbose=0,
        return_dict=True,
    )
    if not isinstance(result, dict) or not math.isfinite(float(result.get("loss", math.nan))):
        fail(f"evaluate(..., return_dict=True) gave {result!r}, not a dict with a finite loss")
    rows = min(2, len(data.y_test))
    predicted = fail.call("predict(x)", model.predict, data.x_test[:rows], verbose=0)
    if len(predicted) != rows:
        fail(f"predict on {rows} samples gave {len(predicted)} rows")
    count = fail.call("count_params()", model.count_params)
    if not isinstance(count, (int, np.integer)) or count <= 0:
        fail(f"count_params() is {count!r}, not a positive int")
    if is_keras:
        fail.call("model.summary()", model.summary, print_fn=lambda *args, **kwargs: None)
    _check_artifacts(fail, made, model, data)
    return built


def _check_artifacts(fail: _Failer, made: contract.AdaptedHypermodel, model: Any, data: Data) -> None:
    with tempfile.TemporaryDirectory(prefix="rnnstudy-contract-") as root:
        directory, cwd = Path(root) / "artifacts", Path(root) / "cwd"
        directory.mkdir()
        cwd.mkdir()
        with _chdir(cwd):
            fail.call("artifacts(model, data, directory)", made.artifacts, model, data, directory)
        outside = sorted({p.name for p in Path(root).iterdir()} - {"artifacts", "cwd"})
        outside += [f"{p.name} (in the working directory)" for p in cwd.iterdir()]
        if outside:
            fail(f"artifacts(model, data, directory) wrote outside the directory: {', '.join(outside)}")
        odd = [p.name for p in directory.rglob("*") if not (p.is_file() or p.is_dir())]
        if odd:
            fail(f"artifacts wrote {', '.join(odd)}, which are not plain files")


@contextlib.contextmanager
def _chdir(path: Path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


# --- optimizers --------------------------------------------------------------------------


def check_optimizer(make: Callable, hp: HpSpec = None, *, name: str | None = None):
    """Check an optimizer plugin ``make(hp) -> keras.optimizers.Optimizer``; return one it made.

    Checked: it returns a Keras optimizer, a new one each call; it declares ``learning_rate``
    and uses its value (the study's fixed or searched one too); every value given is declared;
    the optimizer takes a step on a variable.
    """
    import keras

    fail = _Failer("optimizer", name or _name(make))
    if not callable(make):
        fail(f"is a {type(make).__name__}, not a callable make(hp) -> keras.optimizers.Optimizer")
    _bindable(fail, make, "make(hp)", HyperParameters())

    def made(spec: HpSpec) -> tuple[Any, HyperParameters]:
        hp = _fresh(spec)
        with hp.owned_by(fail.owner):
            optimizer = fail.call("make(hp)", make, hp)
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            fail(f"returned a {type(optimizer).__name__}, not a keras.optimizers.Optimizer")
        return optimizer, hp

    optimizer, hp = made(hp)
    _check_all_declared(fail, hp, _given(hp))
    if "learning_rate" not in hp.declared:
        fail(
            "does not declare learning_rate (hp.Float('learning_rate', ...)): studies search and "
            "fix every optimizer's learning rate by that name"
        )
    _check_learning_rate(fail, optimizer, hp.values["learning_rate"])
    fixed = dict(hp.fixed)
    other = _another_value(hp.declared["learning_rate"])
    if other is not None:
        changed, _ = made({**fixed, "learning_rate": other})
        _check_learning_rate(fail, changed, other, " when the study fixes it")

    second, _ = made(hp)
    if second is optimizer:
        fail("returned the same optimizer object twice: each trial's model needs its own")
    variable = keras.Variable(np.ones(3, np.float32))
    fail.call(
        "apply_gradients (one step on a variable)", second.apply_gradients, [(keras.ops.ones(3), variable)]
    )
    after = np.asarray(variable)
    if not np.isfinite(after).all() or np.array_equal(after, np.ones(3, np.float32)):
        fail(
            f"one step with gradient 1 left the variable at {after.tolist()}: it should move, and stay finite"
        )
    return optimizer


def _check_learning_rate(fail: _Failer, optimizer, expected, when: str = "") -> None:
    try:
        actual = float(np.asarray(optimizer.learning_rate))
    except Exception:  # a schedule: nothing to compare
        return
    if not math.isclose(actual, float(expected), rel_tol=1e-5):
        fail(f"its learning_rate is {actual:.6g}, but hp gave learning_rate={expected}{when}")


def _another_value(decl) -> Any:
    """A value the declaration admits other than its default, to see the plugin uses it."""
    if decl.kind in ("int", "float"):
        default = decl.default
        candidates = [default / 2, default * 2, decl.low, decl.high] if default else [decl.low, decl.high]
        if decl.kind == "int":
            candidates = [int(c) for c in candidates]
        return next((c for c in candidates if c != default and decl.admits(c) and c > 0), None)
    if decl.kind == "choice":
        return next((v for v in decl.options if v != decl.default), None)
    return None
