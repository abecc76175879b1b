"""What a dataset plugin returns, and where it looks for its files.

A dataset plugin is a callable ``load(hp, *, data_dir) -> Data``. It may declare its own
hyperparameters (``hp.Int("sequence_length", ...)``) and should cache its raw files with
``functools.cache``: it is called once per trial, and only the slicing should be repeated.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from rnnstudy.errors import DataNotFoundError

DATA_DIR_ENV = "RNNSTUDY_DATA_DIR"


class Info(TypedDict, total=False):
    """What a dataset tells the model plugins about its data (``Data.info``).

    Every dataset gives ``input_shape``, ``num_classes`` and ``loss``; the rest are a text
    dataset's, or a dataset's own (a key not listed here is allowed and passed on as it is)."""

    input_shape: tuple[int, ...]  # one sample's shape, without the batch axis
    num_classes: int
    loss: str  # the Keras loss that fits the labels
    class_names: tuple[str, ...]
    vocabulary: tuple[str, ...]  # index -> token; 0 is padding
    level: str  # "word" or "char"
    separator: str  # what joins tokens back into text
    sequence_length: int
    embedding_matrix: Any  # vocabulary x dims, pretrained (GloVe), when asked for
    params: dict[str, Any]  # facts the dataset found out, logged as the trial's MLflow params


@dataclass
class Data:
    """Train, validation and test arrays, and what a model needs to know about them.

    ``info`` (an :class:`Info`) holds at least ``input_shape`` (without the batch axis),
    ``num_classes`` and ``loss`` (the Keras loss that fits the labels); text datasets add their
    vocabulary. An optional ``params`` dict holds facts the dataset found out (words missing
    from GloVe, say), logged as MLflow params of the trial.
    """

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any
    y_test: Any
    info: Info = field(default_factory=Info)

    def sizes(self) -> dict[str, int]:
        return {"n_train": len(self.y_train), "n_val": len(self.y_val), "n_test": len(self.y_test)}

    def chance(self) -> float | None:
        """The validation accuracy of always answering the majority class: what a model that
        learned nothing scores. None when the labels are not classes (the loss is no
        cross-entropy) or cannot be read as an array."""
        loss = self.info.get("loss")
        if not isinstance(loss, str) or not loss.endswith("crossentropy"):
            return None
        try:
            labels = np.asarray(self.y_val)
        except Exception:  # a tf.data pipeline, a generator: not counted
            return None
        if loss == "categorical_crossentropy":  # one-hot rows
            labels = labels.argmax(axis=-1)
        elif loss == "binary_crossentropy":
            labels = labels >= 0.5
        _, counts = np.unique(labels.reshape(-1), return_counts=True)  # every token of a sequence too
        return float(counts.max() / counts.sum()) if counts.size else None

    def limit(self, n: int) -> Data:
        """At most ``n`` samples in each split (a quick try of a big study)."""
        return replace(
            self,
            x_train=self.x_train[:n],
            y_train=self.y_train[:n],
            x_val=self.x_val[:n],
            y_val=self.y_val[:n],
            x_test=self.x_test[:n],
            y_test=self.y_test[:n],
        )

    def sample_train(self, n: int, seed: int) -> Data:
        """``n`` training samples drawn reproducibly from ``seed``; validation and test unchanged."""
        if n > len(self.y_train):
            raise DataNotFoundError(
                f"train_samples={n} is more than the {len(self.y_train)} training samples there are"
            )
        rows = np.random.default_rng(seed).permutation(len(self.y_train))[:n]
        return replace(self, x_train=self.x_train[rows], y_train=self.y_train[rows])


def split(x, y, fractions: tuple[float, float, float], seed: int):
    """Shuffle reproducibly and cut into train, validation and test by ``fractions``."""
    rows = np.random.default_rng(seed).permutation(len(y))
    n_train = int(round(fractions[0] * len(y)))
    n_val = int(round(fractions[1] * len(y)))
    parts = rows[:n_train], rows[n_train : n_train + n_val], rows[n_train + n_val :]
    return [(x[p], y[p]) for p in parts]


def user_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """The folder the user named with ``--data-dir`` or ``$RNNSTUDY_DATA_DIR``, if any."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    return Path(chosen).expanduser() if chosen else None


def find(candidates: Iterable[Path | None]) -> Path | None:
    """The first candidate path that exists."""
    return next((p for p in candidates if p is not None and p.exists()), None)


def not_found(dataset: str, looked: Iterable[Path | None], how: str) -> DataNotFoundError:
    """The one error a dataset plugin raises when its data is nowhere to be had."""
    places = ", ".join(str(p) for p in looked if p is not None) or "nowhere"
    return DataNotFoundError(f"{dataset} data not found (looked in {places}); {how}")


def hold_out(x_train, y_train, x_test, y_test, validation: int, info: Info) -> Data:
    """A dataset that ships train and test only: the last ``validation`` training samples validate."""
    if not 0 < validation < len(y_train):
        raise DataNotFoundError(f"validation_samples={validation} must be between 1 and {len(y_train) - 1}")
    cut = len(y_train) - validation
    return Data(x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:], x_test, y_test, info)
