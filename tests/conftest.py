"""Shared fixtures: a throwaway plugin distribution, a clean working directory, and a tiny
real study (real Keras training, Optuna journal, MLflow SQLite) run once per session.

The distribution is a real one as far as ``importlib.metadata`` is concerned (a ``.dist-info``
folder with ``entry_points.txt`` on the path), so it is found exactly as a pip-installed
third-party plugin would be, by the test process and by the worker processes it spawns.

The tests of parallel studies and faults run `rnnstudy optimize` processes in a fresh folder
(``project``), with their own throwaway distribution (tests/scripted), a real PostgreSQL
database (``postgres_url``) and a real `mlflow server` (``mlflow_server``).
"""

from __future__ import annotations

import collections
import contextlib
import gzip
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rnnstudy.plugins import registry
from rnnstudy.stores.optuna_internals import enqueued_point

# tests never touch the network: MLflow 3 would send usage telemetry from every process
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
# --workers auto remembers what it measured (rnnstudy.run._throughput): not the user's cache
os.environ["RNNSTUDY_CACHE_DIR"] = os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"rnnstudy-test-cache-{os.getpid()}"
)

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


class TunedFit(keras_tuner.HyperModel):
    """Keras Tuner's guide in short: it compiles itself, and its fit tunes batch size and shuffling."""

    def __init__(self, info):
        super().__init__()
        self.info = info

    def build(self, hp):
        inputs = keras.Input(self.info["input_shape"])
        x = keras.layers.Rescaling(1 / 255)(keras.layers.Flatten()(inputs))
        x = keras.layers.Dense(hp.Int("units", 2, 8, step=2, default=4), activation="relu")(x)
        model = keras.Model(inputs, keras.layers.Dense(self.info["num_classes"], activation="softmax")(x))
        rate = hp.Float("lr", 1e-3, 1e-1, sampling="log", default=1e-2)
        model.compile(optimizer=keras.optimizers.SGD(rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [8, 16]), shuffle=hp.Boolean("shuffle"), **kwargs)


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
tuned_fit = tiny_rnnstudy_plugin:TunedFit
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

    from rnnstudy.run import RunOptions, optimize

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
    first = optimize(str(path), RunOptions(**where, overrides={"values": {}, "trials": 3}), out=io.StringIO())
    client = MlflowClient(study.tracking_uri)
    table = client.download_artifacts(
        first.study.user_attrs["mlflow_parent_run_id"], "report/table.csv", str(root)
    )
    study.first_table = Path(table).read_text()
    out = io.StringIO()
    optimize(str(path), RunOptions(**where), out=out)
    study.output = out.getvalue()
    return study


# --- parallel studies and faults ---------------------------------------------------------

SCRIPTED = Path(__file__).parent / "scripted" / "rnnstudy_scripted.py"
SCRIPTED_ENTRY_POINTS = """\
[rnnstudy.datasets]
tiny_table = rnnstudy_scripted:tiny_table

[rnnstudy.models]
scripted_fit = rnnstudy_scripted:ScriptedFit
scripted_tuner_fit = rnnstudy_scripted:ScriptedTunerFit
dense_stack = rnnstudy_scripted:dense_stack
slow_dense = rnnstudy_scripted:SlowDense
"""
POSTGRES_ENV = "RNNSTUDY_TEST_POSTGRES"  # an admin URL: databases are created and dropped
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REQUIRE_ENV = "RNNSTUDY_REQUIRE_SERVICES"  # set by .ci/run: a missing service fails, not skips


