"""Optuna storage: where a study's trials live, and the lock that lets several processes start
one study at the same moment.

The default is a journal file under ``mlruns/``, safe for several processes on one machine.
A PostgreSQL URL shares one study between machines; the password of such a URL is never
printed or logged. SQLite works for one process only: it locks under concurrency.

Connections: a process opens one RDB storage, whose engine's pool keeps ``POOL_SIZE`` (2: a
worker's trial thread and heartbeat thread, or a driver holding the study lock while it sets
the study up) and opens at most ``MAX_OVERFLOW`` (1) more, closed again when given back: at
most ``MAX_CONNECTIONS`` (3) per process. A thread that finds all in use waits for one
(``POOL_TIMEOUT_SECONDS`` at most). With the MLflow tracker's (rnnstudy.stores.mlflow_tracking:
at most 8 more where MLflow's store is a database, none behind an ``mlflow server``), N commands
of W workers each, each worker a process beside its driver, hold at most
``connections_bound(N, W)`` connections: 11 × N × (W + 1) to a PostgreSQL that keeps both
stores, 3 × N × (W + 1) to one that keeps only the Optuna storage. While idle a process keeps
2 (+ 2). PostgreSQL allows 100 by default (``max_connections``, a few kept for superusers).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import random
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from rnnstudy.errors import StorageError
from rnnstudy.stores import _filelock as filelock
from rnnstudy.stores.mlflow_tracking import MAX_CONNECTIONS as TRACKER_CONNECTIONS
from rnnstudy.stores.mlflow_tracking import STORE
from rnnstudy.urls import redact

STORAGE_ENV = "RNNSTUDY_STORAGE"
JOURNAL_PREFIX = "journal:///"
GRPC_PREFIX = "grpc://"  # Optuna's gRPC storage proxy: `rnnstudy storage-proxy`
PROXY_WAIT_SECONDS = 10  # how long a command waits for the proxy to answer
RDB_PREFIXES = ("sqlite:", "postgresql", "postgres:", "mysql", "mariadb", "oracle", "mssql")
SCHEMA_TRIES = 5  # processes that open a fresh database at once race to create its tables
POOL_SIZE = 2  # connections a process keeps to an RDB storage (SQLAlchemy's default: 5)
MAX_OVERFLOW = 1  # and opens beyond them at most, closed when given back (SQLAlchemy's: 10)
MAX_CONNECTIONS = POOL_SIZE + MAX_OVERFLOW
POOL_TIMEOUT_SECONDS = 60  # a thread that finds every connection in use waits this long, then fails


def connections_bound(commands: int, workers: int, *, tracking: bool = True) -> int:
    """The most database connections ``commands`` commands of ``workers`` worker processes
    each hold: a driver and its workers, each with its Optuna storage and (``tracking``: the
    MLflow store is on the same server) its MLflow tracker.

    >>> connections_bound(3, 2), connections_bound(3, 2, tracking=False)
    (99, 27)
    """
    per_process = MAX_CONNECTIONS + (TRACKER_CONNECTIONS if tracking else 0)
    return commands * (workers + 1) * per_process


def default_storage_url() -> str:
    """``$RNNSTUDY_STORAGE`` or the journal file ``mlruns/optuna.journal``."""
    return os.environ.get(STORAGE_ENV) or JOURNAL_PREFIX + str((STORE / "optuna.journal").resolve())


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def file_of(url: str) -> Path | None:
    """The local file a journal or SQLite URL keeps its data in (an MLflow ``sqlite:///`` URI
    too); None for a server. Opening a URL creates its file: a command that only reads asks
    this first."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if url.startswith(RDB_PREFIXES) or "://" in url.removeprefix(JOURNAL_PREFIX):
        return None
    return _journal_path(url)


def open_storage(url: str):
    """An Optuna storage for ``url``; one line naming the redacted URL when it cannot be opened."""
    import optuna

    if url.startswith(GRPC_PREFIX):
        return _open_proxy(url)
    try:
        if url.startswith(RDB_PREFIXES):
            return _open_rdb(_with_driver(url))
        path = _journal_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(
            str(path), lock_obj=optuna.storages.journal.JournalFileOpenLock(str(path))
        )
        return optuna.storages.JournalStorage(backend)
    except Exception as exc:  # any failure to open is the user's to fix
        message = redact(str(exc)).splitlines()[0][:200]
        raise StorageError(
            f"Optuna storage {redact(url)} cannot be opened ({type(exc).__name__}: {message}); "
            "check that the server runs and the URL is right (--storage / $RNNSTUDY_STORAGE)"
        ) from None


