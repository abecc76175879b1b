"""MLflow tracking: one experiment per study, a parent run per study, a child run per trial.

URIs are always set explicitly: ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``, else a
SQLite database with the artifacts beside it under ``mlruns/``. Everything goes through one
:class:`mlflow.MlflowClient`, which works the same from every worker process.

Inside a trial, logging need not hold training up: ``wait=False`` hands a call to one
writer thread (about 0.1 ms instead of 3–30 ms for a write to SQLite, more on a busy disk or
a remote server), and :meth:`Tracker.finish` waits for everything queued for the run before
it ends it. Not MLflow's own asynchronous logging: ending a run stops its queue, which costs
up to a second per run.

A database URI (``postgresql://…``, ``mysql://…``) is opened by MLflow in this process, so two
things are settled here:

- **Connections.** MLflow makes one engine per database URI and process, whose pool keeps 5
  connections and opens 10 more while threads wait. rnnstudy makes that engine first: it
  keeps ``POOL_SIZE`` (2: the main thread and the writer thread) and opens at most
  ``MAX_OVERFLOW`` more, closed again when given back, for MLflow's nested sessions (one
  ``log_batch`` holds up to 4 at once): at most ``MAX_CONNECTIONS`` (8) per process. A thread
  that finds all in use waits for one (``POOL_TIMEOUT_SECONDS`` at most). A pool without room
  for the nesting deadlocks: two threads each holding one and waiting for the next. A user
  who sets one of MLflow's ``$MLFLOW_SQLALCHEMYSTORE_*`` pool settings gets MLflow's engine
  with those instead.
- **A fresh database.** MLflow creates its tables when a client first opens the store, and
  processes that open a fresh database together race (``UniqueViolation`` on ``alembic_version``
  or ``pg_type``): on PostgreSQL each Tracker opens the store under an advisory lock, on a
  connection of its own held only while the store opens (one more, while starting), and
  waits at most ``SCHEMA_LOCK_SECONDS`` for it. The first process creates the tables, the
  others find them. Other servers get no lock: start one command first, then the others.
  An existing database whose schema is older than this MLflow's is not upgraded: MLflow says
  to back it up and run ``mlflow db upgrade``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from rnnstudy.errors import StorageError
from rnnstudy.keys import (
    MAX_PARAM_LENGTH,
    NOTE_TAG,
    PARENT_RUN_TAG,
    RERUN_TAG,
    RERUN_TRIAL_TAG,
    STUDY_TAG,
    TRIAL_TAG,
    WHOLE_PARAMS,
    param_text,
)
from rnnstudy.stores import _filelock as filelock
from rnnstudy.urls import redact

STORE = Path("mlruns")
MAX_TAG_LENGTH = 5000
ONE_TRY = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")  # SQLite is a file: a file lock guards it
POOL_SIZE = 2  # connections a process keeps to an MLflow database: its main and its writer thread
MAX_OVERFLOW = 6  # opened beyond them for MLflow's nested sessions (up to 4 in one thread)
MAX_CONNECTIONS = POOL_SIZE + MAX_OVERFLOW
POOL_TIMEOUT_SECONDS = 60  # a thread that finds every connection in use waits this long, then fails
POOL_SETTINGS = ("POOL_SIZE", "MAX_OVERFLOW", "POOLCLASS", "POOL_RECYCLE")  # $MLFLOW_SQLALCHEMYSTORE_*
SCHEMA_LOCK_SECONDS = 300.0  # creating MLflow's tables takes seconds; a holder this long is stuck
CONNECT_SECONDS = 10
SCHEMA_LOCK_KEY = int.from_bytes(hashlib.sha256(b"rnnstudy:mlflow-schema").digest()[:8], "big", signed=True)


def default_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` or the SQLite database under ``mlruns/``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(STORE / 'mlflow.db').resolve()}"


class Tracker:
    """The MLflow side of a study."""

    def __init__(self, uri: str | None = None) -> None:
        from mlflow import MlflowClient

        # MLflow sets its loggers to INFO when imported, so only now can they be quieted: a new
        # database's "Creating initial MLflow database tables..." would cut into our progress lines
        if not os.environ.get("MLFLOW_LOGGING_LEVEL"):  # unless the user asked for MLflow's own
            logging.getLogger("mlflow").setLevel(logging.WARNING)
        self.uri = uri or default_tracking_uri()
        self._queued: dict[str, list[Future]] = {}  # run id -> its writes still in flight
        self._writer: ThreadPoolExecutor | None = None  # one thread: writes stay in order
        self._long_params: dict[str, dict[str, Any]] = {}  # run id -> its params.json
        os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # a line per run; ours is progress
        self._client_uri = _password_to_environment(self.uri)  # what MLflow is given: no password
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per download, too
        if self.uri.startswith(DATABASE_SCHEMES):
            _make_engine(self.uri)
            with _schema_lock(self.uri):
                try:
                    self.client = MlflowClient(tracking_uri=self.uri)
                except _sqlalchemy_errors() as exc:
                    raise _unreachable(self.uri, exc) from None
            return
        if not self.uri.startswith("sqlite:///"):
            self.client = MlflowClient(tracking_uri=self._client_uri)
            return
        database = Path(self.uri.removeprefix("sqlite:///"))
        database.parent.mkdir(parents=True, exist_ok=True)
        # the client creates a new database's tables: one process at a time, or they race
        with filelock.held(f"{database}.lock"):
            self.client = MlflowClient(tracking_uri=self.uri)

    def check(self) -> None:
        """Fail with one line naming the (redacted) URI when the store cannot be reached."""
        try:
            with _one_try():
                self.client.search_experiments(max_results=1)
        except Exception as exc:  # any failure here means "unreachable"
            raise _unreachable(self.uri, exc) from None

    def experiment(self, name: str) -> str:
        """The id of the study's experiment, created on first use."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = None
        if self.uri.startswith("sqlite:///"):  # keep artifacts beside the local database
            location = (Path(self.uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
        return self.client.create_experiment(name, artifact_location=location)

    def has_run(self, run_id: str) -> bool:
        """Whether this store has the run ``run_id`` (another store's id: no)."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_run(run_id)
        except MlflowException:
            return False
        return True

    def parent_run(self, experiment_id: str, study_name: str, run_id: str | None, description: str) -> str:
        """The study's parent run: ``run_id`` reopened on resume, else a new one."""
        if run_id:
            self.client.update_run(run_id, status="RUNNING")
            return run_id
        run = self.client.create_run(
            experiment_id,
            run_name=study_name,
            tags=_tags({STUDY_TAG: study_name, NOTE_TAG: description}),
        )
        return run.info.run_id

    def start_trial(
        self,
        experiment_id: str,
        parent_id: str,
        study_name: str,
        number: int,
        run_name: str,
        description: str,
    ) -> str:
        return self._child_run(
            experiment_id, parent_id, run_name, description, {STUDY_TAG: study_name, TRIAL_TAG: str(number)}
        )

    def start_rerun(
        self, experiment_id: str, original_id: str, number: int, run_name: str, description: str
    ) -> str:
        """A run that runs trial ``number`` again, nested under its original run.

        It has neither the study's nor the trial's tag: what selects a study's parent run and
        its trial runs (rnnstudy.results.report) does not see it, so a rerun is never another trial.
        """
        return self._child_run(
            experiment_id,
            original_id,
            run_name,
            description,
            {RERUN_TAG: original_id, RERUN_TRIAL_TAG: str(number)},
        )

    def _child_run(
        self, experiment_id: str, parent_id: str, run_name: str, description: str, tags: dict
    ) -> str:
        """A new run nested under ``parent_id``, with its description and ``tags``."""
        tags = {PARENT_RUN_TAG: parent_id, **tags, NOTE_TAG: description}
        return self.client.create_run(experiment_id, run_name=run_name, tags=_tags(tags)).info.run_id

    def unfailed_trial_runs(self, experiment_id: str, parent_id: str, number: int) -> list[str]:
        """The ids of a trial's runs that do not say it failed, for a trial that Optuna has not
        ended: still RUNNING (its worker died, maybe before it noted the id), or FINISHED by a
        worker that died before it told Optuna."""
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{TRIAL_TAG}` = '{number}' AND tags.`mlflow.parentRunId` = '{parent_id}'",
        )
        return [run.info.run_id for run in runs if run.info.status in ("RUNNING", "FINISHED")]

    def log_params(self, run_id: str, params: dict[str, Any], *, wait: bool = True) -> None:
        """Log ``params`` as text, their URL passwords redacted, each cut at MAX_PARAM_LENGTH;
        those longer are also kept whole in the run's artifact ``params.json`` (with those of
        earlier calls for the run), where :meth:`whole_params` reads them back."""
        from mlflow.entities import Param

        texts = {k: param_text(v) for k, v in sorted(params.items())}
        items = [Param(k, text[:MAX_PARAM_LENGTH]) for k, text in texts.items()]
        for start in range(0, len(items), 100):
            self._log(run_id, wait, params=items[start : start + 100])
        long = {k: params[k] for k, text in texts.items() if len(text) > MAX_PARAM_LENGTH}
        if long:
            whole = self._long_params.setdefault(run_id, {})
            whole.update(long)
            text = redact(json.dumps(whole, indent=2, sort_keys=True, default=repr))
            self.client.log_text(run_id, text + "\n", WHOLE_PARAMS)

    def whole_params(self, run) -> dict[str, Any]:
        """The params of ``run`` (an MLflow Run) that were cut, whole from its ``params.json``
        ({} when none was cut, or when it was logged before rnnstudy kept them whole)."""
        if all(len(text) < MAX_PARAM_LENGTH for text in run.data.params.values()):
            return {}
        run_id = run.info.run_id
        if WHOLE_PARAMS not in {f.path for f in self.client.list_artifacts(run_id)}:
            return {}
        with self.artifact_dir() as tmp:
            return json.loads(Path(self.client.download_artifacts(run_id, WHOLE_PARAMS, tmp)).read_text())

    def log_metrics(
        self, run_id: str, metrics: dict[str, float], step: int | None = None, *, wait: bool = True
    ) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._log(run_id, wait, metrics=[Metric(k, float(v), now, step or 0) for k, v in metrics.items()])

    def log_artifacts(self, run_id: str, directory: Path, path: str | None = None) -> None:
        """The files of ``directory`` as the run's artifacts, in its folder ``path`` (None: the top)."""
        self.client.log_artifacts(run_id, str(directory), artifact_path=path)

    def set_tags(self, run_id: str, tags: dict[str, Any], *, wait: bool = True) -> None:
        from mlflow.entities import RunTag

        self._log(run_id, wait, tags=[RunTag(k, v) for k, v in _tags(tags).items()])

    def finish(self, run_id: str, status: str) -> None:
        """End a run: FINISHED, FAILED or KILLED (pruned and interrupted trials).

        What was queued for the run is written first: MLflow takes nothing for an ended run.
        """
        try:
            self.flush(run_id)
        finally:
            self.client.set_terminated(run_id, status=status)

    def flush(self, run_id: str) -> None:
        """Wait until everything queued for ``run_id`` is written; raise if some of it failed."""
        for write in self._queued.pop(run_id, []):
            write.result()

    def _log(self, run_id: str, wait: bool, **batch) -> None:
        if wait:
            self.client.log_batch(run_id, **batch)
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnstudy-tracking")
        self._queued.setdefault(run_id, []).append(
            self._writer.submit(self.client.log_batch, run_id, **batch)
        )

    def checkpoint_root(self, experiment_id: str) -> str:
        """Where the study's checkpoints go when the user names no folder: beside its runs'
        artifacts, which every machine of the study reaches (rnnstudy.trial.checkpoint)."""
        location = self.client.get_experiment(experiment_id).artifact_location
        return f"{location.rstrip('/')}/checkpoints"

    def repository(self, uri: str):
        """The MLflow artifact repository at ``uri`` (a file URI, or one of the tracking server's)."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        return get_artifact_repository(uri, tracking_uri=self._client_uri)

    def log_model(self, run_id: str, model) -> None:
        """A Keras model as an MLflow model, the run's artifact ``model``: load it with
        ``mlflow.keras.load_model("runs:/<run id>/model")``."""
        import keras
        import mlflow.keras

        # the requirements named, not inferred: inference imports the model again in a subprocess
        requirements = [f"keras=={keras.__version__}", _backend_package()]
        with self.artifact_dir() as tmp:
            path = Path(tmp) / "model"
            mlflow.keras.save_model(model, str(path), pip_requirements=requirements)
            self.client.log_artifacts(run_id, str(path), "model")

    def artifact_dir(self) -> tempfile.TemporaryDirectory:
        return tempfile.TemporaryDirectory(prefix="rnnstudy-")


def _tags(tags: dict[str, Any]) -> dict[str, str]:
    """Tags as MLflow keeps them: text, URL passwords redacted (a description is the study
    file's), cut at MAX_TAG_LENGTH."""
    return {k: redact(str(v))[:MAX_TAG_LENGTH] for k, v in tags.items()}


def _backend_package() -> str:
    """The package of Keras' backend, pinned: what a kept model needs besides Keras."""
    from importlib.metadata import version

    import keras

    name = keras.backend.backend()  # each backend's name is its package's
    return f"{name}=={version(name)}"


def _password_to_environment(uri: str) -> str:
    """A server URL without its user and password, which go where MLflow reads them instead:
    MLflow prints and logs the URLs it is given, and would show the password with them."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or parts.password is None:
        return uri
    os.environ["MLFLOW_TRACKING_USERNAME"] = unquote(parts.username or "")
    os.environ["MLFLOW_TRACKING_PASSWORD"] = unquote(parts.password)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _sqlalchemy_errors() -> tuple[type[Exception], ...]:
    import sqlalchemy.exc

    return (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)


def _make_engine(uri: str) -> None:
    """Make MLflow's engine for ``uri`` (a database) in this process, with a pool of
    POOL_SIZE and MAX_OVERFLOW, unless it exists or the user set MLflow's pool settings.

    MLflow keeps its engines in a map on its store class (mlflow 3.17), the one place where
    an engine made here is found again: pinned in pyproject.toml, and the connection tests
    (tests/test_many_machines.py) see it if a new MLflow stops looking there."""
    import sqlalchemy
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    if any(os.environ.get(f"MLFLOW_SQLALCHEMYSTORE_{name}") for name in POOL_SETTINGS):
        return
    with SqlAlchemyStore._engine_map_lock:
        if uri not in SqlAlchemyStore._engine_map:
            SqlAlchemyStore._engine_map[uri] = sqlalchemy.create_engine(
                uri,
                pool_pre_ping=True,  # as MLflow's own
                pool_size=POOL_SIZE,
                max_overflow=MAX_OVERFLOW,
                pool_timeout=POOL_TIMEOUT_SECONDS,
                connect_args=_connect_args(uri),
            )


def _connect_args(uri: str) -> dict:
    """A bounded wait for a server that does not answer, where the driver is libpq's."""
    import sqlalchemy

    driver = sqlalchemy.engine.make_url(uri).get_driver_name()
    return {"connect_timeout": CONNECT_SECONDS} if driver in ("psycopg", "psycopg2") else {}


@contextlib.contextmanager
def _schema_lock(uri: str):
    """On PostgreSQL, hold the advisory lock that lets one process at a time open MLflow's
    store (and create its tables); elsewhere nothing. The lock is a session's: it ends with
    its connection, even when the process is killed."""
    import sqlalchemy
    import sqlalchemy.exc

    url = sqlalchemy.engine.make_url(uri)
    if url.get_backend_name() != "postgresql":
        yield
        return
    engine = sqlalchemy.create_engine(
        url, poolclass=sqlalchemy.pool.NullPool, connect_args=_connect_args(uri)
    )
    try:
        try:
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise _unreachable(uri, exc) from None
        with connection:
            _wait_for_lock(connection, uri)
            try:
                yield
            finally:
                connection.execute(
                    sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY}
                )
    finally:
        engine.dispose()


def _wait_for_lock(connection, uri: str) -> None:
    import sqlalchemy

    deadline = time.monotonic() + SCHEMA_LOCK_SECONDS
    query = sqlalchemy.text("SELECT pg_try_advisory_lock(:key)")
    while not connection.execute(query, {"key": SCHEMA_LOCK_KEY}).scalar():
        if time.monotonic() > deadline:
            raise StorageError(
                f"MLflow tracking store {redact(uri)}: another process has held the lock on its "
                f"tables for more than {SCHEMA_LOCK_SECONDS:.0f} s (advisory lock {SCHEMA_LOCK_KEY}); "
                "end the process that holds it (pg_locks names it) and run the command again"
            )
        time.sleep(0.2)


def _unreachable(uri: str, exc: Exception) -> StorageError:
    return StorageError(
        f"MLflow tracking store {redact(uri)} cannot be reached "
        f"({type(exc).__name__}: {redact(str(exc)).splitlines()[0][:200]}); "
        "start the server or fix --tracking-uri / $MLFLOW_TRACKING_URI"
    )


@contextlib.contextmanager
def _one_try():
    """MLflow's HTTP client retries for minutes; it reads these settings at every request."""
    saved = {name: os.environ.get(name) for name in ONE_TRY}
    os.environ.update(ONE_TRY)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
