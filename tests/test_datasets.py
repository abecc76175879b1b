"""The image datasets read their real file formats; tests write tiny files in those formats."""

import gzip
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest

from rnnstudy.errors import DataNotFoundError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import cifar10, fashion_mnist


def cifar_batch(n: int, label: int) -> bytes:
    images = np.zeros((n, 3, 32, 32), np.uint8)
    images[:, 0] = 200  # red channel first in the file: must end up last after loading
    return pickle.dumps({b"data": images.reshape(n, -1), b"labels": [label] * n})


def write_cifar_archive(path):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [
            *((f"data_batch_{i}", cifar_batch(4, i)) for i in range(1, 6)),
            ("test_batch", cifar_batch(3, 9)),
        ]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_cifar10_reads_the_original_archive_from_the_data_dir(tmp_path):
    write_cifar_archive(tmp_path / "cifar-10-python.tar.gz")
    data = cifar10.load(HyperParameters(fixed={"validation_samples": 5}), data_dir=tmp_path)
    assert data.x_train.shape == (15, 32, 32, 3) and data.x_train.dtype == np.uint8
    assert (data.x_train[..., 0] == 200).all() and (data.x_train[..., 1:] == 0).all()
    assert data.sizes() == {"n_train": 15, "n_val": 5, "n_test": 3}
    assert list(data.y_val) == [4, 5, 5, 5, 5] and set(data.y_test) == {9}
    assert data.info["input_shape"] == (32, 32, 3) and data.info["num_classes"] == 10


def test_cifar10_missing_everywhere_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10, "KERAS_CACHE", tmp_path / "no-cache")
    import keras

    monkeypatch.setattr(
        keras.datasets.cifar10, "load_data", lambda: (_ for _ in ()).throw(OSError("offline"))
    )
    with pytest.raises(
        DataNotFoundError, match=r"CIFAR-10 data not found \(looked in .*cifar-10-python.tar.gz"
    ):
        cifar10.load(HyperParameters(), data_dir=tmp_path)


def write_idx(path, array: np.ndarray):
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def test_fashion_mnist_reads_idx_files_from_the_data_dir(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 4)):
        write_idx(
            tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)
        )
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    fashion_mnist._read.cache_clear()
    data = fashion_mnist.load(HyperParameters(fixed={"validation_samples": 2}), data_dir=tmp_path)
    assert data.x_train.shape == (10, 28, 28, 1)
    assert list(data.y_val) == [0, 1] and list(data.y_test) == [0, 1, 2, 3]


def test_a_seeded_training_sample_leaves_validation_and_test_alone(tmp_path):
    write_cifar_archive(tmp_path / "cifar-10-python.tar.gz")
    data = cifar10.load(HyperParameters(fixed={"validation_samples": 5}), data_dir=tmp_path)
    a, b, c = data.sample_train(6, seed=1), data.sample_train(6, seed=1), data.sample_train(6, seed=2)
    assert list(a.y_train) == list(b.y_train) and a.sizes()["n_train"] == 6
    assert list(a.y_train) != list(c.y_train) or list(a.x_train.ravel()) != list(c.x_train.ravel())
    assert a.y_val is data.y_val and a.y_test is data.y_test
    with pytest.raises(DataNotFoundError, match="train_samples=99 is more than the 15"):
        data.sample_train(99, seed=0)
