"""Labelled documents as padded token ids: what every text-classification dataset shares.

A text dataset plugin reads its raw documents (cached), splits them once with a fixed seed,
and hands them to :func:`encode`, which declares the tokenisation hyperparameters:

- ``level``: "word" (lower-cased runs of letters and digits, as GloVe's tokens are) or
  "char" (every character, case kept);
- ``max_length``: tokens kept from the start of each document; shorter ones are padded with 0;
- ``vocabulary_size``: rows of the embedding, padding and the unknown token included
  (10,000 in seed 000); the most frequent tokens of the training split fill it;
- ``glove_dims``: 0, or the size of the GloVe vectors to align with the vocabulary
  (``info["embedding_matrix"]``; see :mod:`rnnstudy_plugins.datasets.glove`).

The vocabulary is counted on the whole training split, before a study's ``train_samples``
draws its few examples, as Keras' ``Tokenizer`` was fitted in the seed: the unlabelled text is
not what a small-sample experiment is short of, and a fixed vocabulary keeps the models of
every size alike. Validation and test are never counted.
"""

from __future__ import annotations

import collections
import functools
import re
from dataclasses import dataclass

import numpy as np

from rnnstudy.data import Data
from rnnstudy.errors import SearchSpaceError
from rnnstudy_plugins.datasets import glove

PAD, UNKNOWN = "", "[UNK]"  # ids 0 and 1, as Keras' TextVectorization numbers them
SPLIT_SEED = 0  # the split never follows the trial's seed: validation and test stay fixed
WORD = re.compile(r"\w+")
MARKUP = re.compile(r"<[^>]+>")  # IMDB reviews carry <br /> tags


@dataclass(frozen=True, eq=False)
class Corpus:
    """Raw documents already split; ``labels`` are class ids, ``classes`` their names.

    Compared by identity, so a cached corpus keys the cache of its encodings.
    """

    name: str
    train: tuple[list[str], np.ndarray]
    val: tuple[list[str], np.ndarray]
    test: tuple[list[str], np.ndarray]
    classes: tuple[str, ...]


def split_corpus(name: str, texts: list[str], labels, classes, fractions=(0.8, 0.1, 0.1)) -> Corpus:
    """Shuffle with the fixed :data:`SPLIT_SEED` and cut into train, validation and test."""
    labels = np.asarray(labels)
    rows = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    n_train = int(round(fractions[0] * len(labels)))
    n_val = int(round(fractions[1] * len(labels)))
    parts = rows[:n_train], rows[n_train : n_train + n_val], rows[n_train + n_val :]
    train, val, test = (([texts[i] for i in p], labels[p]) for p in parts)
    return Corpus(name, train, val, test, tuple(classes))


def hold_out_corpus(name: str, train, test, classes, validation: int) -> Corpus:
    """A corpus that ships train and test: ``validation`` shuffled training documents validate."""
    texts, labels = train[0], np.asarray(train[1])
    if not 0 < validation < len(labels):
        raise SearchSpaceError(
            f"validation_samples={validation} must be between 1 and {len(labels) - 1} for {name}"
        )
    rows = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    keep, held = rows[validation:], rows[:validation]
    return Corpus(
        name,
        ([texts[i] for i in keep], labels[keep]),
        ([texts[i] for i in held], labels[held]),
        (list(test[0]), np.asarray(test[1])),
        tuple(classes),
    )


def encode(hp, corpus: Corpus, *, data_dir=None) -> Data:
    """Declare the tokenisation hyperparameters and return the corpus as padded token ids."""
    level = hp.Choice("level", ["word", "char"], default="word")
    max_length = hp.Int("max_length", 1, 100_000, default=100)
    vocabulary_size = hp.Int("vocabulary_size", 3, 10_000_000, default=10_000)
    glove_dims = hp.Int("glove_dims", 0, 4096, default=0)
    if glove_dims and level != "word":
        raise SearchSpaceError(
            f"glove_dims={glove_dims} with level={level!r}: GloVe has word vectors only; "
            "use level='word' or glove_dims=0"
        )
    vocabulary, x_train, x_val, x_test = _encoded(corpus, level, max_length, vocabulary_size)
    binary = len(corpus.classes) == 2
    info = {
        "input_shape": (max_length,),
        "num_classes": len(corpus.classes),
        "loss": "binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        "class_names": corpus.classes,
        "level": level,
        "vocabulary": vocabulary,
        "params": {"vocabulary_tokens": len(vocabulary)},  # logged with the trial
    }
    if glove_dims:
        found = glove.align(vocabulary[2:], glove_dims, data_dir=data_dir)
        info["embedding_matrix"] = np.concatenate([np.zeros((2, glove_dims), np.float32), found.matrix])
        info["params"].update(
            glove_source=found.source,
            glove_missing_words=len(found.missing),
            glove_missing_pct=round(100 * len(found.missing) / max(len(vocabulary) - 2, 1), 2),
            glove_missing_examples=" ".join(found.missing[:30]),
        )
    label_type = np.float32 if binary else np.int64  # a sigmoid output compares with floats
    return Data(
        x_train,
        corpus.train[1].astype(label_type),
        x_val,
        corpus.val[1].astype(label_type),
        x_test,
        corpus.test[1].astype(label_type),
        info,
    )


def tokens(text: str, level: str) -> list[str]:
    """A document as word tokens (lower case, markup and punctuation dropped) or characters."""
    if level == "char":
        return list(text)
    return WORD.findall(MARKUP.sub(" ", text).lower())


@functools.cache
def _encoded(corpus: Corpus, level: str, max_length: int, vocabulary_size: int):
    """The vocabulary and the three splits as int32 arrays; cached: trials share them."""
    train_tokens = [tokens(t, level) for t in corpus.train[0]]
    counts = collections.Counter(token for doc in train_tokens for token in doc)
    words = [w for w, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    vocabulary = [PAD, UNKNOWN, *words[: vocabulary_size - 2]]
    index = {token: i for i, token in enumerate(vocabulary)}

    def ids(docs) -> np.ndarray:
        out = np.zeros((len(docs), max_length), np.int32)
        for row, doc in enumerate(docs):
            kept = [index.get(token, 1) for token in doc[:max_length]]
            out[row, : len(kept)] = kept
        return out

    x_val = ids([tokens(t, level) for t in corpus.val[0]])
    x_test = ids([tokens(t, level) for t in corpus.test[0]])
    return tuple(vocabulary), ids(train_tokens), x_val, x_test
