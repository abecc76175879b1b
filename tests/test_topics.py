"""WordNet topics and labelled CSV files on tiny generated data."""

import numpy as np
import pytest

from rnnstudy.errors import DataNotFoundError, SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import topics


@pytest.fixture(autouse=True)
def no_user_dir(monkeypatch):
    monkeypatch.delenv("RNNSTUDY_DATA_DIR", raising=False)


def test_wordnet_keeps_the_largest_topics_balanced(tmp_path):
    lines = ["  1 This software and database is being provided ... licence lines start with spaces"]
    sizes = {"05": 30, "06": 20, "04": 12, "07": 3}  # animal, artifact, act, attribute
    for lexfile, count in sizes.items():
        lines += [
            f"{len(lines):08d} {lexfile} n 01 word_{lexfile}_{i} 0 000 | gloss {lexfile} {i}"
            for i in range(count)
        ]
    (tmp_path / "data.noun").write_text("\n".join(lines) + "\n", encoding="latin-1")
    data = topics.wordnet_topics(HyperParameters(fixed={"num_topics": 3}), data_dir=tmp_path)
    assert data.info["class_names"] == ("act", "animal", "artifact")
    assert data.sizes() == {"n_train": 29, "n_val": 4, "n_test": 3}  # 12 of each, split 80/10/10
    labels = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert np.bincount(labels).tolist() == [12, 12, 12]
    assert "word" in data.info["vocabulary"] and "05" in data.info["vocabulary"]  # "word 05 3: gloss 05 3"
    with pytest.raises(SearchSpaceError, match="only 4 topics"):
        topics.wordnet_topics(HyperParameters(fixed={"num_topics": 5}), data_dir=tmp_path)


def test_csv_with_header_title_column_and_test_file(tmp_path):
    rows = [
        f'{1 + i % 3},Title {i},"text about {["sport", "music", "films"][i % 3]}, no {i}"' for i in range(30)
    ]
    (tmp_path / "train.csv").write_text("label,title,text\n" + "\n".join(rows) + "\n")
    (tmp_path / "test.csv").write_text("\n".join(rows[:9]) + "\n")
    data = topics.text_csv(HyperParameters(), data_dir=tmp_path)
    assert data.info["class_names"] == ("1", "2", "3") and data.sizes() == {
        "n_train": 27,
        "n_val": 3,
        "n_test": 9,
    }
    sport = data.info["vocabulary"].index("sport")
    assert all((row == sport).any() == (y == 0) for row, y in zip(data.x_test, data.y_test))


def test_csv_without_test_file_is_split_and_absent_csv_is_a_clear_error(tmp_path):
    (tmp_path / "train.csv").write_text("\n".join(f"{'ab'[i % 2]},words {i}" for i in range(20)) + "\n")
    data = topics.text_csv(HyperParameters(), data_dir=tmp_path)
    assert data.sizes() == {"n_train": 16, "n_val": 2, "n_test": 2} and data.info["class_names"] == ("a", "b")
    with pytest.raises(DataNotFoundError, match="text CSV data not found.*train.csv"):
        topics.text_csv(HyperParameters(), data_dir=tmp_path / "nowhere")
