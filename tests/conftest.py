"""Shared fixtures: a tiny real study (real Keras training, Optuna journal, MLflow SQLite),
run once per test session on Fashion-MNIST-format files that the fixture writes itself."""

from __future__ import annotations

import gzip
import io
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

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
