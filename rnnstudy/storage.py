"""Optuna storage: where a study's trials live.

The default is a journal file under ``mlruns/``, safe for several processes on one machine.
An RDB URL (``postgresql://``, ``mysql://``, ``sqlite:///``) shares one study between
machines; the password of such a URL is never printed or logged.
"""

from __future__ import annotations

import os
from pathlib import Path

from rnnstudy.errors import StorageError
from rnnstudy.tracking import STORE
from rnnstudy.urls import redact

STORAGE_ENV = "RNNSTUDY_STORAGE"
JOURNAL_PREFIX = "journal:///"
RDB_PREFIXES = ("sqlite:", "postgresql", "mysql", "mariadb", "oracle", "mssql")


def default_storage_url() -> str:
    """``$RNNSTUDY_STORAGE`` or the journal file ``mlruns/optuna.journal``."""
    return os.environ.get(STORAGE_ENV) or JOURNAL_PREFIX + str((STORE / "optuna.journal").resolve())


def open_storage(url: str):
    """An Optuna storage for ``url``; one line naming the redacted URL when it cannot be opened."""
    import optuna

    try:
        if url.startswith(RDB_PREFIXES):
            return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
        path = Path(url.removeprefix(JOURNAL_PREFIX) if url.startswith(JOURNAL_PREFIX) else url)
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


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    connect = {"connect_timeout": 10} if url.startswith(("postgresql", "mysql", "mariadb")) else {}
    return {"pool_pre_ping": True, "connect_args": connect}
