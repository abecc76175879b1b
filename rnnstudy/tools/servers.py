"""Servers that stop with the command that started them: `rnnstudy ui`, `rnnstudy dashboard`
and `rnnstudy storage-proxy`.

`mlflow ui` starts uvicorn workers and job consumers of its own; a command that merely dies on
SIGTERM leaves them all serving on its port. :func:`serve` starts such a server in a session
(so a process group) of its own and ends the whole group, SIGTERM then SIGKILL after a grace
period, when the server exits or the command gets SIGINT, SIGTERM or SIGHUP. :func:`serve_wsgi`
serves a WSGI app (optuna-dashboard's) from this process, which starts no other, and stops it
on the same signals with the same message and exit codes, and :func:`serve_storage_proxy`
serves Optuna's gRPC storage proxy the same way. A stop by signal N exits with
128 + N, as a shell reports it: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP.

The signal handlers only note the signal; the main thread polls for it. Raising from a handler
(as KeyboardInterrupt does) is not enough: wsgiref's request handler catches everything with
a bare ``except:``, logs it and serves on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from wsgiref.simple_server import make_server

from rnnstudy.errors import RnnstudyError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 5.0  # mlflow's uvicorn and job consumers end within a few seconds of SIGTERM
POLL_SECONDS = 0.1  # how soon a stop signal or a server's exit is noticed


class PortTakenError(RnnstudyError):
    """The port a server was asked to listen on cannot be bound."""


def check_port(port: int, host: str = "127.0.0.1") -> None:
    """Fail with one line naming the port when a server could not listen on it.

    Raises:
        PortTakenError: something listens there already, or the port is not ours to bind.
    """
    with socket.socket() as probe:
        # as servers bind: a port that only closed connections (TIME_WAIT) hold is free to them
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _taken(host, port, exc) from None


def _taken(host: str, port: int, exc: OSError) -> PortTakenError:
    return PortTakenError(
        f"port {port} on {host} is not free ({exc.strerror}); pick another with --port PORT"
    )


def serve(command: Sequence[str], *, name: str, grace: float = GRACE_SECONDS) -> int:
    """Run the server ``command`` until it exits or a stop signal arrives; then end its group.

    Args:
        command: the server's command line; it runs in a new session, stdin from /dev/null.
        name: what the stop message calls the server.
        grace: seconds between SIGTERM and SIGKILL to the server's process group.

    Returns:
        The exit code for the command: 128 + N after stop signal N, else the server's own
        (128 + N if signal N ended it).
    """
    with _StopSignals() as stop:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait(stop, lambda: process.poll() is None)
        finally:
            # also when the server exited by itself: what it started may still run
            _end_group(process, grace)
    if stop.signum is not None:
        return _stopped(name, stop.signum)
    code = process.returncode
    return 128 - code if code < 0 else code


def serve_wsgi(
    app: Callable, *, port: int, name: str, host: str = "127.0.0.1", grace: float = GRACE_SECONDS
) -> int:
    """Serve the WSGI ``app`` from this process (wsgiref) until a stop signal arrives.

    Returns:
        The exit code for the command: 128 + N after stop signal N; 1 if the server failed.
    """
    with _StopSignals() as stop:
        try:
            server = make_server(host, port, app)
        except OSError as exc:  # taken since check_port looked
            raise _taken(host, port, exc) from None
        thread = threading.Thread(target=server.serve_forever, name=f"{name} server", daemon=True)
        thread.start()
        try:
            _wait(stop, thread.is_alive)
        finally:
            # shutdown() waits for the request being served; give it the grace, no more
            threading.Thread(target=server.shutdown, daemon=True).start()
            thread.join(grace)
            server.server_close()  # the port is free from here on
    if stop.signum is not None:
        return _stopped(name, stop.signum)
    return 1  # serve_forever ended without a stop: its thread printed why


PROXY_THREADS = 10  # the proxy's request threads (Optuna's default); they share its storage's pool


def serve_storage_proxy(
    storage_url: str, *, port: int, host: str = "127.0.0.1", grace: float = GRACE_SECONDS
) -> int:
    """Serve Optuna's gRPC storage proxy over the RDB storage ``storage_url`` until a stop
    signal arrives; then let the calls in flight end (``grace`` seconds at most) and close
    the storage's connections.

    The proxy holds at most rnnstudy.stores.optuna_storage.MAX_CONNECTIONS database
    connections, whatever the number of workers behind it; its PROXY_THREADS request threads
    wait for them in turn.

    Returns:
        The exit code for the command: 128 + N after stop signal N.
    """
    from rnnstudy.stores import optuna_internals
    from rnnstudy.stores.optuna_storage import RDB_PREFIXES, open_storage
    from rnnstudy.urls import redact

    if not storage_url.startswith(RDB_PREFIXES):
        raise ProxyStorageError(
            f"the storage proxy serves a database, not {redact(storage_url)}; give "
            "--storage postgresql://USER@HOST/DB (Optuna's proxy cannot serve a journal file, "
            "nor another proxy)"
        )
    check_port(port, host)
    with _StopSignals() as stop:
        storage = open_storage(storage_url)
        server = optuna_internals.grpc_proxy_server(storage, host, port, PROXY_THREADS)
        try:
            server.start()
        except RuntimeError as exc:  # taken since check_port looked
            raise _taken(host, port, OSError(str(exc))) from None
        print(
            f"Optuna storage proxy for {redact(storage_url)} on {host}:{port}; workers take "
            f"--storage grpc://{host}:{port}; Ctrl-C or SIGTERM stops it",
            file=sys.stderr,
            flush=True,
        )
        try:
            _wait(stop, lambda: True)
        finally:
            server.stop(grace).wait(grace)
            storage.engine.dispose()  # its connections end now, not when the process does
    return _stopped("Optuna storage proxy", stop.signum)


class ProxyStorageError(RnnstudyError):
    """The storage proxy was given a storage it cannot serve."""


def _wait(stop: _StopSignals, running: Callable[[], bool]) -> None:
    while stop.signum is None and running():
        time.sleep(POLL_SECONDS)


def _stopped(name: str, signum: int) -> int:
    print(f"{name} stopped ({signal.Signals(signum).name})", file=sys.stderr, flush=True)
    return 128 + signum


class _StopSignals:
    """Within the with-block, SIGINT, SIGTERM and SIGHUP are noted (the first one counts)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict = {}

    def _note(self, signum: int, frame) -> None:
        if self.signum is None:
            self.signum = signum

    def __enter__(self) -> _StopSignals:
        self._previous = {signum: signal.signal(signum, self._note) for signum in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _end_group(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the process group led by ``process``; SIGKILL to what is left after ``grace``."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _group_runs(group):
        process.poll()  # reap the leader as soon as it ends
        if time.monotonic() > deadline:
            _signal_group(group, signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has ended
        os.killpg(group, signum)


def _group_runs(group: int) -> bool:
    """Whether a process of the group still runs. Zombies do not count: orphans whose init
    does not reap them (as in some containers) stay zombies, and no signal ends them."""
    try:
        entries = os.listdir("/proc")
    except FileNotFoundError:  # no /proc (macOS): the kernel's answer, zombies included
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                stat = file.read()
        except OSError:  # it ended while we looked
            continue
        state, _parent, process_group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(process_group) == group and state not in "ZX":
            return True
    return False
