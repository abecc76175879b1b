"""rnnstudy.servers on small stand-ins for the real servers (tests/test_ui.py stops the real
ones): a server whose children ignore SIGTERM, one that exits and leaves a child, and a WSGI
app stopped in the middle of a request. Whatever sends a signal runs in a child Python, so a
broken handler can never end pytest itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

from rnnstudy.tools import servers

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _runs(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended; nobody may be left to reap it here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def _kill(*pids: int) -> None:
    """SIGKILL to what a failed test left running (a command's pid is its group's too)."""
    for pid in pids:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except OSError:  # ended, or not a group leader
                pass


def _python(script: str, tmp_path: Path) -> subprocess.Popen:
    """``script`` in a child Python that imports this checkout's rnnstudy."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written in {timeout} s")


def test_serve_ends_the_whole_group_with_sigkill_when_sigterm_is_not_enough(tmp_path):
    # the "server" starts a child that ignores SIGTERM, as the job consumers seemed to
    server = textwrap.dedent("""
        import os, signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited: the child ignores it too
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open("pids", "w").write(f"{os.getpid()} {child.pid}\\n")
        time.sleep(120)
    """)
    command = _python(
        f"""
        import sys
        from rnnstudy.tools import servers
        sys.exit(servers.serve([sys.executable, "-c", {server!r}], name="Stand-in", grace=1.0))
        """,
        tmp_path,
    )
    pids = []
    try:
        pids += map(int, _wait_for(tmp_path / "pids", command).split())
        command.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = command.wait(timeout=20)
        took = time.monotonic() - started
        left = [pid for pid in pids if _runs(pid)]
    finally:
        _kill(command.pid, *pids)
    assert code == 143
    assert command.stderr.read() == "Stand-in stopped (SIGTERM)\n"
    assert took >= 1.0  # the grace, then SIGKILL (wait's timeout bounds it from above)
    assert left == []


def test_serve_passes_on_the_servers_exit_code_and_ends_what_it_left(tmp_path):
    server = (
        "import subprocess; p = subprocess.Popen(['sleep', '120']); open('pid', 'w').write(f'{p.pid}\\n')"
    )
    started = time.monotonic()
    code = servers.serve([sys.executable, "-c", server + "; raise SystemExit(3)"], name="x", grace=120)
    took = time.monotonic() - started
    child = int((Path.cwd() / "pid").read_text())
    left = _runs(child)
    _kill(child)
    assert code == 3
    assert took < 120  # sleep ended at SIGTERM, with no need of the grace
    assert not left


def test_serve_wsgi_stops_in_the_middle_of_a_request_and_frees_the_port(tmp_path):
    port = free_port()
    command = _python(
        f"""
        import sys, time
        from rnnstudy.tools import servers

        def app(environ, start_response):
            open("serving", "w").write("yes\\n")
            time.sleep(60)  # a slow request: the stop must not wait for it
            start_response("200 OK", [])
            return [b"late"]

        sys.exit(servers.serve_wsgi(app, port={port}, name="Stand-in", grace=1.0))
        """,
        tmp_path,
    )
    request = threading.Thread(
        target=lambda: _ignore(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)),
        daemon=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            assert time.monotonic() < deadline and command.poll() is None, command.stderr.read()
            time.sleep(0.05)
        request.start()
        _wait_for(tmp_path / "serving", command)
        command.send_signal(signal.SIGHUP)
        code = command.wait(timeout=20)
    finally:
        _kill(command.pid)
    assert code == 129
    assert command.stderr.read().splitlines()[-1] == "Stand-in stopped (SIGHUP)"
    servers.check_port(port)  # free


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _ignore(call) -> None:
    try:
        call()
    except OSError:
        pass


def test_check_port_names_a_taken_port_and_passes_a_free_one():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(servers.PortTakenError) as raised:
            servers.check_port(port)
    assert str(raised.value) == (
        f"port {port} on 127.0.0.1 is not free (Address already in use); pick another with --port PORT"
    )
    servers.check_port(port)  # closed: free again
