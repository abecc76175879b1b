"""Seed 003's character and word RNNs for text classification (Part B, Q3, Q4 and Q6).

    tokens -> one-hot (characters) or Embedding(vocabulary, 20) (words)
    -> cell(units) × layers (GRU, LSTM or a vanilla SimpleRNN) -> [Dropout] -> Dense(classes, softmax)

Padding is masked, so a short text is read to its last real token. The assignment's defaults:
a GRU of 20 units, one layer, 100 tokens. Gradient clipping (Q6: at 2) is the optimizer's
``clipnorm``.
"""

import keras
import keras_tuner

from rnnstudy_plugins.models.token_input import classes_head, token_vectors

CELLS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM, "simple_rnn": keras.layers.SimpleRNN}


class TextRNN(keras_tuner.HyperModel):
    """Cell, units, layers, dropout and the input encoding are hyperparameters."""

    def __init__(self, info: dict) -> None:
        super().__init__(name="text_rnn")
        self.info = info

    def build(self, hp) -> keras.Model:
        cell = CELLS[hp.Choice("cell", list(CELLS), default="gru")]
        units = hp.Int("units", 1, 4096, default=20)
        layers = hp.Int("layers", 1, 8, default=1)
        dropout = hp.Float("dropout", 0.0, 0.95, default=0.0)

        encoding = "one_hot" if self.info.get("level") == "char" else "embedding"
        inputs, x = token_vectors(hp, self.info, default_encoding=encoding, default_dim=20, mask_zero=True)
        for layer in range(1, layers + 1):
            x = cell(units, return_sequences=layer < layers, name=f"rnn{layer}")(x)
            if dropout:
                x = keras.layers.Dropout(dropout)(x)
        return keras.Model(inputs, classes_head(x, self.info), name="text_rnn")
