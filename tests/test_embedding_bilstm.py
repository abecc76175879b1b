"""Seed 000's classifier: the parameter counts of the report, and it learns."""

import keras
import numpy as np

from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.models.embedding_bilstm import EmbeddingBiLSTM

SEED_000 = {
    "input_shape": (100,),
    "num_classes": 2,
    "loss": "binary_crossentropy",
    "vocabulary": ("", "[UNK]", *(f"w{i}" for i in range(9_998))),
}


def trainable(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_parameter_counts_of_seed_000_from_scratch_and_frozen_glove():
    scratch = EmbeddingBiLSTM(SEED_000).build(HyperParameters(fixed={"embedding_dim": 100}))
    assert scratch.count_params() == trainable(scratch) == 1_034_113
    info = {**SEED_000, "embedding_matrix": np.zeros((10_000, 100), np.float32)}
    frozen = EmbeddingBiLSTM(info).build(HyperParameters(fixed={"embedding": "glove"}))
    assert frozen.count_params() == 1_034_113 and trainable(frozen) == 34_113
    assert frozen.output_shape == (None, 1)


def test_learns_a_word_that_decides_the_label():
    rng = np.random.default_rng(0)
    x = rng.integers(3, 20, size=(256, 6)).astype(np.int32)
    y = rng.integers(0, 2, size=256).astype(np.float32)
    x[:, 2] = np.where(y == 1, 2, 3)
    info = {
        "input_shape": (6,),
        "num_classes": 2,
        "loss": "binary_crossentropy",
        "vocabulary": tuple(range(20)),
    }
    keras.utils.set_random_seed(0)
    model = EmbeddingBiLSTM(info).build(HyperParameters(fixed={"units": 8, "embedding_dim": 8}))
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=info["loss"], metrics=["accuracy"])
    history = model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