def wait_for(predicate, timeout: float = 120.0, every: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Project:
    """A folder where rnnstudy runs as a command, with the scripted plugins installed."""

    wait_for = staticmethod(wait_for)

    def __init__(self, root: Path) -> None:
        self.root = root
        site = root / "site"
        dist = site / "rnnstudy_scripted-0.1.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rnnstudy-scripted\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text(SCRIPTED_ENTRY_POINTS)
        shutil.copy(SCRIPTED, site)
        self.site = site
        self.started: list[subprocess.Popen] = []
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("RNNSTUDY_STORAGE", "MLFLOW_TRACKING_URI")
        }
        self.env.update(
            PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
            RNNSTUDY_HEARTBEAT_SECONDS="1",
        )
        self.storage_url = f"journal:///{root / 'mlruns' / 'optuna.journal'}"
        self.tracking_uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"

    def write_study(self, name: str, **fields) -> str:
        """A study file ``name.py`` of the scripted plugins; ``fields`` are Study's arguments."""
        fields = {"dataset": "tiny_table", "model": "scripted_fit", "optimizer": "sgd", **fields}
        args = ",\n    ".join(f"{key}={value!r}" for key, value in fields.items())
        (self.root / f"{name}.py").write_text(
            f"from rnnstudy import Study\n\nstudy = Study(\n    {args},\n)\n"
        )
        return f"{name}.py"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "rnnstudy", "optimize", *args]

    def run(self, *args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
        """``rnnstudy optimize ARGS`` to its end (``env``: variables to add); stdout and stderr
        together in ``.stdout``."""
        return subprocess.run(
            self.command(*args),
            cwd=self.root,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, log: str = "run.log") -> subprocess.Popen:
        """``rnnstudy optimize ARGS`` in the background, in its own process group."""
        with open(self.root / log, "w") as out:
            process = subprocess.Popen(
                self.command(*args),
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
                # as from a terminal: a suite started in the background (`cmd &`) ignores SIGINT,
                # and Python then never turns Ctrl-C into KeyboardInterrupt
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        self.started.append(process)
        return process

    def stop(self) -> None:
        """End the process groups this test started that still run (a failed test's)."""
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log(self, name: str = "run.log") -> str:
        return (self.root / name).read_text()

    def study(self, name: str, storage_url: str | None = None):
        import optuna

        from rnnstudy.stores.optuna_storage import open_storage

        return optuna.load_study(study_name=name, storage=open_storage(storage_url or self.storage_url))

    def runs(self, name: str, tracking_uri: str | None = None) -> list:
        """Every MLflow run of the study's experiment, the parent run included."""
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri or self.tracking_uri)
        experiment = client.get_experiment_by_name(name)
        return client.search_runs([experiment.experiment_id], max_results=10_000) if experiment else []

    def outcome(self, name: str, storage_url: str | None = None, tracking_uri: str | None = None) -> dict:
        """What a study left behind, counted: trials and trial runs per state and per point."""
        trials = self.study(name, storage_url).get_trials(deepcopy=False)
        runs = [r for r in self.runs(name, tracking_uri) if "rnnstudy.trial" in r.data.tags]
        finished = collections.Counter(
            _point_key(enqueued_point(t) or t.params) for t in trials if t.state.name == "COMPLETE"
        )
        finished_runs = collections.Counter(
            _point_key({k: _typed(r.data.params[k]) for k in _searched(trials) if k in r.data.params})
            for r in runs
            if r.info.status == "FINISHED"
        )
        return {
            "trials": collections.Counter(t.state.name for t in trials),
            "runs": collections.Counter(r.info.status for r in runs),
            "complete_per_point": finished,
            "finished_runs_per_point": finished_runs,
            "trial_list": trials,
            "run_list": runs,
        }

    def assert_exact(self, name: str, points: list[dict], **where) -> dict:
        """Each point has exactly one finished trial and one finished run; nothing is RUNNING."""
        outcome = self.outcome(name, **where)
        keys = {_point_key(p): 1 for p in points}
        assert dict(outcome["complete_per_point"]) == keys
        assert dict(outcome["finished_runs_per_point"]) == keys
        assert outcome["trials"]["RUNNING"] == 0 and outcome["trials"]["WAITING"] == 0
        assert outcome["runs"]["RUNNING"] == 0
        return outcome


def _searched(trials) -> set[str]:
    return {k for t in trials for k in (enqueued_point(t) or t.params)}


def _point_key(point: dict) -> str:
    return json.dumps(
        {k: float(v) if isinstance(v, int | float) else v for k, v in point.items()}, sort_keys=True
    )


def _typed(text: str):
    try:
        return float(text)
    except ValueError:
        return text


@pytest.fixture
def project(tmp_path):
    project = Project(tmp_path)
    yield project
    project.stop()


def _unavailable(reason: str):
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason} (and ${REQUIRE_ENV} is set)")
    pytest.skip(reason)


