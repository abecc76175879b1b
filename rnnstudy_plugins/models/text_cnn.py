"""Seed 003's character and word CNNs for text classification (Part B, Q1 and Q2).

    tokens -> one-hot (characters) or Embedding(vocabulary, 20) (words)
    -> [Conv1D(filters, window, valid, relu) -> MaxPool1D(pool_size, pool_stride, same)] × conv_layers
    -> Flatten -> [Dropout] -> Dense(classes, softmax)

The assignment's defaults: 20 filters of window 20 (over all 256 one-hot columns for
characters, all 20 embedding columns for words), pooling windows of 4 with stride 2, two
convolutions, 100 tokens.
"""

import keras
import keras_tuner

from rnnstudy.errors import SearchSpaceError
from rnnstudy_plugins.models.token_input import classes_head, token_vectors


class TextCNN(keras_tuner.HyperModel):
    """Filters, window, pooling, depth, dropout and the input encoding are hyperparameters."""

    def __init__(self, info: dict) -> None:
        super().__init__(name="text_cnn")
        self.info = info

    def build(self, hp) -> keras.Model:
        filters = hp.Int("filters", 1, 4096, default=20)
        window = hp.Int("window", 1, 1000, default=20)
        pool_size = hp.Int("pool_size", 1, 1000, default=4)
        pool_stride = hp.Int("pool_stride", 1, 1000, default=2)
        conv_layers = hp.Int("conv_layers", 1, 8, default=2)
        dropout = hp.Float("dropout", 0.0, 0.95, default=0.0)
        _check_length(self.info["input_shape"][0], window, pool_stride, conv_layers)

        encoding = "one_hot" if self.info.get("level") == "char" else "embedding"
        inputs, x = token_vectors(hp, self.info, default_encoding=encoding, default_dim=20, mask_zero=False)
        for layer in range(1, conv_layers + 1):
            x = keras.layers.Conv1D(filters, window, activation="relu", name=f"conv{layer}")(x)
            x = keras.layers.MaxPooling1D(pool_size, pool_stride, padding="same", name=f"pool{layer}")(x)
        x = keras.layers.Flatten()(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
        return keras.Model(inputs, classes_head(x, self.info), name="text_cnn")


def _check_length(length: int, window: int, stride: int, conv_layers: int) -> None:
    """Each valid convolution shortens the sequence by window - 1, each pooling divides it by stride."""
    for layer in range(1, conv_layers + 1):
        if length < window:
            raise SearchSpaceError(
                f"max_length is too short for text_cnn: {length} positions reach convolution {layer} "
                f"of window={window}; raise max_length, or lower window or conv_layers"
            )
        length = -(-(length - window + 1) // stride)
