"""The Optuna storage under load (issue 27): rnnstudy's commands beside plain Optuna processes,
on the journal file, PostgreSQL direct and PostgreSQL through the storage proxy.

For each storage and each process count P, two runs on a fresh store:

- rnnstudy: C commands (``--commands``) of P / C workers each, on a grid of P × T points of a
  fake model (tests/scripted's ``scripted_fit``: one epoch, no sleep, no training); MLflow on
  a SQLite file of the run's own (it is no part of the storage's figures);
- plain Optuna: P processes, each ``study.optimize`` with a trivial objective for T trials,
  paced to the trial rate of rnnstudy's run just before (its objective sleeps P / rate s), so
  that both put the storage under the same load; ``--unpaced`` runs it as fast as it goes.

Every process of both runs times itself with the same wrapper (a ``sitecustomize`` module
put first on its path; it changes nothing it times):

- ask: plain Optuna's ``Study.ask``; rnnstudy's claim of a waiting trial for a worker (the
  driver's ``_assign``: the WAITING → RUNNING move, the first heartbeat, the pipe to the worker);
- tell: ``Study.tell``, in both (rnnstudy's worker calls it after the MLflow run is ended);
- storage seconds: the time spent inside the storage's methods (outermost calls only), in
  every thread (heartbeats too) of every process, per trial finished: the per-trial storage
  overhead the goal is about (rnnstudy within 1.5× plain Optuna's at 32 processes).

Also printed: trials per second (trials over the span from the first trial's start to the
last one's end, so process start-up is left out), the most connections to the storage's
database at once (pg_stat_activity, sampled every 0.1 s) and lost or duplicated trials (a
grid point not COMPLETE, or COMPLETE twice; for plain Optuna, fewer COMPLETE than asked, or a
trial number twice).

Everything runs on 127.0.0.1 (PostgreSQL at $RNNSTUDY_TEST_POSTGRES or
postgresql://postgres@127.0.0.1:5432/postgres; a database made and dropped per run), each run
is bounded (``--timeout``), and every process group it starts is killed at the end.

    python benchmarks/storage.py --quick                  # every path, 4 processes, 2 trials each
    python benchmarks/storage.py                          # 8, 16, 32 processes, 4 commands, 10 trials each
    python benchmarks/storage.py --processes 8 --storages postgres,proxy --trials 5
    python benchmarks/storage.py --processes 8 --storages postgres --breakdown   # and the storage methods that took the time
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCRIPTED = ROOT / "tests" / "scripted" / "rnnstudy_scripted.py"
ADMIN = os.environ.get("RNNSTUDY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
STORAGES = ("journal", "postgres", "proxy")
TIMINGS_ENV = "RNNSTUDY_BENCH_TIMINGS"  # the folder each process writes its timings to

# imported by every process of a run (first on its PYTHONPATH): times ask, tell and the storage
TIMER = textwrap.dedent(
    """
    import atexit, functools, json, os, threading, time

    folder = os.environ.get("RNNSTUDY_BENCH_TIMINGS")
    if folder:
        path = os.path.join(folder, f"{os.getpid()}.jsonl")
        state = {"methods": {}}  # storage method -> [calls, seconds]
        local = threading.local()
        lock = threading.Lock()

        def write(line):
            with lock, open(path, "a") as out:
                out.write(line + "\\n")

        def totals():
            with lock:
                line = json.dumps(state)
            write(line)

        def timed(kind, function):
            @functools.wraps(function)
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    write(f'{{"{kind}": {time.perf_counter() - started}}}')
            return wrapper

        def in_storage(function):
            @functools.wraps(function)
            def wrapper(*args, **kwargs):
                depth = getattr(local, "depth", 0)
                local.depth = depth + 1
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    local.depth = depth
                    if depth == 0:  # a storage method that calls another counts once
                        seconds = time.perf_counter() - started
                        with lock:
                            method = state["methods"].setdefault(function.__name__, [0, 0.0])
                            method[0] += 1
                            method[1] += seconds
            return wrapper

        def patch():
            import optuna
            from optuna.storages import BaseStorage, JournalStorage, RDBStorage
            from optuna.storages._cached_storage import _CachedStorage

            classes = [RDBStorage, JournalStorage, _CachedStorage]
            try:
                from optuna.storages import GrpcStorageProxy
                classes.append(GrpcStorageProxy)
            except ImportError:
                pass
            names = [n for n, v in vars(BaseStorage).items() if callable(v) and not n.startswith("_")]
            for cls in classes:
                for name in names:
                    if name in vars(cls):
                        setattr(cls, name, in_storage(vars(cls)[name]))
            optuna.study.Study.ask = timed("ask", optuna.study.Study.ask)
            optuna.study.Study.tell = timed("tell", optuna.study.Study.tell)
            from optuna.study import _optimize  # study.optimize tells through this, not Study.tell

            _optimize._tell_with_warning = timed("tell", _optimize._tell_with_warning)
            if os.environ.get("RNNSTUDY_BENCH_RNNSTUDY"):
                from rnnstudy.run import driver

                driver._assign = timed("ask", driver._assign)  # rnnstudy's ask: a worker's claim

        patch()
        atexit.register(totals)

        def flush():
            while True:
                time.sleep(0.5)
                totals()

        threading.Thread(target=flush, daemon=True).start()
    """
)

PLAIN = textwrap.dedent(
    """
    import sys, time, optuna
    from optuna.storages import GrpcStorageProxy, JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    url, name, trials, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if url.startswith("grpc://"):
        host, port = url.removeprefix("grpc://").split(":")
        storage = GrpcStorageProxy(host=host, port=int(port))
        storage.wait_server_ready(timeout=30)
    elif url.startswith("postgresql"):
        storage = url
    else:
        storage = JournalStorage(JournalFileBackend(url, lock_obj=JournalFileOpenLock(url)))
    study = optuna.load_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler())


    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(pause)  # paced: as many trials a second as rnnstudy's run managed
        return x

    study.optimize(objective, n_trials=trials)
    """
)

ENTRY_POINTS = "[rnnstudy.datasets]\ntiny_table = rnnstudy_scripted:tiny_table\n\n[rnnstudy.models]\nscripted_fit = rnnstudy_scripted:ScriptedFit\n"


@dataclass
class Result:
    who: str
    storage: str
    processes: int
    layout: str
    trials: int = 0
    span_s: float = float("nan")
    ask: list[float] = field(default_factory=list)
    tell: list[float] = field(default_factory=list)
    methods: dict[str, list[float]] = field(default_factory=dict)  # storage method -> [calls, seconds]
    peak_connections: int | None = None
    lost: int = 0
    duplicated: int = 0
    note: str = ""

    @property
    def storage_s(self) -> float:
        """Seconds inside the storage's methods, every process and thread."""
        return sum(seconds for _, seconds in self.methods.values())

    def breakdown(self) -> str:
        """The storage methods that took the time: calls and milliseconds per trial finished."""
        if not self.trials:
            return ""
        ranked = sorted(self.methods.items(), key=lambda item: -item[1][1])
        parts = [
            f"{name} {calls / self.trials:.1f} × ({seconds / self.trials * 1000:.1f} ms)"
            for name, (calls, seconds) in ranked
        ]
        return f"#   {self.who}, per trial: " + ", ".join(parts)

    def row(self) -> str:
        per_trial = self.storage_s / self.trials * 1000 if self.trials else float("nan")
        rate = self.trials / self.span_s if self.span_s > 0 else float("nan")
        peak = "-" if self.peak_connections is None else str(self.peak_connections)
        return (
            f"| {self.storage} | {self.processes} | {self.who} ({self.layout}) | {self.trials} | {rate:.1f} | "
            f"{_ms(self.ask, 50)} / {_ms(self.ask, 99)} | {_ms(self.tell, 50)} / {_ms(self.tell, 99)} | "
            f"{per_trial:.1f} | {peak} | {self.lost} | {self.duplicated} |{' ' + self.note if self.note else ''}"
        )


