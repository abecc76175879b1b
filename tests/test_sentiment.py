"""IMDB (extracted archive, Keras' loader) and Rotten Tomatoes on tiny generated data."""

import bz2

import keras
import numpy as np
import pytest

from rnnstudy.errors import DataNotFoundError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import sentiment


@pytest.fixture(autouse=True)
def no_user_dir(monkeypatch):
    monkeypatch.delenv("RNNSTUDY_DATA_DIR", raising=False)


def test_imdb_from_an_extracted_acl_imdb_folder(tmp_path):
    for split in ("train", "test"):
        for name, text in (("pos", "a great movie"), ("neg", "a dreadful movie")):
            folder = tmp_path / "aclImdb" / split / name
            folder.mkdir(parents=True)
            for i in range(6):
                (folder / f"{i}_8.txt").write_text(f"{text} {i}<br />", encoding="utf-8")
    data = sentiment.imdb(HyperParameters(fixed={"validation_samples": 4}), data_dir=tmp_path)
    assert data.sizes() == {"n_train": 8, "n_val": 4, "n_test": 12}
    assert data.info["class_names"] == ("negative", "positive") and data.info["num_classes"] == 2
    great = data.info["vocabulary"].index("great")
    assert all((row == great).any() == bool(y) for row, y in zip(data.x_test, data.y_test))


def test_imdb_through_keras_turns_word_ids_back_into_words(monkeypatch, tmp_path):
    sequences = np.array([[1, 2], [3, 2], [1, 1, 2], [3]], dtype=object)
    monkeypatch.setattr(
        keras.datasets.imdb, "load_data", lambda **kw: ((sequences, np.array([1, 0, 1, 0])),) * 2
    )
    monkeypatch.setattr(keras.datasets.imdb, "get_word_index", lambda: {"fine": 1, "film": 2, "awful": 3})
    sentiment._keras_imdb.cache_clear()
    sentiment._imdb_corpus.cache_clear()
    try:
        data = sentiment.imdb(HyperParameters(fixed={"validation_samples": 1}), data_dir=tmp_path)
        assert set(data.info["vocabulary"][2:]) <= {"fine", "film", "awful"} and data.sizes()["n_test"] == 4
    finally:
        sentiment._keras_imdb.cache_clear()
        sentiment._imdb_corpus.cache_clear()


def test_imdb_nowhere_is_one_clear_error(monkeypatch, tmp_path):
    def offline(**kw):
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.imdb, "load_data", offline)
    sentiment._keras_imdb.cache_clear()
    with pytest.raises(DataNotFoundError, match=r"IMDB data not found \(looked in .*aclImdb.*imdb\.npz\)"):
        sentiment.imdb(HyperParameters(), data_dir=tmp_path)


def test_rotten_tomatoes_from_a_copy_in_the_data_folder(tmp_path):
    rows = ["category,text,movie_name,has_plot_and_reviews"]
    rows += [f"fresh,a delight {i},m,True" for i in range(10)]
    rows += [f"rotten,a mess {i},m,True" for i in range(10)]
    rows += ["plot,the story of a film,m,True"]
    (tmp_path / sentiment.RT_FILE).write_bytes(bz2.compress("\n".join(rows).encode()))
    data = sentiment.rotten_tomatoes(HyperParameters(), data_dir=tmp_path)
    assert data.sizes() == {"n_train": 16, "n_val": 2, "n_test": 2}  # the plot row is dropped
    delight = data.info["vocabulary"].index("delight")
    assert all((row == delight).any() == bool(y) for row, y in zip(data.x_train, data.y_train))
