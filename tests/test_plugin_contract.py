"""Every built-in plugin passes the plugin contract (rnnstudy.testing), on tiny data.

As Optuna's sampler tests run one suite over every sampler, these run the contract checks over
every entry point the ``rnnstudy`` distribution declares, so a new built-in is checked
without editing this file; it only needs a tiny-data recipe below, and a test fails until it
has one. The last tests show that the checks do fail, with a clear message, for a broken
third-party-style plugin.
"""

from __future__ import annotations

import bz2
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from conftest import write_fashion
from test_char_text import TEXT as CHAR_TEXT
from test_datasets import write_cifar_archive
from test_names import LANGUAGES
from test_poems import POEMS

from rnnstudy import Data
from rnnstudy.plugins.data import DATA_DIR_ENV
from rnnstudy.plugins.registry import GROUPS, KINDS
from rnnstudy.tools.plugin_checks import check_dataset, check_model, check_optimizer

BUILT_IN = {
    kind: {
        ep.name: ep
        for ep in metadata.entry_points(group=GROUPS[kind])
        if ep.dist is not None and ep.dist.name == "rnnstudy"
    }
    for kind in KINDS
}


# --- tiny data for each built-in dataset ---------------------------------------------------


def write_acl_imdb(folder: Path) -> None:
    for split in ("train", "test"):
        for name, text in (("pos", "a great movie"), ("neg", "a dreadful movie")):
            reviews = folder / "aclImdb" / split / name
            reviews.mkdir(parents=True)
            for i in range(6):
                (reviews / f"{i}_8.txt").write_text(f"{text} {i}<br />", encoding="utf-8")


def write_rotten_tomatoes(folder: Path) -> None:
    rows = ["category,text,movie_name,has_plot_and_reviews"]
    rows += [f"fresh,a delight {i},m,True" for i in range(10)]
    rows += [f"rotten,a mess {i},m,True" for i in range(10)]
    (folder / "rotten_tomatoes_corpus_full.csv.bz2").write_bytes(bz2.compress("\n".join(rows).encode()))


def write_text_csv(folder: Path) -> None:
    topics = ["sport", "music", "films"]
    rows = [f"{1 + i % 3},text about {topics[i % 3]} number {i}" for i in range(30)]
    (folder / "train.csv").write_text("label,text\n" + "\n".join(rows) + "\n")


def write_wordnet(folder: Path) -> None:
    lines = ["  1 This software and database is being provided ... licence lines start with spaces"]
    for lexfile, count in {"05": 12, "06": 12, "04": 12}.items():  # animal, artifact, act
        lines += [
            f"{len(lines):08d} {lexfile} n 01 word_{lexfile}_{i} 0 000 | gloss {lexfile} {i}"
            for i in range(count)
        ]
    (folder / "data.noun").write_text("\n".join(lines) + "\n", encoding="latin-1")


def write_poems(folder: Path) -> None:
    (folder / "mine").mkdir()
    for number, poem in enumerate(POEMS):
        (folder / "mine" / f"{number:02d}.txt").write_text(poem)


def write_names(folder: Path) -> None:
    (folder / "names").mkdir()
    for language, surnames in LANGUAGES.items():
        (folder / "names" / f"{language}.txt").write_text(
            "\n".join(f"{n}{i}" for i, n in enumerate(surnames)) + "\n"
        )


@dataclass
class DataRecipe:
    write: object  # write(folder): the tiny files, in the formats the dataset reads
    fixed: dict = field(default_factory=dict)  # the hyperparameters that pick them and keep them small


TEXT = {"max_length": 12, "vocabulary_size": 40}
DATASETS = {
    "cifar10": DataRecipe(
        lambda d: write_cifar_archive(d / "cifar-10-python.tar.gz"), {"validation_samples": 5}
    ),
    "fashion_mnist": DataRecipe(
        lambda d: write_fashion(d, n_train=40, n_test=10), {"validation_samples": 10}
    ),
    "imdb": DataRecipe(write_acl_imdb, {"validation_samples": 4, **TEXT}),
    "rotten_tomatoes": DataRecipe(write_rotten_tomatoes, TEXT),
    "text_csv": DataRecipe(write_text_csv, TEXT),
    "wordnet_topics": DataRecipe(write_wordnet, {"num_topics": 3, **TEXT}),
    "char_text": DataRecipe(
        lambda d: (d / "tiny.txt").write_text(CHAR_TEXT),
        {"corpus": "tiny", "sequence_length": 5, "stride": 3},
    ),
    "poems": DataRecipe(write_poems, {"poems": "mine", "sequence_length": 3}),
    "names": DataRecipe(write_names, {"names": "tutorial", "max_length": 8}),
}


