import numpy as np
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import poems
from rnnstudy_plugins.datasets.vocabulary import UNKNOWN_WORD

# ten poems of 8 words; poem i's words all start with the i-th letter, so no two poems share one
POEMS = [" ".join([f"{c.upper()}{c}y's", *(f"{c}{c}{k}" for k in "bcdefgh")]) for c in "abcdefghij"]


def load(data_dir, **fixed):
    return poems.load(HyperParameters(fixed=fixed), data_dir=str(data_dir))


def words(data, ids):
    return [data.info["vocabulary"][i] for i in ids]


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "mine").mkdir()
    for number, poem in enumerate(POEMS):
        (tmp_path / "mine" / f"{number:02d}.txt").write_text(poem.replace(" ", "\n", 3))
    return tmp_path


def test_a_folder_of_poems_gives_five_words_in_and_the_next_out(folder):
    data = load(folder, poems="mine")
    assert data.info["input_shape"] == (5,)
    assert data.info["separator"] == " "
    # poems split 8 / 1 / 1; each poem of 8 words has 3 windows: none crosses into another poem
    assert data.sizes() == {"n_train": 24, "n_val": 3, "n_test": 3}
    first = words(data, data.x_train[0]) + words(data, [data.y_train[0]])
    assert first[0][1:] == first[0][0] + "y's"  # lower-cased, the apostrophe kept
    assert len({w[0] for w in first}) == 1  # all from one poem


def test_the_vocabulary_comes_from_the_training_poems_so_the_others_are_unknown(folder):
    data = load(folder, poems="mine")
    assert data.info["vocabulary"][0] == UNKNOWN_WORD
    assert len(data.info["vocabulary"]) == 1 + 8 * 8  # <unk> and the 8 words of each training poem
    assert np.all(data.y_val == 0) and np.all(data.y_test == 0)


def test_the_split_is_by_poem_and_follows_split_seed(folder):
    a, b = load(folder, poems="mine", split_seed=1), load(folder, poems="mine", split_seed=2)
    assert set(a.info["vocabulary"]) != set(b.info["vocabulary"])
    again = load(folder, poems="mine", split_seed=1)
    assert a.info["vocabulary"] == again.info["vocabulary"]


def test_a_file_of_poems_is_split_at_blank_lines_and_poem_count_keeps_the_first(tmp_path):
    (tmp_path / "book.txt").write_text("\n\n".join(POEMS))
    assert load(tmp_path, poems="book", sequence_length=2).sizes()["n_train"] == 8 * 6
    with pytest.raises(SearchSpaceError, match=r"poems='book' has 2 poem\(s\)"):
        load(tmp_path, poems="book", poem_count=2)


def test_a_context_longer_than_every_poem_is_refused(folder):
    with pytest.raises(SearchSpaceError, match=r"sequence_length=8: no poem"):
        load(folder, poems="mine", sequence_length=8)
