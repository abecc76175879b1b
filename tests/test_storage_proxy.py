"""`rnnstudy storage-proxy`: Optuna's gRPC storage proxy in front of PostgreSQL, and workers
that take ``--storage grpc://…`` (issue 27, item 2). Real processes, a real PostgreSQL on
127.0.0.1; skipped with the reason where grpcio or the server is absent."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from conftest import free_port, wait_for

pytest.importorskip("grpc", reason="the storage proxy needs grpcio: pip install 'rnnstudy[proxy]'")


def _connections(cursor, database: str, pid: int) -> int:
    """The connections to ``database`` (pg_stat_activity) that process ``pid`` holds."""
    import psutil

    cursor.execute("SELECT client_port FROM pg_stat_activity WHERE datname = %s", (database,))
    ports = {port for (port,) in cursor.fetchall()}
    try:
        held = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return 0
    return sum(1 for c in held if c.laddr and c.laddr.port in ports)


@pytest.mark.slow  # a proxy and a command of two workers start: about a minute on a busy machine
def test_workers_share_a_study_through_the_proxy_which_hides_the_password_and_stops_on_sigterm(
    project, postgres_url
):
    import psycopg2

    from rnnstudy.stores.optuna_storage import MAX_CONNECTIONS

    database = postgres_url.rsplit("/", 1)[1]
    secret = postgres_url.replace(
        "postgresql://postgres@", "postgresql://postgres:hunter2@"
    )  # trust: ignored
    port = free_port()
    log = project.root / "proxy.log"
    with open(log, "w") as out:
        proxy = subprocess.Popen(
            [sys.executable, "-m", "rnnstudy", "storage-proxy", "--storage", secret, "--port", str(port)],
            cwd=project.root,
            env=project.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    project.started.append(proxy)
    wait_for(lambda: "workers take" in log.read_text() or proxy.poll() is not None, what="the proxy")
    assert proxy.poll() is None, log.read_text()
    grid = [0.1, 0.2, 0.3, 0.4]
    study_file = project.write_study("proxied", search={"score": grid}, fixed={"epochs": 2})

    done = project.run(study_file, "--workers", "2", "--storage", f"grpc://127.0.0.1:{port}")

    assert done.returncode == 0, done.stdout
    project.assert_exact("proxied", [{"score": s} for s in grid], storage_url=postgres_url)
    trials = project.study("proxied", postgres_url).get_trials()
    assert all("rnnstudy.heartbeat" in t.system_attrs for t in trials)  # beats went through it
    admin = psycopg2.connect(postgres_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    cursor = admin.cursor()
    held = _connections(cursor, database, proxy.pid)
    assert 1 <= held <= MAX_CONNECTIONS  # the workers went through it
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,))
    before = cursor.fetchone()[0]

    started = time.monotonic()
    proxy.send_signal(signal.SIGTERM)
    assert proxy.wait(timeout=30) == 128 + signal.SIGTERM
    text = log.read_text()
    assert time.monotonic() - started < 15
    assert "storage proxy stopped (SIGTERM)" in text and "Traceback" not in text, text
    assert "hunter2" not in text and "postgres:***@" in text

    def left() -> int:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,))
        return cursor.fetchone()[0]

    wait_for(lambda: left() == before - held, timeout=10, what="the proxy's connections to end")
    admin.close()


def test_a_proxy_that_is_not_there_is_one_line(project):
    study_file = project.write_study("nowhere", search={"score": [0.1]})
    result = project.run(study_file, "--storage", f"grpc://127.0.0.1:{free_port()}", timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stdout
    assert "did not answer within" in lines[0] and "rnnstudy storage-proxy" in lines[0]


def test_the_proxy_refuses_a_journal_file_in_one_line(project):
    result = subprocess.run(
        [sys.executable, "-m", "rnnstudy", "storage-proxy", "--storage", "journal:///tmp/x.journal"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "serves a database" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
