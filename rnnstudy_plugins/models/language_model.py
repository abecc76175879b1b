"""A recurrent language model for characters or words (seeds 001 and 002).

    tokens -> one-hot or Embedding(vocabulary, embedding_dim)
           -> layers × SimpleRNN / LSTM / GRU(units)
           -> [adjusted head: 2 × (Dense -> BatchNorm -> ReLU -> Dropout)]
           -> Dense(vocabulary, softmax): the next token

Seed 002's Problem 1 model, Embedding(46, 128) -> GRU(128) -> Dense(46), has 110,894
parameters (Keras' GRU keeps two bias vectors per gate, as PyTorch does). Perplexity is
logged beside accuracy, and each trial writes generated text from fixed prompts.
"""

from __future__ import annotations

from pathlib import Path

import keras
import keras_tuner
from keras import ops

from rnnstudy_plugins.metrics import Perplexity
from rnnstudy_plugins.models import generation

CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


class OneHot(keras.layers.Layer):
    """Token ids -> one-hot vectors, so the data stays compact ids in memory."""

    def __init__(self, depth: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.depth = depth

    def call(self, inputs):
        return ops.one_hot(ops.cast(inputs, "int32"), self.depth, dtype=self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "depth": self.depth}


class LanguageModel(keras_tuner.HyperModel):
    """The input encoding, cell, size, depth and head are hyperparameters."""

    def __init__(self, info: dict) -> None:
        super().__init__(name="language_model")
        self.input_shape = tuple(info["input_shape"])
        self.vocabulary_size = int(info["num_classes"])
        self.separator = info.get("separator", "")

    def build(self, hp) -> keras.Model:
        encoding = hp.Choice("input_encoding", ["embedding", "one_hot"], default="embedding")
        cell = hp.Choice("cell", list(CELLS), default="gru")
        units = hp.Int("units", 1, 8192, default=128)
        layers = hp.Int("layers", 1, 16, default=1)
        head = hp.Choice("head", ["plain", "adjusted"], default="plain")

        inputs = keras.Input(self.input_shape, dtype="int32")
        if encoding == "embedding":
            embedding_dim = hp.Int("embedding_dim", 1, 8192, default=128)
            x = keras.layers.Embedding(self.vocabulary_size, embedding_dim, name="embedding")(inputs)
        else:
            x = OneHot(self.vocabulary_size, name="one_hot")(inputs)
        for layer in range(layers):
            last = layer == layers - 1
            x = CELLS[cell](units, return_sequences=not last, name=f"{cell}_{layer + 1}")(x)
        if head == "adjusted":  # seed 002 Problem 2: two dense layers against overfitting
            sizes = (
                hp.Int("head_units_1", 1, 8192, default=128),
                hp.Int("head_units_2", 1, 8192, default=64),
            )
            dropout = hp.Float("head_dropout", 0.0, 0.95, default=0.5)
            for number, size in enumerate(sizes, start=1):
                x = keras.layers.Dense(size, name=f"head_dense_{number}")(x)
                x = keras.layers.BatchNormalization(name=f"head_norm_{number}")(x)
                x = keras.layers.Activation("relu")(x)
                x = keras.layers.Dropout(dropout)(x)
        outputs = keras.layers.Dense(
            self.vocabulary_size, activation="softmax", dtype="float32", name="next"
        )(x)
        return keras.Model(inputs, outputs, name="language_model")

    def metrics(self) -> list:
        """Compiled beside accuracy: train, validation and test perplexity."""
        return [Perplexity()]

    def artifacts(self, model: keras.Model, data, directory: Path) -> None:
        """generated_text.txt: continuations of fixed test prompts at two temperatures."""
        length = 300 if self.separator == "" else 40  # characters or words
        generation.write(model.predict_on_batch, data, directory, length=length)
