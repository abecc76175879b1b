"""Optuna storage: where a study's trials live, and the lock that lets several processes start
one study at the same moment.

The default is a journal file under ``mlruns/``, safe for several processes on one machine.
A PostgreSQL URL shares one study between machines; the password of such a URL is never
printed or logged. SQLite works for one process only: it locks under concurrency.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

from rnnstudy.errors import StorageError
from rnnstudy.stores import _filelock as filelock
from rnnstudy.stores.mlflow_tracking import STORE
from rnnstudy.urls import redact

STORAGE_ENV = "RNNSTUDY_STORAGE"
JOURNAL_PREFIX = "journal:///"
RDB_PREFIXES = ("sqlite:", "postgresql", "postgres:", "mysql", "mariadb", "oracle", "mssql")
SCHEMA_TRIES = 5  # processes that open a fresh database at once race to create its tables


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
    get no lock: start one process first, then the others.
    """
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


def _open_rdb(url: str):
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
    return {"pool_pre_ping": True, "connect_args": connect}
