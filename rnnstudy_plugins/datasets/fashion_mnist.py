"""Fashion-MNIST: 60,000 + 10,000 grey images of 28×28 in 10 classes.

The offline stand-in for CIFAR-10 (seed 003). Looked for in this order: ``--data-dir`` or
``$RNNSTUDY_DATA_DIR`` (holding the four ``*-ubyte.gz`` files), Debian's
``dataset-fashion-mnist`` package, then Keras' own download.
"""

import functools
import gzip
from pathlib import Path

import numpy as np

from rnnstudy.data import Data, find, hold_out, not_found, user_data_dir

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
HOW = "install it with `apt-get install -y dataset-fashion-mnist`, or pass --data-dir FOLDER"


def load(hp, *, data_dir=None) -> Data:
    """Fashion-MNIST as 28×28×1 uint8 images, ``validation_samples`` held out from training."""
    validation = hp.Int("validation_samples", 1, 59_999, default=5_000)
    x_train, y_train, x_test, y_test = _read(_locate(data_dir))
    info = {
        "input_shape": (28, 28, 1),
        "num_classes": 10,
        "loss": "sparse_categorical_crossentropy",
        "class_names": CLASSES,
    }
    return hold_out(x_train, y_train, x_test, y_test, validation, info)


def _locate(data_dir):
    user = user_data_dir(data_dir)
    candidates = [user, DEBIAN] if user else [DEBIAN]
    found = find(p for p in candidates if (p / FILES[0]).exists())
    if found is not None:
        return found
    try:  # the original download; fails fast when offline
        import keras

        return keras.datasets.fashion_mnist.load_data()
    except Exception:  # any download failure means "not here"
        raise not_found("Fashion-MNIST", candidates, HOW) from None


@functools.cache
def _read(source):
    if not isinstance(source, Path):  # Keras' loader already returned the arrays
        (x_train, y_train), (x_test, y_test) = source
        return x_train[..., None], y_train.astype(np.int64), x_test[..., None], y_test.astype(np.int64)

    def idx(name: str, offset: int) -> np.ndarray:
        return np.frombuffer(gzip.open(source / name).read(), np.uint8, offset=offset)

    x_train, y_train = idx(FILES[0], 16).reshape(-1, 28, 28, 1), idx(FILES[1], 8).astype(np.int64)
    x_test, y_test = idx(FILES[2], 16).reshape(-1, 28, 28, 1), idx(FILES[3], 8).astype(np.int64)
    return x_train, y_train, x_test, y_test
