"""Shared fixtures: a throwaway plugin distribution, a clean working directory, and a tiny
real study (real Keras training, Optuna journal, MLflow SQLite) run once per session.

The distribution is a real one as far as ``importlib.metadata`` is concerned (a ``.dist-info``
folder with ``entry_points.txt`` on the path), so it is found exactly as a pip-installed
third-party plugin would be, by the test process and by the worker processes it spawns.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rnnstudy import registry

PLUGIN_MODULE = '''
"""Tiny plugins for tests: learnable 28x28 images, a small MLP and a scripted fake model."""

import numpy as np
import keras
import keras_tuner

from rnnstudy import Data


def tiny_images(hp, *, data_dir=None):
    """Bright or dark images: learnable in an epoch or two."""
    n = hp.Int("tiny_samples", 8, 10_000, default=96)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=n)
    x = (rng.random((n, 28, 28, 1)) * 100 + 120 * y[:, None, None, None]).astype("uint8")
    info = {"input_shape": (28, 28, 1), "num_classes": 2, "loss": "sparse_categorical_crossentropy"}
    third = n // 3
    return Data(x[:third], y[:third], x[third:2 * third], y[third:2 * third], x[2 * third:], y[2 * third:], info)


class MLP(keras_tuner.HyperModel):
    def __init__(self, info):
        super().__init__()
        self.info = info

    def build(self, hp):
        units = hp.Int("units", 1, 64, default=4)
        if hp.Boolean("explode", default=False):
            raise RuntimeError("explode=True: this trial fails on purpose")
        inputs = keras.Input(self.info["input_shape"])
        x = keras.layers.Rescaling(1 / 255)(keras.layers.Flatten()(inputs))
        x = keras.layers.Dense(units, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(self.info["num_classes"], activation="softmax")(x))


class Scripted:
    """Not Keras: reports the accuracy a hyperparameter asks for (for pruning tests)."""

    stop_training = False

    def __init__(self, info):
        self.info = info

    def build(self, hp):
        self.quality = hp.Float("quality", 0.0, 1.0, default=0.5)
        return self

    def fit(self, hp, model, *, x, y, validation_data, epochs, batch_size, callbacks, verbose):
        for cb in callbacks:
            cb.set_model(model)
        for epoch in range(epochs):
            logs = {"loss": 1 - self.quality, "accuracy": self.quality, "val_loss": 1 - self.quality,
                    "val_accuracy": self.quality}
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                break

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=True):
        return {"loss": 1 - self.quality, "accuracy": self.quality}

    def predict(self, x, batch_size=None, verbose=0):
        return np.zeros((len(x), 2))

    def count_params(self):
        return 1
'''

ENTRY_POINTS = """
[rnnstudy.datasets]
tiny_images = tiny_rnnstudy_plugin:tiny_images

[rnnstudy.models]
tiny_mlp = tiny_rnnstudy_plugin:MLP
scripted = tiny_rnnstudy_plugin:Scripted
broken_model = tiny_rnnstudy_broken:Model
"""


@pytest.fixture(scope="session")
def plugin_dist(tmp_path_factory) -> Path:
    """Install (by path) the distribution ``tiny-rnnstudy-plugin`` 0.3.1 for this session."""
    root = tmp_path_factory.mktemp("site")
    (root / "tiny_rnnstudy_plugin.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    (root / "tiny_rnnstudy_broken.py").write_text(
        "raise ImportError('needs libfoo, which is not installed')\n"
    )
    info = root / "tiny_rnnstudy_plugin-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-rnnstudy-plugin\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    sys.path.insert(0, str(root))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    registry._default = None  # the next lookup sees the new distribution
    return root


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working directory: mlruns/ goes here, no storage or tracking URI inherited."""
    monkeypatch.chdir(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "RNNSTUDY_STORAGE", "RNNSTUDY_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def make_study(workdir):
    """Write a study file (text dedented) into the working directory; returns its path."""

    def write(text: str, name: str = "study.py") -> Path:
        path = workdir / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


TINY_STUDY = '''
"""A 2×2 channel grid on tiny generated images: the report's test study."""

from rnnstudy import Study

study = Study(
    dataset="fashion_mnist",
    model="cnn",
    optimizer="adam",
    search={"c1": [2, 4], "c2": [2, 3]},
    fixed={
        "epochs": 4,  # enough epochs for a mean and a spread over the last few
        "batch_size": 32,
        "kernel1": 5,
        "kernel2": 3,
        "dense_units": 8,
        "validation_samples": 40,
        "learning_rate": 0.01,
    },
    name="tiny-grid",
)


def report(frame):
    """The study's own analysis: the mean objective per c1."""
    return "mean objective by c1: " + ", ".join(
        f"{c1}={value:.4f}" for c1, value in frame.groupby("c1")["objective"].mean().items()
    )
'''


def write_fashion(folder: Path, n_train: int = 200, n_test: int = 40, seed: int = 0) -> Path:
    """Fashion-MNIST's four idx files with tiny learnable images: class k is a bright square
    at a place of its own, on noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, n).astype(np.uint8)
        pixels = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            row, col = 2 + 8 * (k // 4), 2 + 6 * (k % 4)
            pixels[i, row : row + 6, col : col + 6] = 230
        return pixels, labels

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        pixels, labels = images(n)
        header = struct.pack(">IIII", 2051, n, 28, 28)
        _gzip(folder / f"{prefix}-images-idx3-ubyte.gz", header + pixels.tobytes())
        _gzip(folder / f"{prefix}-labels-idx1-ubyte.gz", struct.pack(">II", 2049, n) + labels.tobytes())
    return folder


def _gzip(path: Path, payload: bytes) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as out:
        out.write(payload)
    path.write_bytes(buffer.getvalue())


@dataclass
class TinyStudy:
    path: Path  # the study file
    name: str
    storage: str  # Optuna journal file
    tracking_uri: str  # MLflow SQLite
    data_dir: Path
    output: str  # what the last `rnnstudy optimize` printed
    first_table: str  # the parent run's report/table.csv after the first, cut-short run


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> TinyStudy:
    """A finished 4-trial grid study, shared by the report, UI and dashboard tests.

    It runs as a user would resume it: 3 trials (``--trials 3``), then the same command
    without the cap, which runs the fourth.
    """
    from mlflow import MlflowClient

    from rnnstudy.driver import Options, optimize

    root = tmp_path_factory.mktemp("tiny-study")
    data_dir = write_fashion(root / "data")
    path = root / "tiny_grid.py"
    path.write_text(TINY_STUDY)
    store = root / "mlruns"
    store.mkdir()
    study = TinyStudy(
        path=path,
        name="tiny-grid",
        storage=str(store / "optuna.journal"),
        tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
        data_dir=data_dir,
        output="",
        first_table="",
    )
    where = dict(storage_url=study.storage, tracking_uri=study.tracking_uri, data_dir=str(data_dir))
    first = optimize(str(path), Options(**where, overrides={"values": {}, "trials": 3}), out=io.StringIO())
    client = MlflowClient(study.tracking_uri)
    table = client.download_artifacts(first.user_attrs["mlflow_parent_run_id"], "report/table.csv", str(root))
    study.first_table = Path(table).read_text()
    out = io.StringIO()
    optimize(str(path), Options(**where), out=out)
    study.output = out.getvalue()
    return study
