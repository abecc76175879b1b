import numpy as np

from rnnstudy_plugins.datasets.vocabulary import UNKNOWN_CHAR, Vocabulary, next_token_windows


def test_a_vocabulary_puts_reserved_tokens_first_and_maps_unseen_tokens_to_unknown():
    vocabulary = Vocabulary.build("banana", unknown=UNKNOWN_CHAR, reserved=("",))
    assert vocabulary.tokens == ("", UNKNOWN_CHAR, "a", "b", "n")
    ids = vocabulary.encode("bandana!")
    assert ids.tolist() == [3, 2, 4, 1, 2, 4, 2, 1]  # d and ! were not in the text it was built from
    assert "".join(vocabulary.decode(ids)) == f"ban{UNKNOWN_CHAR}ana{UNKNOWN_CHAR}"


def test_ids_take_the_smallest_type_that_holds_the_vocabulary():
    assert Vocabulary.build("abc", unknown="?").encode("abc").dtype == np.uint8
    words = [f"w{i}" for i in range(300)]
    assert Vocabulary.build(words, unknown="<unk>").encode(words).dtype == np.int32


def test_windows_are_the_ids_before_each_label():
    x, y = next_token_windows(np.arange(10), 3, stride=2)
    assert x.tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8]]
    assert y.tolist() == [3, 5, 7, 9]
    x, y = next_token_windows(np.arange(3), 3)
    assert x.shape == (0, 3) and y.shape == (0,)
