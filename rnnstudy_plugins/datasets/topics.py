"""Topic classification of short texts into 15 classes (seed 003, Part B).

- ``text_csv``: the original kind of data, e.g. DBpedia's or the assignment's Wikipedia first
  paragraphs: ``train.csv`` and, if there is one, ``test.csv`` in ``--data-dir`` (or
  ``$RNNSTUDY_DATA_DIR``). Each row is ``label,text`` or, as DBpedia has it,
  ``label,title,text`` (the text columns are joined); a first row ``label,...`` is a header.
  With ``test.csv`` a tenth of the training rows validate; without it the rows are split
  80 / 10 / 10. The split seed is fixed.
- ``wordnet_topics``: the offline stand-in, WordNet's noun definitions ("headword: gloss")
  labelled by their lexicographer file (noun.artifact, noun.person, ...), from Debian's
  ``wordnet-base`` or a ``data.noun`` in the data folder. The ``num_topics`` largest files
  (15) are kept, ``samples_per_topic`` definitions of each (0: as many as the smallest has, so
  the classes are balanced as DBpedia's are), then split 80 / 10 / 10 with a fixed seed.

Tokenisation, vocabulary and GloVe are hyperparameters of both (see ``documents``).
"""

import collections
import functools
from pathlib import Path

import numpy as np

from rnnstudy.data import Data, not_found, user_data_dir
from rnnstudy.errors import DataNotFoundError, SearchSpaceError
from rnnstudy_plugins.datasets import documents

WORDNET = Path("/usr/share/wordnet/data.noun")
WORDNET_HOW = "install it with `apt-get install -y wordnet-base`, or put WordNet's data.noun in --data-dir"
NOUN_FILES = (  # lexicographer files 03..28 (WordNet's lexnames)
    "Tops act animal artifact attribute body cognition communication event feeling food group "
    "location motive object person phenomenon plant possession process quantity relation shape "
    "state substance time"
).split()
CSV_HOW = (
    "put train.csv (rows: label,text) and optionally test.csv in a folder and pass --data-dir FOLDER "
    "(or set RNNSTUDY_DATA_DIR); offline, use the wordnet_topics dataset"
)
HEADER_WORDS = {"label", "labels", "class", "category", "topic"}


def wordnet_topics(hp, *, data_dir=None) -> Data:
    """WordNet noun definitions labelled by topic."""
    num_topics = hp.Int("num_topics", 2, len(NOUN_FILES), default=15)
    per_topic = hp.Int("samples_per_topic", 0, 1_000_000, default=0)
    corpus = _wordnet_corpus(_locate_wordnet(data_dir), num_topics, per_topic)
    return documents.encode(hp, corpus, data_dir=data_dir)


def text_csv(hp, *, data_dir=None) -> Data:
    """Labelled texts from ``train.csv`` (and ``test.csv``) in the data folder."""
    user = user_data_dir(data_dir)
    train = user / "train.csv" if user else None
    if train is None or not train.is_file():
        raise not_found("text CSV", [train], CSV_HOW)
    test = user / "test.csv"
    return documents.encode(hp, _csv_corpus(train, test if test.is_file() else None), data_dir=data_dir)


def _locate_wordnet(data_dir) -> Path:
    user = user_data_dir(data_dir)
    candidates = [user / "data.noun", WORDNET] if user else [WORDNET]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise not_found("WordNet", candidates, WORDNET_HOW)
    return found


@functools.cache
def _wordnet_rows(path: Path) -> list[tuple[str, str]]:
    """(topic, "headword: gloss") for every synset of ``data.noun``; its licence lines start with spaces."""
    rows = []
    with open(path, encoding="latin-1") as lines:
        for line in lines:
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            rows.append((NOUN_FILES[int(fields[1]) - 3], f"{fields[4].replace('_', ' ')}: {gloss.strip()}"))
    return rows


@functools.cache
def _wordnet_corpus(path: Path, num_topics: int, per_topic: int) -> documents.Corpus:
    rows = _wordnet_rows(path)
    counts = collections.Counter(topic for topic, _ in rows)
    if num_topics > len(counts):
        raise SearchSpaceError(f"num_topics={num_topics}: {path} has only {len(counts)} topics")
    topics = sorted(t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:num_topics])
    per_topic = per_topic or min(counts[t] for t in topics)
    rng = np.random.default_rng(documents.SPLIT_SEED)
    texts, labels = [], []
    for label, topic in enumerate(topics):
        mine = [text for t, text in rows if t == topic]
        for i in sorted(rng.permutation(len(mine))[:per_topic]):
            texts.append(mine[i])
            labels.append(label)
    return documents.split_corpus("WordNet topics", texts, labels, topics)


@functools.cache
def _csv_corpus(train: Path, test: Path | None) -> documents.Corpus:
    train_texts, train_labels = _csv_rows(train)
    test_texts, test_labels = _csv_rows(test) if test else ([], [])
    classes = _classes(train_labels + test_labels)
    index = {c: i for i, c in enumerate(classes)}
    if test is None:
        return documents.split_corpus(
            train.parent.name, train_texts, [index[c] for c in train_labels], classes
        )
    return documents.hold_out_corpus(
        train.parent.name,
        (train_texts, np.array([index[c] for c in train_labels])),
        (test_texts, np.array([index[c] for c in test_labels])),
        classes,
        validation=max(len(train_labels) // 10, 1),
    )


def _csv_rows(path: Path) -> tuple[list[str], list[str]]:
    import pandas as pd

    frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="utf-8")
    if frame.shape[1] < 2:
        raise DataNotFoundError(f"{path} has {frame.shape[1]} column(s); each row must be label,text")
    if str(frame.iloc[0, 0]).strip().lower() in HEADER_WORDS:
        frame = frame.iloc[1:]
    texts = frame.iloc[:, 1:].astype(str).agg(" ".join, axis=1).str.strip().tolist()
    return texts, frame.iloc[:, 0].str.strip().tolist()


def _classes(labels: list[str]) -> tuple[str, ...]:
    """The distinct labels, in numeric order when they are all numbers (DBpedia's 1..14)."""
    distinct = set(labels)
    numeric = all(label.lstrip("-").isdigit() for label in distinct)
    return tuple(sorted(distinct, key=int if numeric else str))
