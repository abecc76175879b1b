"""Surnames and their language (seed 004): a name's characters in, its language out.

The hyperparameter ``names`` picks the source:

- ``"faker"`` (default, offline): the surnames Faker ships for one locale per language of the
  PyTorch tutorial that it has in Latin script — 12 languages, about 11k names;
- ``"tutorial"``: the PyTorch tutorial "Classifying Names with a Character-Level RNN" files,
  one ``Language.txt`` per language (18 languages, 20k names), from ``--data-dir`` (the files
  themselves, or ``names/`` or ``data/names/`` inside it), Keras' cache, or downloaded.

Names are stripped of accents as the tutorial does (é → e; ł stays). They are shuffled with
``split_seed`` and split 80/10/10 %. Characters come from the training names only: id 0 pads,
id 1 is any character first seen in validation or test. Each name is padded at the end to
``max_length`` (0: the longest training name) and longer ones are cut.
"""

from __future__ import annotations

import functools
import importlib
import unicodedata
import zipfile
from pathlib import Path

import numpy as np

from rnnstudy.data import Data, not_found, split, user_data_dir
from rnnstudy_plugins.datasets.vocabulary import UNKNOWN_CHAR, Vocabulary

# language -> (Faker locale, the Provider attribute holding its surnames)
FAKER = {
    "Chinese": ("zh_CN", "last_romanized_names"),
    "Czech": ("cs_CZ", "last_names"),
    "Dutch": ("nl_NL", "last_names"),
    "English": ("en_GB", "last_names"),
    "French": ("fr_FR", "last_names"),
    "German": ("de_DE", "last_names"),
    "Irish": ("ga_IE", "last_names"),
    "Italian": ("it_IT", "last_names"),
    "Japanese": ("ja_JP", "last_romanized_names"),
    "Polish": ("pl_PL", "unisex_last_names"),
    "Portuguese": ("pt_PT", "last_names"),
    "Spanish": ("es_ES", "last_names"),
}
TUTORIAL_URL = "https://download.pytorch.org/tutorial/data.zip"
KERAS_CACHE = Path.home() / ".keras" / "datasets" / "data" / "names"
PAD = ""
FRACTIONS = (0.8, 0.1, 0.1)


def load(hp, *, data_dir=None) -> Data:
    """Padded character ids and language ids; ``info`` has the vocabulary and language names."""
    source = hp.Choice("names", ["faker", "tutorial"], default="faker")
    split_seed = hp.Int("split_seed", 0, 2**31 - 1, default=0)
    max_length = hp.Int("max_length", 0, 1000, default=0)  # 0: the longest training name

    by_language = _faker() if source == "faker" else _files(_tutorial_dir(user_data_dir(data_dir)))
    languages = tuple(sorted(by_language))
    names = np.array([n for lang in languages for n in by_language[lang]], dtype=object)
    labels = np.array([i for i, lang in enumerate(languages) for _ in by_language[lang]], dtype=np.int64)
    parts = split(names, labels, FRACTIONS, split_seed)

    vocabulary = Vocabulary.build("".join(parts[0][0]), unknown=UNKNOWN_CHAR, reserved=(PAD,))
    length = max_length or max(len(n) for n in parts[0][0])
    arrays = []
    for part_names, part_labels in parts:
        x = np.zeros((len(part_names), length), dtype=vocabulary.dtype)  # 0 is the padding id
        for row, name in enumerate(part_names):
            ids = vocabulary.encode(name[:length])
            x[row, : len(ids)] = ids
        arrays += [x, part_labels]
    info = {
        "input_shape": (length,),
        "num_classes": len(languages),
        "loss": "sparse_categorical_crossentropy",
        "vocabulary": vocabulary.tokens,
        "class_names": languages,
    }
    return Data(*arrays, info)


def _plain(name: str) -> str:
    """Accents dropped (the tutorial's unicodeToAscii), other letters kept."""
    return "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn").strip()


@functools.cache
def _faker() -> dict[str, tuple[str, ...]]:
    found = {}
    for language, (locale, attribute) in FAKER.items():
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        found[language] = _unique(_plain(n) for n in getattr(provider, attribute))
    return found


def _tutorial_dir(user: Path | None) -> Path:
    looked = [user, user / "names", user / "data" / "names"] if user else []
    for folder in [*looked, KERAS_CACHE]:
        if folder.is_dir() and any(folder.glob("*.txt")):
            return folder
    try:
        return _download()
    except Exception:  # any download failure means "not here"
        raise not_found(
            "names by language (PyTorch tutorial)",
            [*looked, KERAS_CACHE],
            "unpack the tutorial's data.zip and pass --data-dir FOLDER (holding data/names/*.txt); "
            "offline, use names='faker'",
        ) from None


def _download() -> Path:
    """The original: the tutorial's data.zip into Keras' cache; fails fast when offline."""
    import keras

    archive = keras.utils.get_file("names_tutorial.zip", TUTORIAL_URL)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(KERAS_CACHE.parent.parent)
    return KERAS_CACHE


@functools.cache
def _files(folder: Path) -> dict[str, tuple[str, ...]]:
    """One language per ``Language.txt``, one name per line."""
    return {
        p.stem: _unique(_plain(line) for line in p.read_text(encoding="utf-8").splitlines())
        for p in sorted(folder.glob("*.txt"))
    }


def _unique(names) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))