HEADER = (
    "| storage | processes | who | trials | trials/s | ask p50 / p99 (ms) | tell p50 / p99 (ms) | "
    "storage ms per trial | peak connections | lost | duplicated |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def _ms(values: list[float], q: int) -> str:
    return f"{np.percentile(values, q) * 1000:.1f}" if values else "-"


class Group:
    """Processes started in their own process groups; every one still there is killed at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, command: list[str], *, env: dict, cwd: Path, log: Path) -> subprocess.Popen:
        with open(log, "w") as out:
            process = subprocess.Popen(
                command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append(process)
        return process

    def wait(self, processes: list[subprocess.Popen], deadline: float) -> list[int | None]:
        codes = []
        for process in processes:
            try:
                codes.append(process.wait(timeout=max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                codes.append(None)
        return codes

    def kill(self) -> None:
        for process in self.started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                process.wait(timeout=10)


class Connections:
    """The most client connections to ``database`` at once, sampled until stopped."""

    def __init__(self, database: str | None) -> None:
        self.database, self.peak = database, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        if self.database:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.database:
            self._thread.join()

    def _run(self) -> None:
        import psycopg2

        connection = psycopg2.connect(ADMIN, connect_timeout=5)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                while not self._stop.is_set():
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                        "AND backend_type = 'client backend'",
                        (self.database,),
                    )
                    self.peak = max(self.peak, cursor.fetchone()[0])
                    time.sleep(0.1)
        finally:
            connection.close()


@contextlib.contextmanager
def fresh_database():
    import psycopg2

    name = f"rnnstudy_bench_{uuid.uuid4().hex[:10]}"
    connection = psycopg2.connect(ADMIN, connect_timeout=5)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN.rsplit('/', 1)[0]}/{name}", name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def storage_for(kind: str, folder: Path, group: Group, env: dict):
    """``(url for the processes, database name or None)`` of a fresh store of ``kind``."""
    if kind == "journal":
        yield str(folder / "optuna.journal"), None
        return
    with fresh_database() as (url, name):
        if kind == "postgres":
            yield url, name
            return
        port = free_port()
        proxy = group.start(
            [sys.executable, "-m", "rnnstudy", "storage-proxy", "--storage", url, "--port", str(port)],
            env=env,
            cwd=folder,
            log=folder / "proxy.log",
        )
        deadline = time.monotonic() + 60
        while "workers take" not in (folder / "proxy.log").read_text():
            if proxy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the storage proxy did not start: {(folder / 'proxy.log').read_text()[-500:]}"
                )
            time.sleep(0.2)
        try:
            yield f"grpc://127.0.0.1:{port}", name
        finally:
            proxy.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proxy.wait(timeout=15)


def environment(folder: Path) -> dict:
    """What every process gets: the timing wrapper and the scripted plugin first on its path."""
    site = folder / "site"
    dist = site / "rnnstudy_scripted-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rnnstudy-scripted\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    shutil.copy(SCRIPTED, site)
    (site / "sitecustomize.py").write_text(TIMER)
    env = {k: v for k, v in os.environ.items() if k not in ("RNNSTUDY_STORAGE", "MLFLOW_TRACKING_URI")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        MLFLOW_DISABLE_TELEMETRY="true",
        RNNSTUDY_CACHE_DIR=str(folder / "cache"),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    return env


def read_timings(folder: Path, result: Result) -> None:
    for path in folder.glob("*.jsonl"):
        totals = {}
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut off by the end of its process
                continue
            if "ask" in record:
                result.ask.append(record["ask"])
            elif "tell" in record:
                result.tell.append(record["tell"])
            else:
                totals = record  # cumulative: the last is the process's total
        for name, (calls, seconds) in totals.get("methods", {}).items():
            method = result.methods.setdefault(name, [0, 0.0])
            method[0] += calls
            method[1] += seconds


def open_study(url: str, name: str):
    import optuna

    from rnnstudy.stores.optuna_storage import open_storage

    return optuna.load_study(study_name=name, storage=open_storage(url))


def span(trials) -> float:
    done = [t for t in trials if t.datetime_complete is not None]
    if not done:
        return float("nan")
    return (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()


def run_rnnstudy(kind: str, processes: int, commands: int, trials: int, root: Path, timeout: float) -> Result:
    workers = max(1, processes // commands)
    result = Result("rnnstudy", kind, commands * workers, f"{commands} × {workers}")
    folder = Path(tempfile.mkdtemp(prefix="rnnstudy-", dir=root))
    timings = folder / "timings"
    timings.mkdir()
    env = environment(folder)
    group = Group()
    grid = [round((i + 1) / (processes * trials + 1), 6) for i in range(processes * trials)]
    (folder / "bench.py").write_text(
        "from rnnstudy import Study\n\nstudy = Study(dataset='tiny_table', model='scripted_fit', optimizer='sgd', "
        f"search={{'score': {grid!r}}}, fixed={{'epochs': 1}}, name='bench')\n"
    )
    try:
        with storage_for(kind, folder, group, env) as (url, database):
            env.update({TIMINGS_ENV: str(timings), "RNNSTUDY_BENCH_RNNSTUDY": "1"})
            args = [sys.executable, "-m", "rnnstudy", "optimize", "bench.py", "--workers", str(workers)]
            args += ["--storage", url, "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"]
            deadline = time.monotonic() + timeout
            with Connections(database) as connections:
                started = [group.start(args, env=env, cwd=folder, log=folder / "0.log")]
                if kind == "proxy":  # no study lock through the proxy: one command sets the study up first
                    while "trial(s) to run" not in (folder / "0.log").read_text():
                        if started[0].poll() is not None or time.monotonic() > deadline:
                            break
                        time.sleep(0.2)
                started += [
                    group.start(args, env=env, cwd=folder, log=folder / f"{n}.log")
                    for n in range(1, commands)
                ]
                codes = group.wait(started, deadline)
            result.peak_connections = connections.peak if database else None
            if any(code != 0 for code in codes):
                result.note = f"exit codes {codes}: {(folder / '0.log').read_text()[-300:]!r}"
            found = open_study(url, "bench").get_trials(deepcopy=False)
            complete = [t.params.get("score") for t in found if t.state.name == "COMPLETE"]
            result.trials = len(complete)
            result.span_s = span(found)
            counts = {score: complete.count(score) for score in set(complete)}
            result.lost = sum(1 for score in grid if score not in counts)
            result.duplicated = sum(n - 1 for n in counts.values())
            read_timings(timings, result)
    finally:
        group.kill()
    return result


def run_plain(
    kind: str, processes: int, trials: int, root: Path, timeout: float, pause: float = 0.0
) -> Result:
    """``pause``: seconds each trial's objective sleeps, so that the storage sees the trial rate
    of rnnstudy's run (0: as fast as it goes)."""
    import optuna

    layout = f"{processes} processes" + (f", paced {pause:.1f} s" if pause else "")
    result = Result("plain Optuna", kind, processes, layout)
    folder = Path(tempfile.mkdtemp(prefix="plain-", dir=root))
    timings = folder / "timings"
    timings.mkdir()
    env = environment(folder)
    (folder / "plain.py").write_text(PLAIN)
    group = Group()
    try:
        with storage_for(kind, folder, group, env) as (url, database):
            made = _plain_storage(url)
            optuna.create_study(study_name="bench", storage=made)
            if isinstance(made, optuna.storages.RDBStorage):  # its connection would count in the peak
                made.engine.dispose()
            env[TIMINGS_ENV] = str(timings)
            command = [sys.executable, str(folder / "plain.py"), url, "bench", str(trials), str(pause)]
            deadline = time.monotonic() + timeout
            with Connections(database) as connections:
                started = [
                    group.start(command, env=env, cwd=folder, log=folder / f"{n}.log")
                    for n in range(processes)
                ]
                codes = group.wait(started, deadline)
            result.peak_connections = connections.peak if database else None
            if any(code != 0 for code in codes):
                result.note = f"exit codes {codes}: {(folder / '0.log').read_text()[-300:]!r}"
            found = optuna.load_study(study_name="bench", storage=_plain_storage(url)).get_trials(
                deepcopy=False
            )
            numbers = [t.number for t in found]
            result.trials = sum(t.state.name == "COMPLETE" for t in found)
            result.span_s = span(found)
            result.lost = processes * trials - result.trials
            result.duplicated = len(numbers) - len(set(numbers))
            read_timings(timings, result)
    finally:
        group.kill()
    return result


def _plain_storage(url: str):
    import optuna

    if url.startswith("grpc://"):
        import warnings

        host, port = url.removeprefix("grpc://").split(":")
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        proxy = optuna.storages.GrpcStorageProxy(host=host, port=int(port))
        proxy.wait_server_ready(timeout=30)
        return proxy
    if url.startswith("postgresql"):
        return optuna.storages.RDBStorage(url)
    journal = optuna.storages.journal
    return optuna.storages.JournalStorage(
        journal.JournalFileBackend(url, lock_obj=journal.JournalFileOpenLock(url))
    )


def main() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 processes (2 commands × 2), 2 trials each")
    parser.add_argument("--processes", default="8,16,32", help="worker process counts, comma-separated")
    parser.add_argument("--commands", type=int, default=4, help="rnnstudy commands sharing the processes")
    parser.add_argument("--trials", type=int, default=10, help="trials per process")
    parser.add_argument("--storages", default=",".join(STORAGES), help=f"of {', '.join(STORAGES)}")
    parser.add_argument("--timeout", type=float, default=600, help="seconds each run may take")
    parser.add_argument(
        "--unpaced",
        action="store_true",
        help="plain Optuna as fast as it goes, not paced to rnnstudy's trial rate (its storage then "
        "takes more calls at once, which is no like-for-like comparison)",
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="after each pair, the storage methods that took the time"
    )
    args = parser.parse_args()
    if args.quick:
        args.processes, args.commands, args.trials = "4", 2, 2
    counts = [int(n) for n in args.processes.split(",")]
    kinds = [k for k in args.storages.split(",") if k]
    if not set(kinds) <= set(STORAGES) or not counts or min(counts) < args.commands:
        parser.error(
            f"--storages of {', '.join(STORAGES)}; --processes at least --commands ({args.commands})"
        )
    load = os.getloadavg()
    print(
        f"# {platform.node()}: {os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start; "
        f"Python {platform.python_version()}; {args.trials} trials per process, rnnstudy in {args.commands} commands",
        flush=True,
    )
    print(HEADER, flush=True)
    root = Path(tempfile.mkdtemp(prefix="rnnstudy-bench-storage-"))
    try:
        for kind in kinds:
            for processes in counts:
                ours = run_rnnstudy(kind, processes, args.commands, args.trials, root, args.timeout)
                rate = ours.trials / ours.span_s if ours.trials and ours.span_s > 0 else 0.0
                pause = 0.0 if args.unpaced or not rate else processes / rate  # a process's seconds a trial
                plain = run_plain(kind, processes, args.trials, root, args.timeout, pause)
                print(ours.row(), plain.row(), sep="\n", flush=True)
                if args.breakdown:
                    print(ours.breakdown(), plain.breakdown(), sep="\n", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()
    print(f"# load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end", flush=True)


if __name__ == "__main__":
    main()
