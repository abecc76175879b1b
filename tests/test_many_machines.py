"""Many machines on one PostgreSQL: commands that start together against a fresh MLflow
database, and the number of database connections each process holds (issue 27).

Every test talks to the PostgreSQL of scripts/services.sh on 127.0.0.1 (fresh databases,
dropped afterwards) and skips with its reason where that server is absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import POSTGRES_ADMIN, POSTGRES_ENV, free_port, fresh_database

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


# --- bounded connections -------------------------------------------------------------------


def _connections(cursor, database: str) -> list[int]:
    """The client ports of the connections to ``database`` now (pg_stat_activity)."""
    cursor.execute(
        "SELECT client_port FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
        (database,),
    )
    return [port for (port,) in cursor.fetchall()]


@pytest.fixture
def admin_cursor():
    """A cursor on PostgreSQL's admin database, whose own connection counts in no test database."""
    import psycopg2

    connection = psycopg2.connect(os.environ.get(POSTGRES_ENV, POSTGRES_ADMIN), connect_timeout=5)
    connection.autocommit = True
    try:
        yield connection.cursor()
    finally:
        connection.close()


def _hammer(use, threads: int = 8, seconds: float = 2.0) -> None:
    """``use()`` from ``threads`` threads at once, over and over for ``seconds``."""
    deadline = time.monotonic() + seconds
    errors: list[BaseException] = []

    def loop():
        try:
            while time.monotonic() < deadline:
                use()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors


def _held(cursor, database: str) -> int:
    """This process's open connections to ``database``: the server's list, less the backends
    whose client already closed (a connection given back beyond the pool's lingers there a
    moment while its backend exits)."""
    import psutil

    ports = set(_connections(cursor, database))
    return sum(1 for c in psutil.Process().net_connections(kind="tcp") if c.laddr and c.laddr.port in ports)


def _peak(cursor, database: str, during) -> int:
    """The most connections to ``database`` this process held while ``during()`` ran in a thread."""
    done = threading.Event()
    runner = threading.Thread(target=lambda: (during(), done.set()))
    runner.start()
    peak = 0
    while not done.is_set():
        peak = max(peak, _held(cursor, database))
        time.sleep(0.02)
    runner.join()
    return peak


def test_eight_threads_of_one_process_share_at_most_three_optuna_connections(postgres_url, admin_cursor):
    """Optuna's default pool would open one connection per thread (5 kept, 10 more)."""
    import optuna

    from rnnstudy.stores.optuna_storage import MAX_CONNECTIONS, POOL_SIZE, open_storage

    storage = open_storage(postgres_url)
    study = optuna.create_study(study_name="threads", storage=storage)
    database = postgres_url.rsplit("/", 1)[1]

    peak = _peak(admin_cursor, database, lambda: _hammer(lambda: study.tell(study.ask(), 1.0)))

    assert MAX_CONNECTIONS == 3 and 2 <= peak <= MAX_CONNECTIONS
    assert _held(admin_cursor, database) == POOL_SIZE  # kept while idle


def test_sixteen_threads_of_one_process_share_at_most_eight_mlflow_connections(postgres_url, admin_cursor):
    """MLflow's default pool would open one connection per thread (5 kept, 10 more)."""
    from rnnstudy.stores.mlflow_tracking import MAX_CONNECTIONS, POOL_SIZE, Tracker

    tracker = Tracker(postgres_url)
    database = postgres_url.rsplit("/", 1)[1]

    peak = _peak(admin_cursor, database, lambda: _hammer(tracker.client.search_experiments, threads=16))

    assert MAX_CONNECTIONS == 8 and 2 <= peak <= MAX_CONNECTIONS
    assert _held(admin_cursor, database) == POOL_SIZE  # kept while idle


@pytest.fixture
def tracking_database(postgres_url):
    """A second fresh database on the same server, for MLflow (Optuna's and MLflow's tables
    cannot share one: both keep an ``alembic_version``)."""
    import psycopg2

    admin = os.environ.get(POSTGRES_ENV, POSTGRES_ADMIN)
    name = f"{postgres_url.rsplit('/', 1)[1]}_mlflow"
    with fresh_database(psycopg2.connect(admin, connect_timeout=5), admin, name) as url:
        yield url