@dataclass
class ModelRecipe:
    dataset: str  # a tiny dataset the model fits
    fixed: dict  # a small model
    samples: int = 16  # per split


TRAINING = {"batch_size": 8}
MODELS = {
    "cnn": ModelRecipe("fashion_mnist", {"c1": 2, "c2": 2, "kernel1": 5, "kernel2": 3, "dense_units": 4}),
    "char_classifier": ModelRecipe("names", {"embedding_dim": 4, "units": 4}),
    "embedding_bilstm": ModelRecipe("rotten_tomatoes", {"units": 2, "embedding_dim": 4}),
    "language_model": ModelRecipe("char_text", {"units": 4, "embedding_dim": 4}),
    "numpy_rnn": ModelRecipe("poems", {"units": 4}),
    "text_cnn": ModelRecipe("text_csv", {"filters": 2, "window": 3, "conv_layers": 1, "embedding_dim": 4}),
    "text_rnn": ModelRecipe("wordnet_topics", {"units": 2, "embedding_dim": 4}),
}


def recipe(recipes: dict, kind: str, name: str):
    if name not in recipes:
        pytest.fail(
            f"built-in {kind} {name!r} has no tiny-data recipe: add one to {kind.upper()}S in {__file__}"
        )
    return recipes[name]


@pytest.fixture
def tiny_data(tmp_path, monkeypatch):
    """``load(name) -> (plugin, fixed, data_dir)``: a built-in dataset over its tiny files."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)

    def load(name: str):
        made = recipe(DATASETS, "dataset", name)
        folder = tmp_path / name
        folder.mkdir()
        made.write(folder)
        return BUILT_IN["dataset"][name].load(), made.fixed, folder

    return load


# --- the built-ins ---------------------------------------------------------------------------


def test_every_built_in_plugin_has_a_recipe_and_every_recipe_a_plugin():
    for kind in KINDS:
        assert BUILT_IN[kind], (
            f"no {kind} entry points of the rnnstudy distribution: is it installed (pip install -e .)?"
        )
    for kind, recipes in (("dataset", DATASETS), ("model", MODELS)):
        missing = sorted(set(BUILT_IN[kind]) - set(recipes))
        assert not missing, f"built-in {kind}s without a tiny-data recipe here: {', '.join(missing)}"
        stale = sorted(set(recipes) - set(BUILT_IN[kind]))
        assert not stale, f"recipes for {kind}s that are no longer built in: {', '.join(stale)}"
    assert {r.dataset for r in MODELS.values()} <= set(DATASETS)


@pytest.mark.parametrize("name", sorted(BUILT_IN["dataset"]))
def test_built_in_dataset_keeps_the_contract(name, tiny_data):
    load, fixed, folder = tiny_data(name)
    data = check_dataset(load, fixed, folder, name=name)
    assert sum(data.sizes().values()) < 2000  # the recipe is tiny


@pytest.mark.parametrize("name", sorted(BUILT_IN["model"]))
def test_built_in_model_keeps_the_contract(name, tiny_data):
    made = recipe(MODELS, "model", name)
    load, fixed, folder = tiny_data(made.dataset)
    data = check_dataset(load, fixed, folder, name=made.dataset).limit(made.samples)
    built = check_model(BUILT_IN["model"][name].load(), data, {**TRAINING, **made.fixed}, name=name)
    assert built.model.count_params() < 50_000  # the recipe is small


@pytest.mark.parametrize("name", sorted(BUILT_IN["optimizer"]))
def test_built_in_optimizer_keeps_the_contract(name):
    check_optimizer(BUILT_IN["optimizer"][name].load(), name=name)
    check_optimizer(BUILT_IN["optimizer"][name].load(), {"learning_rate": 0.05, "clipnorm": 1.0}, name=name)


# --- the checks fail for broken plugins ------------------------------------------------------

INFO = {"input_shape": (2,), "num_classes": 2, "loss": "sparse_categorical_crossentropy"}


def tiny(info=INFO, y=None) -> Data:
    x = np.arange(24, dtype=np.float32).reshape(12, 2)
    y = np.array([0, 1] * 6) if y is None else y
    return Data(x[:8], y[:8], x[8:10], y[8:10], x[10:], y[10:], dict(info))


def good_dataset(hp, *, data_dir=None):
    hp.Int("rows", 1, 100, default=12)
    return tiny()


class Scripted:
    """A model that is not Keras and keeps the contract: the runner's non-Keras protocol."""

    stop_training = False

    def __init__(self, info):
        self.info = info

    def build(self, hp):
        self.quality = hp.Float("quality", 0.0, 1.0, default=0.5)
        return self

    def fit(self, hp, model, *, x, y, validation_data, epochs, batch_size, callbacks, verbose):
        for callback in callbacks:
            callback.set_model(model)
        for epoch in range(epochs):
            logs = {"loss": 1 - self.quality, "val_loss": 1 - self.quality, "val_accuracy": self.quality}
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if model.stop_training:
                break

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=True):
        return {"loss": 1 - self.quality, "accuracy": self.quality}

    def predict(self, x, batch_size=None, verbose=0):
        return np.full((len(x), 2), 0.5)

    def count_params(self):
        return 1