def installed_or_skip(backend_name: str) -> None:
    """Skip (fail under $RNNSTUDY_REQUIRE_SERVICES) a test of a Keras backend not installed."""
    from rnnstudy.runtime import backend

    if not backend.installed(backend_name):
        _unavailable(f"backend {backend_name!r} is not installed (pip install -e '.[{backend_name}]')")


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg2

    from rnnstudy.urls import redact

    admin = os.environ.get(POSTGRES_ENV, POSTGRES_ADMIN)
    try:
        connection = psycopg2.connect(admin, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        _unavailable(
            f"PostgreSQL not reachable at {redact(admin)} ({str(exc).strip().splitlines()[0]}); "
            "start it with scripts/services.sh"
        )
    with fresh_database(connection, admin, f"rnnstudy_test_{uuid.uuid4().hex[:12]}") as url:
        yield url


@contextlib.contextmanager
def fresh_database(connection, admin: str, name: str):
    """Database ``name`` made on ``admin``'s server through ``connection`` (closed after), its
    URL yielded, and dropped afterwards, whoever is still connected."""
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


class MlflowServer:
    def __init__(self, url: str, store: Path, artifacts: Path, log: Path) -> None:
        self.url, self.store, self.artifacts, self.log = url, store, artifacts, log


def take(study):
    """Claim a waiting trial as a driver does and make its ``optuna.Trial`` as its worker does:
    ``(trial, point)``, or ``(None, None)`` when nothing waits."""
    from rnnstudy.stores import optuna_internals

    claimed = optuna_internals.claim(study)
    if claimed is None:
        return None, None
    trial_id, _, point = claimed
    return optuna_internals.trial_of(study, trial_id), point


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (the probe that found it is closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` on 127.0.0.1 (a free port, SQLite store, proxied artifacts)."""
    port = free_port()
    server = MlflowServer(
        f"http://127.0.0.1:{port}",
        tmp_path / "server" / "mlflow.db",
        tmp_path / "server" / "artifacts",
        tmp_path / "server" / "server.log",
    )
    server.store.parent.mkdir()
    command = [
        *(sys.executable, "-m", "mlflow", "server"),
        *("--backend-store-uri", f"sqlite:///{server.store}"),
        *("--artifacts-destination", str(server.artifacts), "--serve-artifacts"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
    ]
    with open(server.log, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(
            lambda: process.poll() is not None or _healthy(server.url), timeout=240, what="mlflow server"
        )
        if process.poll() is not None:
            _unavailable(f"mlflow server did not start: {server.log.read_text()[-500:]}")
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# --- the fault matrix (tests/test_fault_matrix.py) printed at the end of the run -----------

FAULT_MATRIX: list[tuple[str, str, str, str]] = []  # (phase, action, storage, outcome)


def pytest_terminal_summary(terminalreporter):
    if not FAULT_MATRIX:
        return
    terminalreporter.section(
        "fault matrix: phase x storage -> outcome (first run, then the same command again)"
    )
    width = max(len(f"{p}:{a}") for p, a, _, _ in FAULT_MATRIX)
    for phase, action, storage, outcome in sorted(FAULT_MATRIX):
        terminalreporter.write_line(f"{phase + ':' + action:<{width}}  {storage:<9}  {outcome}")
