"""Poems for next-word prediction (seed 001): ``sequence_length`` words in (5 in the report),
the next word out.

The hyperparameter ``poems`` names the collection:

- ``"sonnets"``: Shakespeare's 154 sonnets from the package ``shakespeare`` (17.5k words);
  ``poem_count=100`` keeps the first 100, the report's number of poems;
- ``NAME``, for a folder ``NAME/`` in ``--data-dir`` holding one poem per ``.txt`` file, or a
  file ``NAME.txt`` there holding poems separated by blank lines.

Words are lower-cased runs of letters (with inner apostrophes: "beauty's"). Whole poems are
split 80/10/10 % at random with ``split_seed``; windows never cross from one poem into the
next. The vocabulary comes from the training poems; other words become ``<unk>``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from rnnstudy.data import Data, not_found, split, user_data_dir
from rnnstudy.errors import SearchSpaceError
from rnnstudy_plugins.datasets import shakespeare
from rnnstudy_plugins.datasets.vocabulary import UNKNOWN_WORD, Vocabulary, next_token_windows

WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
FRACTIONS = (0.8, 0.1, 0.1)


def load(hp, *, data_dir=None) -> Data:
    """Windows of words from the chosen poems; ``info`` carries the vocabulary."""
    user = user_data_dir(data_dir)
    source = hp.Choice("poems", ["sonnets", *_user_collections(user)], default="sonnets")
    poem_count = hp.Int("poem_count", 0, 10**7, default=0)  # 0: every poem
    sequence_length = hp.Int("sequence_length", 1, 1000, default=5)
    split_seed = hp.Int("split_seed", 0, 2**31 - 1, default=0)

    poems = _read(_locate(source, user))
    poems = poems[:poem_count] if poem_count else poems
    if len(poems) < 3:
        raise SearchSpaceError(
            f"poems={source!r} has {len(poems)} poem(s); train, validation and test need 3"
        )
    numbers = np.arange(len(poems))
    parts = [p for p, _ in split(numbers, numbers, FRACTIONS, split_seed)]
    words = [[w for i in part for w in _words(poems[i])] for part in parts]
    vocabulary = Vocabulary.build(words[0], unknown=UNKNOWN_WORD)

    splits = []
    for part in parts:
        windows = [next_token_windows(vocabulary.encode(_words(poems[i])), sequence_length) for i in part]
        x = np.concatenate([w[0] for w in windows])
        y = np.concatenate([w[1] for w in windows])
        if not len(y):
            raise SearchSpaceError(
                f"sequence_length={sequence_length}: no poem of a split of {source!r} is longer than that"
            )
        splits += [x, y]
    info = {
        "input_shape": (sequence_length,),
        "num_classes": len(vocabulary),
        "loss": "sparse_categorical_crossentropy",
        "vocabulary": vocabulary.tokens,
        "separator": " ",  # tokens are words
        "sequence_length": sequence_length,
    }
    return Data(*splits, info)


def _words(poem: str) -> list[str]:
    return WORD.findall(poem.lower())


def _user_collections(user: Path | None) -> list[str]:
    if user is None or not user.is_dir():
        return []
    return sorted({p.stem for p in user.glob("*.txt")} | {p.name for p in user.iterdir() if p.is_dir()})


def _locate(source: str, user: Path | None) -> Path:
    """A folder of poems, a file of poems, or the package's folder of texts (for the sonnets)."""
    looked = [user / source, user / f"{source}.txt"] if user else []
    for path in looked:
        if path.exists():
            return path
    folder = shakespeare.texts_dir()
    if folder is None:
        raise not_found(
            "Shakespeare's sonnets", [*looked, Path("shksprdata")], f"{shakespeare.INSTALL}, or --data-dir"
        )
    return folder


@functools.cache
def _read(path: Path) -> tuple[str, ...]:
    if path == shakespeare.texts_dir():
        return shakespeare.sonnets(path)
    if path.is_dir():
        files = sorted(path.glob("*.txt"))
        return tuple(p.read_text(encoding="utf-8", errors="replace").strip() for p in files)
    text = path.read_text(encoding="utf-8", errors="replace")
    return tuple(p.strip() for p in re.split(r"\n\s*\n", text) if p.strip())
