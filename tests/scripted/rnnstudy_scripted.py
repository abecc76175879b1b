"""A test-only plugin distribution: a tiny dataset and a non-Keras model that does what its
hyperparameters say, so parallel runs, pruning and faults can be tested exactly and fast.

The model's ``val_accuracy`` at epoch ``e`` (from 1) is ``score + slope * e``, plus, with
``noise`` > 0, a normal draw of that standard deviation from the trial's seed and its score (the
point's true value plus seeded noise: the statistics of repeats are tested on it); its parameter
count is its ``size`` (a deterministic cost for several objectives); it can sleep
each epoch (to be killed or interrupted mid-trial), raise, or let its loss become NaN.
Installed for a test as a throwaway distribution by ``tests/conftest.py``.
"""

import os
import time
from pathlib import Path

import numpy as np

from rnnstudy import Data


def tiny_table(hp, *, data_dir=None):
    """Sixteen samples of two features in two classes per split, from ``source``: as a dataset
    that reads a database is told its URL, one of those ``$SCRIPTED_SOURCES`` names (a line
    each; their rows are generated all the same)."""
    rows = hp.Int("rows", 2, 1000, default=16)
    sources = os.environ.get("SCRIPTED_SOURCES", "").splitlines()
    hp.Choice("source", ["generated", *sources], default="generated")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    info = {"input_shape": (2,), "num_classes": 2, "loss": "sparse_categorical_crossentropy"}
    return Data(x, y, x, y, x, y, info)


class ScriptedModel:
    """Enough of a Keras model for the trial runner."""

    def __init__(self, hp) -> None:
        self.score = hp.Float("score", 0.0, 1.0, default=0.5)
        self.slope = hp.Float("slope", -1.0, 1.0, default=0.0)
        self.epoch_seconds = hp.Float("epoch_seconds", 0.0, 600.0, default=0.0)
        self.raise_at = hp.Int("raise_at_epoch", 0, 10**6, default=0)
        self.nan_at = hp.Int("nan_at_epoch", 0, 10**6, default=0)
        self.size = hp.Int("size", 1, 10**9, default=1)  # its parameter count: a known cost
        noise = hp.Float("noise", 0.0, 1.0, default=0.0)
        draw = np.random.default_rng([hp.get("seed"), round(self.score * 10**6)]).standard_normal()
        self.offset = noise * draw  # the same for every epoch: a trial is one draw of its point
        self.stop_training = False
        self.epochs_run = 0

    def val_accuracy(self, epoch: int) -> float:
        return self.score + self.slope * epoch + self.offset

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=True):
        return {"loss": 1.0 - self.score, "accuracy": self.score}

    def predict(self, x, batch_size=None, verbose=0):
        return np.zeros((len(x), 2), dtype="float32")

    def count_params(self) -> int:
        return self.size


class ScriptedFit:
    """The model plugin: a factory ``(info) -> hypermodel`` with ``build`` and ``fit`` hooks."""

    def __init__(self, info: dict) -> None:
        self.info = info

    def build(self, hp) -> ScriptedModel:
        return ScriptedModel(hp)

    def fit(self, hp, model, *, x, y, validation_data, epochs, batch_size, callbacks, verbose):
        for callback in callbacks:
            callback.set_model(model)
        _rendezvous()
        for epoch in range(epochs):
            step = epoch + 1
            time.sleep(model.epoch_seconds)
            if step == model.raise_at:
                raise RuntimeError(f"scripted failure at epoch {step}")
            val = model.val_accuracy(step)
            loss = float("nan") if step == model.nan_at else 1.0 - val
            logs = {"loss": loss, "accuracy": val, "val_loss": 1.0 - val, "val_accuracy": val}
            model.epochs_run = step
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if model.stop_training:
                break


def _rendezvous() -> None:
    """With ``$SCRIPTED_RENDEZVOUS=DIR:N``, a trial starts only once N processes have one:
    proof that the processes of a test ran trials side by side."""
    if not os.environ.get("SCRIPTED_RENDEZVOUS"):
        return
    folder, count = os.environ["SCRIPTED_RENDEZVOUS"].rsplit(":", 1)
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + 600
    while len(os.listdir(folder)) < int(count) and time.monotonic() < deadline:
        time.sleep(0.1)


def dense_stack(info: dict):
    """A real Keras model: ``depth`` Dense layers of ``width`` units (linear ones can diverge)."""
    import keras

    def build(hp):
        depth = hp.Int("depth", 1, 10, default=1)
        width = hp.Int("width", 1, 1024, default=8)
        activation = hp.Choice("activation", ["relu", "linear"])
        layers = [keras.layers.Dense(width, activation=activation) for _ in range(depth)]
        head = keras.layers.Dense(info["num_classes"], activation="softmax")
        return keras.Sequential([keras.Input(info["input_shape"]), *layers, head])

    return build


class SlowDense:
    """dense_stack's real Keras model, each epoch lasting ``epoch_seconds`` more: a trial long
    enough to be killed at a known epoch. Its fit hook hands every argument on to model.fit, as
    a hook must for a checkpointed trial to resume through it (initial_epoch among them)."""

    def __init__(self, info: dict) -> None:
        self.build_model = dense_stack(info)

    def build(self, hp):
        self.seconds = hp.Float("epoch_seconds", 0.0, 600.0, default=0.0)
        return self.build_model(hp)

    def fit(self, hp, model, *args, callbacks=(), **kwargs):  # Keras Tuner's kind of hook
        import keras

        pause = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: time.sleep(self.seconds))
        return model.fit(*args, callbacks=[*callbacks, pause], **kwargs)


class ScriptedTunerFit(ScriptedFit):
    """ScriptedFit's model under a Keras Tuner style hook, ``fit(hp, model, *args, **kwargs)``:
    a model that is not Keras (it has no ``fit``), trained by the hook itself."""

    def fit(self, hp, model, *args, **kwargs):
        x, y = args
        model.batch_size_seen = kwargs.pop("batch_size")
        return super().fit(hp, model, x=x, y=y, batch_size=model.batch_size_seen, **kwargs)
