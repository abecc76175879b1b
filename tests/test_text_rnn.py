"""Seed 003's character and word RNNs: GRU, LSTM or vanilla, one or more layers."""

import keras
import numpy as np
import pytest

from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.models.text_rnn import TextRNN

INFO = {
    "input_shape": (10,),
    "num_classes": 3,
    "loss": "sparse_categorical_crossentropy",
    "level": "char",
    "vocabulary": tuple(range(12)),
}


@pytest.mark.parametrize(("cell", "per_unit_weights"), [("gru", 3), ("lstm", 4), ("simple_rnn", 1)])
def test_cells_and_layers(cell, per_unit_weights):
    model = TextRNN(INFO).build(HyperParameters(fixed={"cell": cell, "layers": 2, "units": 5}))
    first, second = model.get_layer("rnn1"), model.get_layer("rnn2")
    assert first.output.shape == (None, 10, 5) and second.output.shape == (None, 5)
    kernel = first.weights[0]
    assert kernel.shape == (12, per_unit_weights * 5)  # one-hot input of the 12 characters


def test_padding_is_masked_and_word_level_embeds():
    model = TextRNN(INFO).build(HyperParameters(fixed={"units": 4}))
    unpadded = TextRNN({**INFO, "input_shape": (2,)}).build(HyperParameters(fixed={"units": 4}))
    unpadded.set_weights(model.get_weights())
    padded = np.array([[3, 4, 0, 0, 0, 0, 0, 0, 0, 0]], np.int32)
    np.testing.assert_allclose(
        model.predict(padded, verbose=0), unpadded.predict(padded[:, :2], verbose=0), rtol=1e-5
    )
    word = TextRNN({**INFO, "level": "word"}).build(HyperParameters(fixed={"dropout": 0.5}))
    assert word.get_layer("embedding").output.shape == (None, 10, 20)


def test_learns_with_gradient_clipping():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, size=(300, 10)).astype(np.int32)
    y = rng.integers(0, 3, size=300)
    x[:, 0] = 8 + y  # the first character decides: the GRU must carry it to the end
    keras.utils.set_random_seed(0)
    model = TextRNN(INFO).build(HyperParameters(fixed={"units": 16}))
    model.compile(
        optimizer=keras.optimizers.Adam(0.02, clipnorm=2.0), loss=INFO["loss"], metrics=["accuracy"]
    )
    assert model.fit(x, y, epochs=8, batch_size=32, verbose=0).history["accuracy"][-1] > 0.9
