"""GloVe vectors from a GloVe-format text file, aligned with a vocabulary."""

import numpy as np
import pytest

from rnnstudy.errors import DataNotFoundError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import documents, glove


@pytest.fixture
def glove_dir(tmp_path):
    lines = ["good 1 0 0 0", "bad 0 1 0 0", "film 0 0 1 0", "null 0 0 0 1", ", 9 9 9 9"]
    (tmp_path / "glove.6B.4d.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_align_gives_vectors_in_order_and_zeros_for_missing_words(glove_dir):
    found = glove.align(["film", "unseen", "good", "null"], 4, data_dir=glove_dir)
    assert found.matrix.shape == (4, 4) and found.matrix.dtype == np.float32
    np.testing.assert_array_equal(found.matrix[0], [0, 0, 1, 0])
    np.testing.assert_array_equal(found.matrix[1], 0)
    np.testing.assert_array_equal(found.matrix[3], [0, 0, 0, 1])  # "null" is a word, not a missing value
    assert found.missing == ["unseen"] and found.source.endswith("glove.6B.4d.txt")


def test_wrong_size_and_absent_file_are_clear_errors(glove_dir, tmp_path_factory, monkeypatch):
    (glove_dir / "glove.6B.3d.txt").write_text("good 1 0 0 0\n")
    with pytest.raises(DataNotFoundError, match="4 numbers per word, not glove_dims=3"):
        glove.align(["good"], 3, data_dir=glove_dir)
    monkeypatch.delenv("RNNSTUDY_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError, match=r"GloVe 7d data not found .*glove\.6B\.7d\.txt"):
        glove.align(["good"], 7, data_dir=tmp_path_factory.mktemp("empty"))


def test_encode_adds_the_embedding_matrix_and_logs_missing_words(glove_dir):
    texts = ["good film", "bad film", "awful zzz film", "good good"] * 5
    corpus = documents.split_corpus("t", texts, [1, 0, 0, 1] * 5, ("neg", "pos"))
    data = documents.encode(HyperParameters(fixed={"glove_dims": 4}), corpus, data_dir=glove_dir)
    vocabulary, matrix = data.info["vocabulary"], data.info["embedding_matrix"]
    assert matrix.shape == (len(vocabulary), 4)
    np.testing.assert_array_equal(matrix[vocabulary.index("bad")], [0, 1, 0, 0])
    np.testing.assert_array_equal(matrix[:2], 0)  # padding and the unknown token
    params = data.info["params"]
    assert params["glove_missing_words"] == 2 and set(params["glove_missing_examples"].split()) == {
        "awful",
        "zzz",
    }
    assert params["glove_missing_pct"] == pytest.approx(100 * 2 / (len(vocabulary) - 2), abs=0.01)
