"""The shared input end of the text models: one-hot, embeddings from scratch or frozen GloVe."""

import keras
import numpy as np
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.models.token_input import OneHot, token_vectors

INFO = {"input_shape": (4,), "vocabulary": ("", "[UNK]", "a", "b", "c")}


def test_one_hot_masks_padding():
    layer = OneHot(5, mask_zero=True)
    ids = np.array([[2, 4, 0, 0]])
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(ids))[0, :2], [[0, 0, 1, 0, 0], [0, 0, 0, 0, 1]]
    )
    assert keras.ops.convert_to_numpy(layer.compute_mask(ids)).tolist() == [[True, True, False, False]]


def test_glove_embedding_is_frozen_and_its_size_is_the_vectors_size():
    matrix = np.arange(20, dtype=np.float32).reshape(5, 4)
    info = {**INFO, "embedding_matrix": matrix}
    inputs, x = token_vectors(
        HyperParameters(fixed={"embedding": "glove"}),
        info,
        default_encoding="embedding",
        default_dim=9,
        mask_zero=False,
    )
    model = keras.Model(inputs, x)
    assert model.trainable_weights == [] and model.count_params() == 20
    np.testing.assert_array_equal(model.predict(np.array([[3, 0, 0, 0]]), verbose=0)[0, 0], matrix[3])
    _, scratch = token_vectors(
        HyperParameters(), info, default_encoding="embedding", default_dim=9, mask_zero=False
    )
    assert scratch.shape[-1] == 4  # embedding_dim 0: as big as the GloVe vectors


def test_glove_without_vectors_or_with_another_size_is_refused():
    with pytest.raises(SearchSpaceError, match="set glove_dims"):
        token_vectors(
            HyperParameters(fixed={"embedding": "glove"}),
            INFO,
            default_encoding="embedding",
            default_dim=3,
            mask_zero=False,
        )
    info = {**INFO, "embedding_matrix": np.zeros((5, 4), np.float32)}
    with pytest.raises(SearchSpaceError, match="embedding_dim=6 with GloVe vectors of 4"):
        token_vectors(
            HyperParameters(fixed={"embedding": "glove", "embedding_dim": 6}),
            info,
            default_encoding="embedding",
            default_dim=3,
            mask_zero=False,
        )
    with pytest.raises(SearchSpaceError, match="use a text dataset"):
        token_vectors(
            HyperParameters(),
            {"input_shape": (4,)},
            default_encoding="embedding",
            default_dim=3,
            mask_zero=False,
        )
