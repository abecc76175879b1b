"""Keras metrics the built-in models add to accuracy (through their ``metrics()`` hook)."""

import keras
from keras import ops


class Perplexity(keras.metrics.Mean):
    """exp(mean cross-entropy): the number of tokens a language model is as unsure as choosing among.

    Computed from the predicted probabilities, so it stays exact when a loss has extra terms.
    """

    def __init__(self, name: str = "perplexity", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        entropy = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
        return super().update_state(entropy, sample_weight=sample_weight)

    def result(self):
        return ops.exp(super().result())
