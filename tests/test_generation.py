import numpy as np

from rnnstudy import Data
from rnnstudy_plugins.models import generation

VOCABULARY = ("?", "a", "b", "c", "d")


def text_data(separator=""):
    ids = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 1], [4, 1, 2]], dtype=np.uint8)
    info = {"vocabulary": VOCABULARY, "separator": separator}
    return Data(ids, ids[:, 0], ids, ids[:, 0], ids, np.zeros(4, np.int64), info)


def next_letter(windows):
    """A perfect model of a b c d a b ...: all probability on the letter after the last one."""
    probs = np.zeros((len(windows), len(VOCABULARY)))
    probs[np.arange(len(windows)), windows[:, -1] % 4 + 1] = 1.0
    return probs


def test_each_prompt_is_continued_at_each_temperature():
    samples = generation.samples(next_letter, text_data(), length=6, prompts=2)
    assert [s["prompt"] for s in samples] == ["abc", "abc", "cda", "cda"]  # test windows 0 and 2
    assert [s["temperature"] for s in samples] == [0.5, 1.0, 0.5, 1.0]
    assert [s["text"] for s in samples] == ["dabcda", "dabcda", "bcdabc", "bcdabc"]


def test_sampling_is_seeded_and_the_temperature_sharpens():
    def unsure(windows):
        return np.tile([0.0, 0.4, 0.3, 0.2, 0.1], (len(windows), 1))

    first = generation.samples(unsure, text_data(), length=400, prompts=1, seed=3)
    assert first == generation.samples(unsure, text_data(), length=400, prompts=1, seed=3)
    cold, warm = (s["text"] for s in first)
    assert cold.count("a") > warm.count("a") > 100  # T=0.5 favours the likeliest letter more
    assert "?" not in cold + warm  # a token the model gives no probability never comes


def test_word_samples_are_written_with_spaces(tmp_path):
    path = generation.write(next_letter, text_data(separator=" "), tmp_path, length=3)
    assert path.name == generation.FILE
    assert "[a b c] d a b" in path.read_text()