class ConnectionSampler:
    """Samples, until stopped, who holds connections to two databases: the server's count
    (pg_stat_activity) and, by client port, each of our processes' (psutil)."""

    def __init__(self, cursor, databases: dict[str, str], groups: list[int]) -> None:
        self.cursor, self.databases, self.groups = cursor, databases, groups
        self.total_peak = dict.fromkeys(databases, 0)  # store -> most connections at once
        self.process_peak: dict[tuple[int, str], int] = {}  # (pid, store) -> most at once
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            ports = {}
            for store, database in self.databases.items():
                found = _connections(self.cursor, database)
                self.total_peak[store] = max(self.total_peak[store], len(found))
                ports.update(dict.fromkeys(found, store))
            held: dict[tuple[int, str], int] = {}
            for connection in psutil.net_connections(kind="tcp"):
                if connection.pid and connection.laddr and connection.laddr.port in ports:
                    try:
                        ours = os.getpgid(connection.pid) in self.groups
                    except ProcessLookupError:
                        continue
                    if ours:
                        key = (connection.pid, ports[connection.laddr.port])
                        held[key] = held.get(key, 0) + 1
            for key, count in held.items():
                self.process_peak[key] = max(self.process_peak.get(key, 0), count)
            self.samples += 1
            time.sleep(0.05)


@pytest.mark.slow  # nine processes start on a busy machine: about a minute or two
def test_three_commands_of_two_workers_hold_at_most_the_documented_connections(
    project, postgres_url, tracking_database, admin_cursor, tmp_path
):
    """N = 3 commands × W = 2 workers share a study on PostgreSQL (Optuna storage and MLflow
    store both there, both fresh): each process holds at most 3 + 8 connections, all of them
    together at most connections_bound(3, 2), and the study ends exact."""
    from rnnstudy.stores.mlflow_tracking import MAX_CONNECTIONS as TRACKER_CONNECTIONS
    from rnnstudy.stores.optuna_storage import MAX_CONNECTIONS, connections_bound

    grid = [round(0.05 * (i + 1), 2) for i in range(12)]
    study_file = project.write_study(
        "shared", search={"score": grid}, fixed={"epochs": 2, "epoch_seconds": 0.3}
    )
    rendezvous = tmp_path / "rendezvous"
    rendezvous.mkdir()
    project.env["SCRIPTED_RENDEZVOUS"] = f"{rendezvous}:6"  # all six workers run a trial at once
    args = (study_file, "--workers", "2", "--storage", postgres_url, "--tracking-uri", tracking_database)
    databases = {
        "optuna": postgres_url.rsplit("/", 1)[1],
        "mlflow": tracking_database.rsplit("/", 1)[1],
    }

    commands = [project.start(*args, log=f"{n}.log") for n in range(3)]
    with ConnectionSampler(admin_cursor, databases, [c.pid for c in commands]) as sampler:
        codes = [c.wait(timeout=600) for c in commands]

    for n, code in enumerate(codes):
        assert code == 0, project.log(f"{n}.log")
    project.assert_exact(
        "shared", [{"score": s} for s in grid], storage_url=postgres_url, tracking_uri=tracking_database
    )
    processes = {pid for pid, _ in sampler.process_peak}
    per_store = {
        store: max(count for (_, s), count in sampler.process_peak.items() if s == store)
        for store in databases
    }
    print(
        f"{sampler.samples} samples; {len(processes)} processes held connections; most per process "
        f"{per_store}; most at once {sampler.total_peak} (bound {connections_bound(3, 2)}); "
        f"per process {sorted(sampler.process_peak.items())}"
    )
    assert len(processes) >= 3 * (2 + 1)  # every driver and every worker was seen
    assert per_store["optuna"] <= MAX_CONNECTIONS and per_store["mlflow"] <= TRACKER_CONNECTIONS
    assert sampler.total_peak["optuna"] <= connections_bound(3, 2, tracking=False)
    assert sum(sampler.total_peak.values()) <= connections_bound(3, 2)
