"""Tokenisation, vocabulary and fixed splits of the text datasets."""

import numpy as np
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import documents

TEXTS = [f"Good film {i}, <br />really GOOD." if i % 2 else f"bad plot {i}; dull." for i in range(40)]
LABELS = [i % 2 for i in range(40)]


def corpus():
    return documents.split_corpus("tiny", TEXTS, LABELS, ("neg", "pos"))


def test_word_tokens_drop_case_markup_and_punctuation_and_chars_keep_everything():
    assert documents.tokens("Good <br />film, REALLY!", "word") == ["good", "film", "really"]
    assert documents.tokens("Ab, c", "char") == ["A", "b", ",", " ", "c"]


def test_split_is_fixed_whatever_the_trial_seed():
    first, second = corpus(), corpus()
    assert first.test[0] == second.test[0] and len(first.train[0]) == 32 and len(first.val[0]) == 4
    assert sorted(first.train[0] + first.val[0] + first.test[0]) == sorted(TEXTS)


def test_encode_builds_vocabulary_from_training_split_pads_and_truncates():
    data = documents.encode(HyperParameters(fixed={"max_length": 3, "vocabulary_size": 5}), corpus())
    vocabulary = data.info["vocabulary"]
    assert vocabulary[:2] == ("", "[UNK]") and len(vocabulary) == 5
    assert vocabulary[2] == "good"  # most frequent training word: twice in every "good" text
    assert data.x_train.shape == (32, 3) and data.x_train.dtype == np.int32
    assert data.info["loss"] == "binary_crossentropy" and data.y_train.dtype == np.float32
    assert data.info["params"] == {"vocabulary_tokens": 5}
    short = documents.encode(HyperParameters(fixed={"max_length": 8}), corpus())
    assert (short.x_train[:, -1] == 0).all()  # no text has 8 words: padded with 0 at the end


def test_char_level_and_many_classes():
    tiny = documents.split_corpus("t", ["ab", "ba", "cc", "ac", "bb"] * 4, [0, 1, 2, 0, 1] * 4, "xyz")
    data = documents.encode(HyperParameters(fixed={"level": "char", "max_length": 2}), tiny)
    assert set(data.info["vocabulary"][2:]) == {"a", "b", "c"}
    assert data.info["num_classes"] == 3 and data.info["loss"] == "sparse_categorical_crossentropy"


def test_glove_needs_word_level():
    with pytest.raises(SearchSpaceError, match="GloVe has word vectors only"):
        documents.encode(HyperParameters(fixed={"level": "char", "glove_dims": 4}), corpus())
