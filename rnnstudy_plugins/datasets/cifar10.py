"""CIFAR-10: 50,000 + 10,000 colour images of 32×32 in 10 classes (seed 003, Part A).

Looked for in this order: the folder given by ``--data-dir`` or ``$RNNSTUDY_DATA_DIR``
(holding ``cifar-10-python.tar.gz`` or ``cifar-10-batches-py/``), Keras' cache
(``~/.keras/datasets``), then Keras' own download. Pixels stay uint8; the model rescales.
"""

import functools
import pickle
import tarfile
from pathlib import Path

import numpy as np

from rnnstudy.data import Data, hold_out, not_found, user_data_dir

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
KERAS_CACHE = Path.home() / ".keras" / "datasets" / FOLDER
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
HOW = (
    f"download {ARCHIVE} from the CIFAR-10 home page into a folder and pass --data-dir FOLDER "
    "(or set RNNSTUDY_DATA_DIR); offline, run the same study on Fashion-MNIST "
    "(studies/fashion_channels.py)"
)


def load(hp, *, data_dir=None) -> Data:
    """CIFAR-10 with ``validation_samples`` held out from the end of the training set."""
    validation = hp.Int("validation_samples", 1, 49_999, default=5_000)
    x_train, y_train, x_test, y_test = _read(_locate(data_dir))
    info = {
        "input_shape": (32, 32, 3),
        "num_classes": 10,
        "loss": "sparse_categorical_crossentropy",
        "class_names": CLASSES,
    }
    return hold_out(x_train, y_train, x_test, y_test, validation, info)


def _locate(data_dir) -> Path:
    user = user_data_dir(data_dir)
    candidates = [user / ARCHIVE, user / FOLDER, user] if user else []
    candidates.append(KERAS_CACHE)
    for path in candidates:
        if path.is_file() or (path / "data_batch_1").exists():
            return path
    try:  # the original download; fails fast when offline
        import keras

        keras.datasets.cifar10.load_data()
        return KERAS_CACHE
    except Exception:  # any download failure means "not here"
        raise not_found("CIFAR-10", candidates, HOW) from None


@functools.cache
def _read(source: Path):
    """(x_train, y_train, x_test, y_test) from the archive or its extracted folder."""
    if source.is_file():
        with tarfile.open(source) as tar:
            members = {Path(m.name).name: m for m in tar.getmembers()}
            batches = {
                n: pickle.load(tar.extractfile(members[n]), encoding="bytes")
                for n in members
                if n.startswith(("data_batch_", "test_batch"))
            }
    else:
        batches = {
            p.name: pickle.loads(p.read_bytes(), encoding="bytes")
            for p in source.iterdir()
            if p.name.startswith(("data_batch_", "test_batch"))
        }
    train = [batches[f"data_batch_{i}"] for i in range(1, 6) if f"data_batch_{i}" in batches]
    test = batches["test_batch"]
    return (*_arrays(train), *_arrays([test]))


def _arrays(batches):
    x = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.concatenate([np.asarray(b[b"labels"], dtype=np.int64) for b in batches])
    return np.ascontiguousarray(x, dtype=np.uint8), y
