import numpy as np
import pytest

from rnnstudy.errors import DataNotFoundError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import names

LANGUAGES = {
    "Czech": ["Novák", "Dvořák", "Černý", "Procházka", "Kučera"] * 4,
    "Italian": ["Rossi", "Bianchi", "Romano", "Colombo", "Ricci"] * 4,
}


@pytest.fixture
def tutorial(tmp_path):
    folder = tmp_path / "data" / "names"
    folder.mkdir(parents=True)
    for language, surnames in LANGUAGES.items():
        # distinct names: the tutorial's files repeat some, we keep one of each
        (folder / f"{language}.txt").write_text("\n".join(f"{n}{i}" for i, n in enumerate(surnames)) + "\n")
    return tmp_path


def load(data_dir=None, **fixed):
    return names.load(HyperParameters(fixed={"names": "tutorial", **fixed}), data_dir=data_dir)


def test_the_tutorial_files_are_split_80_10_10_with_one_class_per_file(tutorial):
    data = load(str(tutorial))
    assert data.sizes() == {"n_train": 32, "n_val": 4, "n_test": 4}
    assert data.info["class_names"] == ("Czech", "Italian")
    assert data.info["num_classes"] == 2
    assert data.info["loss"] == "sparse_categorical_crossentropy"


def test_names_are_padded_character_ids_without_accents(tutorial):
    data = load(str(tutorial), max_length=8)
    vocabulary = data.info["vocabulary"]
    assert vocabulary[0] == ""  # the padding id
    assert not {"á", "ř", "č", "ý"} & set(vocabulary)  # Dvořák -> Dvorak, as the tutorial does
    assert data.x_train.shape == (32, 8)
    decoded = ["".join(vocabulary[i] for i in row) for row in data.x_train]
    assert all(len(n) <= 8 for n in decoded) and any(len(n) < 8 for n in decoded)
    assert any(row[-1] == 0 for row in data.x_train)  # short names end in padding


def test_the_split_is_fixed_by_split_seed(tutorial):
    a, b = load(str(tutorial), split_seed=100), load(str(tutorial), split_seed=100)
    assert np.array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, load(str(tutorial), split_seed=7).x_test)


def _offline():
    raise OSError("no network")


def test_without_files_or_download_the_error_names_the_offline_choice(tmp_path, monkeypatch):
    monkeypatch.setattr(names, "KERAS_CACHE", tmp_path / "cache")
    monkeypatch.setattr(names, "_download", _offline)  # tests never touch the network
    with pytest.raises(DataNotFoundError, match=r"offline, use names='faker'"):
        load(str(tmp_path))


def test_faker_has_surnames_for_twelve_languages_offline():
    data = names.load(HyperParameters(fixed={"max_length": 12}))
    assert len(data.info["class_names"]) == 12 and "Polish" in data.info["class_names"]
    total = sum(data.sizes().values())
    assert data.sizes()["n_val"] == round(0.1 * total)
    assert set(np.unique(data.y_train)) == set(range(12))
