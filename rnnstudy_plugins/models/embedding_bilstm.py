"""Seed 000's sentiment classifier: an embedding read by a bidirectional LSTM.

    Embedding(vocabulary, dims) -> Bidirectional(LSTM(units)) -> Dense(1, sigmoid)

The embedding is trained from scratch or is the dataset's GloVe vectors, frozen (hyperparameter
``embedding``; see ``token_input``). With 10,000 words × 100 dims and 32 units it counts
1,034,113 parameters from scratch and 34,113 trainable ones with GloVe frozen, as the seed does.
"""

import keras
import keras_tuner

from rnnstudy_plugins.models.token_input import classes_head, token_vectors


class EmbeddingBiLSTM(keras_tuner.HyperModel):
    """``units`` of each LSTM direction and the embedding are hyperparameters."""

    def __init__(self, info: dict) -> None:
        super().__init__(name="embedding_bilstm")
        self.info = info

    def build(self, hp) -> keras.Model:
        units = hp.Int("units", 1, 4096, default=32)
        inputs, x = token_vectors(
            hp, self.info, default_encoding="embedding", default_dim=100, mask_zero=True
        )
        x = keras.layers.Bidirectional(keras.layers.LSTM(units), name="bilstm")(x)
        return keras.Model(inputs, classes_head(x, self.info), name="embedding_bilstm")
