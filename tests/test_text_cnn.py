"""Seed 003's character and word CNNs."""

import keras
import numpy as np
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.models.text_cnn import TextCNN


def info(level: str, vocabulary: int = 256, length: int = 100) -> dict:
    return {
        "input_shape": (length,),
        "num_classes": 15,
        "loss": "sparse_categorical_crossentropy",
        "level": level,
        "vocabulary": tuple(range(vocabulary)),
    }


def test_assignment_shapes_for_characters_and_words():
    char = TextCNN(info("char")).build(HyperParameters())
    # one-hot 256 columns, 20 filters of 20: (20·256 + 1)·20, then 20·20·20 + 20, then 11·20·15 + 15
    assert char.count_params() == 102_420 + 8_020 + 3_315
    assert char.get_layer("pool2").output.shape == (None, 11, 20)
    word = TextCNN(info("word", vocabulary=1000)).build(HyperParameters(fixed={"dropout": 0.5}))
    assert word.get_layer("embedding").output.shape == (None, 100, 20)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in word.layers)


def test_too_short_for_its_windows_is_a_clear_error():
    with pytest.raises(SearchSpaceError, match="max_length is too short.*convolution 2 of window=20"):
        TextCNN(info("char", length=30)).build(HyperParameters())


def test_learns_a_character_that_decides_the_class():
    rng = np.random.default_rng(0)
    x = rng.integers(3, 9, size=(300, 12)).astype(np.int32)
    y = rng.integers(0, 3, size=300)
    x[:, 5] = 10 + y
    small = {**info("char", vocabulary=13, length=12), "num_classes": 3}
    keras.utils.set_random_seed(0)
    model = TextCNN(small).build(HyperParameters(fixed={"window": 3, "filters": 16, "conv_layers": 1}))
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=small["loss"], metrics=["accuracy"])
    assert model.fit(x, y, epochs=8, batch_size=32, verbose=0).history["accuracy"][-1] > 0.9
