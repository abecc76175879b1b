"""Many machines on one PostgreSQL: commands that start together against a fresh MLflow
database, and the number of database connections each process holds (issue 27).

Every test talks to the PostgreSQL of scripts/services.sh on 127.0.0.1 (fresh databases,
dropped afterwards) and skips with its reason where that server is absent.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from conftest import free_port

# a process that opens the MLflow store the way every command does, at a given instant
OPEN_TRACKER = textwrap.dedent(
    """
    import sys, time
    from rnnstudy.stores.mlflow_tracking import Tracker

    uri, start = sys.argv[1], float(sys.argv[2])
    time.sleep(max(0.0, start - time.time()))
    tracker = Tracker(uri)
    tracker.check()
    run = tracker.client.create_run(tracker.client.get_experiment_by_name("Default").experiment_id)
    tracker.finish(run.info.run_id, "FINISHED")
    print("opened", run.info.run_id)
    """
)


@pytest.mark.slow  # 40 s on two busy cores: three MLflow imports and its tables made once
def test_three_commands_opening_a_fresh_mlflow_database_at_once_all_go_on(postgres_url, tmp_path):
    """Unlocked, two of three such processes die with UniqueViolation (pg_type or
    alembic_version): MLflow's schema creation races. The URL names no driver: psycopg 3."""
    assert postgres_url.startswith("postgresql://")
    script = tmp_path / "open_tracker.py"
    script.write_text(OPEN_TRACKER)
    start = time.time() + 8  # all three have imported MLflow by then, on a busy machine too
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), postgres_url, str(start)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in processes]

    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output
        assert "opened" in output and "Violation" not in output

    from mlflow import MlflowClient

    runs = MlflowClient(postgres_url).search_runs(["0"])
    assert len(runs) == 3 and {r.info.status for r in runs} == {"FINISHED"}


def test_an_unreachable_postgresql_tracking_store_is_one_line_without_its_password():
    from rnnstudy.errors import StorageError
    from rnnstudy.stores.mlflow_tracking import Tracker

    url = f"postgresql://bob:hunter2@127.0.0.1:{free_port()}/mlflow"
    started = time.monotonic()
    with pytest.raises(StorageError) as raised:
        Tracker(url)

    message = str(raised.value)
    assert time.monotonic() - started < 30  # not MLflow's own minutes of retries
    assert "\n" not in message and "hunter2" not in message
    assert "postgresql://bob:***@127.0.0.1" in message and "--tracking-uri" in message


def test_the_schema_lock_is_released_when_the_store_is_open(postgres_url):
    """The lock lives only while a Tracker opens the store: a second one in another session
    takes it at once."""
    import psycopg2

    from rnnstudy.stores.mlflow_tracking import SCHEMA_LOCK_KEY, Tracker

    Tracker(postgres_url)
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        assert cursor.fetchone()[0] is True
        cursor.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
