"""The plugin contract: what a dataset, a model and an optimizer plugin are, in one place.

A plugin is an entry point in one of three groups (see :mod:`rnnstudy.plugins.registry`):

- ``rnnstudy.datasets``: a :class:`DatasetPlugin`, ``load(hp, *, data_dir=None) -> Data``,
  called once per trial (cache the file reading, slice per ``hp``);
- ``rnnstudy.models``: a :class:`ModelPlugin`, ``factory(info) -> hypermodel``, given the
  data's ``info`` (shapes, classes, vocabulary). The hypermodel is a Keras Tuner
  ``HyperModel`` (or any object with ``build(hp)``: a :class:`ModelBuilder`), or a plain
  ``build(hp)`` function; see :class:`ModelBuilder` for its optional hooks;
- ``rnnstudy.optimizers``: an :class:`OptimizerPlugin`, ``make(hp) -> keras.optimizers.Optimizer``.

Every plugin declares its hyperparameters through Keras Tuner's ``hp`` API; the study decides
which are searched or fixed. A hypermodel is adapted once, where it is made (:func:`adapt`,
as Keras Tuner's ``get_hypermodel`` does): the trial runner then calls every hook
unconditionally. tests/test_plugin_contract.py checks every built-in plugin against this.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rnnstudy.plugins.data import Data, Info


class DatasetPlugin(Protocol):
    def __call__(self, hp, *, data_dir: str | None = None) -> Data: ...


class ModelPlugin(Protocol):
    def __call__(self, info: Info) -> ModelBuilder | Callable[[Any], Any]: ...


class OptimizerPlugin(Protocol):
    def __call__(self, hp) -> Any: ...  # a keras.optimizers.Optimizer


@runtime_checkable
class ModelBuilder(Protocol):
    """What a model plugin makes: a hypermodel, such as Keras Tuner's ``HyperModel``. Only
    ``build`` is required.

    Optional hooks, each called once per trial when present:

    - ``fit(hp, model, *, x, y, validation_data, epochs, batch_size, callbacks, verbose)``:
      train the model; or Keras Tuner's ``fit(hp, model, *args, **kwargs)``, called as its
      tuner calls it (``x, y`` positional, no ``batch_size``: the hook may pick its own). A
      model that is not Keras must have it, call ``callbacks``' ``on_epoch_end`` and honour
      ``model.stop_training``; it also offers ``evaluate``, ``predict`` and ``count_params``,
      and, for the time estimate before a study starts, may offer Keras' ``train_on_batch(x, y)``
      and ``test_on_batch(x, y)`` (one step each; without them the estimate is "unknown").
      Without a hook, ``model.fit`` is called with the same arguments. A trial resumed from
      a checkpoint (rnnstudy.trial.checkpoint) also passes ``initial_epoch``, which the hook hands on
      to ``model.fit``: a hook that names its arguments and not that one is never resumed.
    - ``metrics() -> list``: Keras metrics to compile with besides accuracy (e.g. perplexity).
    - ``artifacts(model, data, directory)``: write files for the trial's MLflow run.
    """

    def build(self, hp) -> Any: ...


def _keras_fit(hp, model, **fit_args):
    return model.fit(**fit_args)


def _keras_tuner_fit(fit: Callable) -> Callable:
    """Call a Keras Tuner style ``fit(hp, model, *args, **kwargs)`` as Keras Tuner's tuner does.

    The tuner passes ``tuner.search``'s arguments on as they came: ``x, y`` positional, the rest
    by keyword, and ``batch_size`` only if the caller gave it, so a hypermodel's
    ``model.fit(*args, batch_size=hp.Choice(...), **kwargs)`` picks its own. rnnstudy's
    ``batch_size`` hyperparameter still applies to a fit that picks none: while the hook runs,
    ``model.fit`` takes it as its default. A model with no ``fit`` of its own (NumPy,
    scikit-learn style) is trained by the hook, which gets ``batch_size`` among the keywords.
    """

    def call(hp, model, *, x, y, batch_size, **fit_args):
        if not callable(getattr(model, "fit", None)):  # not Keras: the hook trains it and gets the batch size
            return fit(hp, model, x, y, batch_size=batch_size, **fit_args)
        with _default_batch_size(model, batch_size):
            return fit(hp, model, x, y, **fit_args)

    return call


@contextlib.contextmanager
def _default_batch_size(model, batch_size: int):
    original = model.fit

    def fit(*args, **kwargs):
        x = args[0] if args else kwargs.get("x")
        arrays = isinstance(x, (np.ndarray, list, tuple, dict)) or hasattr(x, "__array__")
        if len(args) < 3 and arrays:  # a tf.data.Dataset or a generator batches itself
            kwargs.setdefault("batch_size", batch_size)
        return original(*args, **kwargs)

    model.fit = fit
    try:
        yield
    finally:
        del model.fit


def _fit_hook(made) -> tuple[Callable, bool, bool]:
    """The hypermodel's fit, called the way it expects; whether it is Keras Tuner's kind, and
    whether it takes ``initial_epoch`` (so a checkpointed trial can resume through it).
    rnnstudy's hooks name every argument (``fit(hp, model, *, x, y, validation_data, epochs,
    batch_size, callbacks, verbose)``); Keras Tuner's take ``*args, **kwargs``."""
    fit = getattr(made, "fit", None)
    if fit is None or _is_default_fit(made):
        return _keras_fit, False, True
    parameters = inspect.signature(fit).parameters
    if "batch_size" in parameters:
        forwards = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        return fit, False, forwards or "initial_epoch" in parameters
    return _keras_tuner_fit(fit), True, True


def _is_default_fit(made) -> bool:
    """Keras Tuner's own ``HyperModel.fit`` is ``model.fit(*args, **kwargs)``: no hook at all."""
    import keras_tuner

    return isinstance(made, keras_tuner.HyperModel) and type(made).fit is keras_tuner.HyperModel.fit


def _no_metrics() -> list:
    return []


def _no_artifacts(model, data: Data, directory: Path) -> None:
    return None


@dataclass(frozen=True)
class AdaptedHypermodel:
    """A hypermodel with every hook present: the plugin's own, or the default."""

    build: Callable[[Any], Any]
    fit: Callable[..., Any] = _keras_fit
    tuner_fit: bool = False  # its fit is Keras Tuner's kind, which may declare hyperparameters
    resumable: bool = True  # its fit takes initial_epoch: a checkpoint can be resumed
    metrics: Callable[[], list] = _no_metrics
    artifacts: Callable[[Any, Data, Path], None] = _no_artifacts
    source: Any = None  # what the plugin made


def adapt(factory: ModelPlugin, info: Info) -> AdaptedHypermodel:
    """Make a model plugin's hypermodel for data described by ``info``, and adapt it."""
    made = factory(info)
    build = made.build if isinstance(made, ModelBuilder) else made
    fit, tuner_fit, resumable = _fit_hook(made)
    return AdaptedHypermodel(
        build=build,
        fit=fit,
        tuner_fit=tuner_fit,
        resumable=resumable,
        metrics=getattr(made, "metrics", None) or _no_metrics,
        artifacts=getattr(made, "artifacts", None) or _no_artifacts,
        source=made,
    )