def uneven(hp, *, data_dir=None):
    data = tiny()
    data.y_train = data.y_train[:-1]
    return data


def without_loss(hp, *, data_dir=None):
    return tiny({"input_shape": (2,), "num_classes": 2})


def labels_beyond_the_classes(hp, *, data_dir=None):
    return tiny(y=np.arange(12))


def random_each_call(hp, *, data_dir=None):
    data = tiny()
    data.x_train = np.random.default_rng().random((8, 2))
    return data


def without_data_dir(hp):
    return tiny()


class NoFitHook(Scripted):
    fit = None


class NoCallbacks(Scripted):
    def fit(self, hp, model, *, x, y, validation_data, epochs, batch_size, callbacks, verbose):
        pass


class IgnoresStop(Scripted):
    def fit(self, hp, model, *, x, y, validation_data, epochs, batch_size, callbacks, verbose):
        for callback in callbacks:
            callback.set_model(model)
        for epoch in range(epochs):
            for callback in callbacks:
                callback.on_epoch_end(epoch, {"loss": 0.5, "val_loss": 0.5})


class StrayArtifacts(Scripted):
    def artifacts(self, model, data, directory):
        (Path(directory) / "fine.txt").write_text("inside")
        Path("stray.txt").write_text("outside: the working directory")


class NoCount(Scripted):
    def count_params(self):
        return 0


def without_learning_rate(hp):
    import keras

    return keras.optimizers.SGD(0.1)


def ignores_learning_rate(hp):
    import keras

    hp.Float("learning_rate", 1e-6, 1.0, sampling="log", default=0.01)
    return keras.optimizers.SGD(0.01)


def not_an_optimizer(hp):
    hp.Float("learning_rate", 1e-6, 1.0, sampling="log", default=0.01)
    return "sgd"


BROKEN = {
    "uneven": (check_dataset, uneven, None, r"dataset 'uneven': x_train has 8 samples but y_train 7"),
    "without_loss": (check_dataset, without_loss, None, r"dataset 'without_loss': info\['loss'\] is not set"),
    "labels_beyond_the_classes": (
        check_dataset,
        labels_beyond_the_classes,
        None,
        r"y_train has labels from 0 to 7, outside 0\.\.1",
    ),
    "random_each_call": (check_dataset, random_each_call, None, r"a second call .* gave a different x_train"),
    "without_data_dir": (
        check_dataset,
        without_data_dir,
        None,
        r"cannot be called as load\(hp, \*, data_dir",
    ),
    "misspelt": (check_dataset, good_dataset, {"rowz": 3}, r"the values given for rowz were never declared"),
    "NoFitHook": (
        check_model,
        NoFitHook,
        None,
        r"model 'NoFitHook': build\(hp\) made a NoFitHook, not a keras",
    ),
    "NoCallbacks": (check_model, NoCallbacks, None, r"model 'NoCallbacks': fit never called .*on_epoch_end"),
    "IgnoresStop": (
        check_model,
        IgnoresStop,
        None,
        r"fit ran 2 epochs after a callback set model.stop_training",
    ),
    "StrayArtifacts": (check_model, StrayArtifacts, None, r"wrote outside the directory: stray.txt"),
    "NoCount": (check_model, NoCount, None, r"count_params\(\) is 0"),
    "without_learning_rate": (
        check_optimizer,
        without_learning_rate,
        None,
        r"does not declare learning_rate",
    ),
    "ignores_learning_rate": (
        check_optimizer,
        ignores_learning_rate,
        None,
        r"learning_rate is 0.01.*when the study",
    ),
    "not_an_optimizer": (check_optimizer, not_an_optimizer, None, r"returned a str, not a keras.optimizers"),
}


def test_a_plugin_that_keeps_the_contract_passes():
    data = check_dataset(good_dataset, name="good")
    check_model(Scripted, data, name="scripted")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_plugin_fails_the_checks_with_a_clear_message(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check, plugin, hp, message = BROKEN[case]
    args = (tiny(),) if check is check_model else ()
    with pytest.raises(AssertionError, match=message) as failed:
        check(plugin, *args, hp) if args else check(plugin, hp)
    assert str(failed.value).startswith(("dataset '", "model '", "optimizer '")), failed.value
    assert not any(tmp_path.iterdir()), "the checks leave the working directory alone"
