"""Fixtures that run rnnstudy the way its users do: `rnnstudy optimize` processes in a fresh
folder, a real PostgreSQL database, a real `mlflow server`.

The plugins of these tests (tests/scripted) are installed for each test as a throwaway
distribution: a folder on PYTHONPATH holding the module and its ``.dist-info``.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

SCRIPTED = Path(__file__).parent / "scripted" / "rnnstudy_scripted.py"
ENTRY_POINTS = """\
[rnnstudy.datasets]
tiny = rnnstudy_scripted:tiny

[rnnstudy.models]
scripted = rnnstudy_scripted:Scripted
dense = rnnstudy_scripted:dense
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
        (dist / "entry_points.txt").write_text(ENTRY_POINTS)
        shutil.copy(SCRIPTED, site)
        self.site = site
        self.started: list[subprocess.Popen] = []
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("RNNSTUDY_STORAGE", "MLFLOW_TRACKING_URI")
        }
        self.env.update(PYTHONPATH=str(site), RNNSTUDY_HEARTBEAT_SECONDS="1")
        self.storage_url = f"journal:///{root / 'mlruns' / 'optuna.journal'}"
        self.tracking_uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"

    def write_study(self, name: str, **fields) -> str:
        """A study file ``name.py`` of the scripted plugins; ``fields`` are Study's arguments."""
        fields = {"dataset": "tiny", "model": "scripted", "optimizer": "sgd", **fields}
        args = ",\n    ".join(f"{key}={value!r}" for key, value in fields.items())
        (self.root / f"{name}.py").write_text(
            f"from rnnstudy import Study\n\nstudy = Study(\n    {args},\n)\n"
        )
        return f"{name}.py"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "rnnstudy", "optimize", *args]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """``rnnstudy optimize ARGS`` to its end; stdout and stderr together in ``.stdout``."""
        return subprocess.run(
            self.command(*args),
            cwd=self.root,
            env=self.env,
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

        from rnnstudy.storage import open_storage

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
            _point_key(t.system_attrs.get("fixed_params") or t.params)
            for t in trials
            if t.state.name == "COMPLETE"
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
    return {k for t in trials for k in (t.system_attrs.get("fixed_params") or t.params)}


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
    connection.autocommit = True
    name = f"rnnstudy_test_{uuid.uuid4().hex[:12]}"
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


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` on 127.0.0.1 (a free port, SQLite store, proxied artifacts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
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
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