@contextlib.contextmanager
def study_lock(url: str, storage, study_name: str) -> Iterator[None]:
    """Hold a lock on ``study_name`` that every process of the study respects, on any machine.

    Setting a study up (its MLflow parent run, the failed trials of dead workers, the grid
    points still to enqueue) happens under it, so processes started together enqueue each
    point once. The lock dies with its holder, even on ``kill -9``: a file lock beside a
    journal or SQLite file, a transaction-level advisory lock in PostgreSQL. Other databases
    get no lock, nor does a study behind the gRPC proxy (its API has no lock; the proxy runs
    every call on its own, and commands that set one study up at the same moment may
    enqueue a grid point twice): start one process first, then the others.
    """
    if is_proxy(url):
        yield
        return
    if url.startswith(RDB_PREFIXES):
        engine = storage.engine
        if engine.dialect.name == "postgresql":
            import sqlalchemy

            with engine.begin() as connection:  # the lock ends with this transaction
                connection.execute(
                    sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(study_name)}
                )
                yield
            return
        if not is_sqlite(url):
            yield
            return
        path = Path(engine.url.database or "rnnstudy-memory")
    else:
        path = _journal_path(url)
    with filelock.held(f"{path}.rnnstudy-lock"):
        yield


def is_proxy(url: str) -> bool:
    return url.startswith(GRPC_PREFIX)


def proxy_address(url: str) -> tuple[str, int]:
    """``(host, port)`` of a ``grpc://host:port`` URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path.strip("/"):
        raise StorageError(
            f"storage {redact(url)} is not a proxy's address; give it as grpc://HOST:PORT "
            "(what `rnnstudy storage-proxy` prints)"
        )
    return parts.hostname, port


def _open_proxy(url: str):
    """A GrpcStorageProxy for ``grpc://host:port``, once the proxy answers."""
    host, port = proxy_address(url)
    try:
        import grpc  # noqa: F401 - what the proxy needs: GrpcStorageProxy imports it late
        import optuna
        from optuna.storages import GrpcStorageProxy
    except ImportError as exc:
        raise StorageError(
            f"storage {redact(url)} needs grpcio ({exc}); install it: pip install 'rnnstudy[proxy]'"
        ) from None
    with warnings.catch_warnings():  # "experimental": a line of noise in every command
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        proxy = GrpcStorageProxy(host=host, port=port)
    try:
        proxy.wait_server_ready(timeout=PROXY_WAIT_SECONDS)
    except ConnectionError:
        proxy.close()
        raise StorageError(
            f"Optuna storage proxy {redact(url)} did not answer within {PROXY_WAIT_SECONDS} s; "
            "start it there (rnnstudy storage-proxy --storage postgresql://… --port PORT) "
            "or fix --storage / $RNNSTUDY_STORAGE"
        ) from None
    return proxy


_opened: dict[tuple[int, str], object] = {}  # (process, URL) -> its RDB storage
_opening = threading.Lock()


def _open_rdb(url: str):
    """The process's one RDB storage for ``url``: a second caller (the report read back at
    the end of a run, say) shares its pool rather than opening another."""
    with _opening:
        key = (os.getpid(), url)  # a forked child makes its own
        if key not in _opened:
            _opened[key] = _create_rdb(url)
        return _opened[key]


def _create_rdb(url: str):
    import optuna
    import sqlalchemy.exc

    # processes that start together race to create the tables: the loser's insert fails,
    # raw or wrapped by Optuna (StorageInternalError), and the tables are there on the next try
    raced = (
        sqlalchemy.exc.IntegrityError,
        sqlalchemy.exc.ProgrammingError,
        optuna.exceptions.StorageInternalError,
    )
    for attempt in range(SCHEMA_TRIES):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
        except raced:
            if attempt == SCHEMA_TRIES - 1:
                raise
        # out of the except block, nothing holds the failed storage: its engine, and the
        # connection its pool keeps, go now rather than when the collector gets to them
        gc.collect()
        time.sleep(random.uniform(0.1, 0.5))  # another process created the tables first


def _with_driver(url: str) -> str:
    """SQLAlchemy 2.1 reads ``postgresql://`` as psycopg 3; the installed driver is psycopg2."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url.removeprefix(scheme)
    return url


def _journal_path(url: str) -> Path:
    return Path(url.removeprefix(JOURNAL_PREFIX) if url.startswith(JOURNAL_PREFIX) else url)


def _lock_key(study_name: str) -> int:
    """A signed 64-bit advisory lock key for a study name."""
    digest = hashlib.sha256(f"rnnstudy:{study_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _engine_kwargs(url: str) -> dict:
    if is_sqlite(url):
        return {"connect_args": {"timeout": 60}}
    connect = {"connect_timeout": 10} if url.startswith(("postgresql", "mysql", "mariadb")) else {}
    return {
        "pool_pre_ping": True,
        "pool_size": POOL_SIZE,
        "max_overflow": MAX_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT_SECONDS,
        "connect_args": connect,
    }
