"""The MLflow UI (`rnnstudy ui`) in a real headless browser, and optuna-dashboard
(`rnnstudy dashboard`), each started as a real server process over the tiny study's stores;
both stopped by SIGTERM, SIGHUP and Ctrl-C with nothing left running on the port.

The browser is Debian's Chromium (`scripts/install-system.sh` installs it), driven by
Playwright with the same flags that Chromium was checked with on these machines; Playwright
never downloads a browser of its own here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import free_port

from rnnstudy.cli import cli

ROOT = Path(__file__).resolve().parents[1]
REQUIRE_ENV = "RNNSTUDY_REQUIRE_SERVICES"  # as in conftest.py: set, a missing service fails
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Server:
    """A command run as its own process group, stopped with everything it started."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        # this checkout's rnnstudy, whatever the working directory and the editable install say
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rnnstudy", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def wait_for(self, url: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"{url} did not answer in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _browser_or_skip():
    """Playwright and Debian's Chromium; with $RNNSTUDY_REQUIRE_SERVICES set their absence is
    a failure, not a skip."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = [
        what for what, ok in (("playwright", sync_playwright), (str(CHROMIUM), CHROMIUM.exists())) if not ok
    ]
    if missing:
        message = f"{', '.join(missing)} not installed: run `make setup` (scripts/install-system.sh)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{message} (and ${REQUIRE_ENV} is set)")
        pytest.skip(message)
    return sync_playwright


@pytest.mark.slow  # the MLflow UI in Chromium: about 20 s
def test_mlflow_ui_shows_the_study_and_its_trial_runs(tiny_study, tmp_path):
    sync_playwright = _browser_or_skip()
    port = free_port()
    server = Server(
        ["ui", "--tracking-uri", tiny_study.tracking_uri, "--port", str(port)], tmp_path / "ui.log"
    )
    try:
        server.wait_for(f"http://127.0.0.1:{port}/health")
        printed = (tmp_path / "ui.log").read_text()
        assert f"MLflow UI at http://127.0.0.1:{port}" in printed
        study_link = next(line.split(": ", 1)[1] for line in printed.splitlines() if "tiny-grid:" in line)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"),  # a fresh profile every run
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 800},
            )
            try:
                page = browser.new_page()
                page.goto(study_link, wait_until="load", timeout=60_000)
                parent = page.locator("[role=row]").filter(has_text=tiny_study.name).first
                parent.wait_for(timeout=90_000)
                assert page.get_by_text(tiny_study.name).count() >= 1  # the experiment ...
                # ... whose parent run opens onto the trial runs
                parent.locator("button[data-component-id*=runnamecellrenderer]").click()
                for trial in range(4):
                    page.get_by_text(f"trial-{trial:03d}").first.wait_for(timeout=30_000)
                screenshot = tmp_path / "mlflow-ui.png"
                page.screenshot(path=str(screenshot))
                assert screenshot.stat().st_size > 20_000
                print(f"screenshot: {screenshot}")
            finally:
                browser.close()
    finally:
        server.stop()


def test_optuna_dashboard_serves_the_study(tiny_study, tmp_path):
    port = free_port()
    server = Server(
        ["dashboard", "--storage", tiny_study.storage, "--port", str(port)], tmp_path / "dash.log"
    )
    try:
        server.wait_for(f"http://127.0.0.1:{port}/api/meta", timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=10) as response:
            studies = json.load(response)["study_summaries"]
        (summary,) = [s for s in studies if s["study_name"] == tiny_study.name]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/studies/{summary['study_id']}", timeout=30
        ) as r:
            study = json.load(r)
    finally:
        server.stop()
    assert [t["state"] for t in study["trials"]] == ["Complete"] * 4
    points = {tuple(int(p["param_external_value"]) for p in t["params"]) for t in study["trials"]}
    assert points == {(2, 2), (2, 3), (4, 2), (4, 3)}
    assert study["directions"] == ["maximize"]


# --- stopping: SIGTERM, SIGHUP and Ctrl-C end the server and everything it started ------------

SERVERS = {
    # command line after `rnnstudy` (a store made in the test's folder), the URL that answers
    "ui": (["ui", "--tracking-uri", "sqlite:///{tmp}/mlflow.db"], "/health"),
    "dashboard": (["dashboard", "--storage", "{tmp}/optuna.journal"], "/api/meta"),
}
STOPS = {signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGINT: 130}


def _processes() -> dict[int, tuple[int, int, str, str]]:
    """Every process: pid -> (parent, process group, state, start time) from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:  # it ended while we looked
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            found[int(entry)] = (int(fields[1]), int(fields[2]), fields[0], fields[19])
    return found


def _family(pid: int, table: dict[int, tuple[int, int, str, str]]) -> dict[int, str]:
    """``pid`` and its descendants in ``table``: pid -> start time (which tells a reused pid apart)."""
    family, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        family[parent] = table[parent][3]
        todo += [child for child, (ppid, *_) in table.items() if ppid == parent and child not in family]
    return family


def _left_running(family: dict[int, str], groups: set[int]) -> list[str]:
    """Processes of ``family``, or of its process groups, that still run (zombies are ended)."""
    return [
        _command_line(pid)
        for pid, (_, group, state, start) in _processes().items()
        if state not in "ZX" and (family.get(pid) == start or group in groups)
    ]


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return str(pid)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # SO_REUSEADDR as servers bind: connections the server closed (TIME_WAIT) do not hold it
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize(
    "command, stop",
    [
        # the MLflow UI takes 20-30 s a case: in the slow tests; the dashboard by default
        pytest.param(command, stop, marks=[pytest.mark.slow] if command == "ui" else [])
        for command in SERVERS
        for stop in STOPS
    ],
    ids=lambda value: signal.Signals(value).name if isinstance(value, int) else value,
)
def test_a_stopped_server_leaves_nothing_running_and_frees_its_port(command, stop, tmp_path):
    args, health = SERVERS[command]
    port = free_port()
    server = Server([a.format(tmp=tmp_path) for a in args] + ["--port", str(port)], tmp_path / "log")
    groups: set[int] = set()
    try:
        server.wait_for(f"http://127.0.0.1:{port}{health}")
        table = _processes()  # one snapshot: a child may end between two reads of /proc
        family = _family(server.process.pid, table)
        groups |= {table[pid][1] for pid in family}
        if command == "ui":  # the command, mlflow ui, its uvicorn and its job runner at least
            assert len(family) >= 4, family
        if stop == signal.SIGINT:
            os.killpg(server.process.pid, stop)  # as Ctrl-C: to the terminal's process group
        else:
            os.kill(server.process.pid, stop)  # as `kill`, a supervisor or a closed terminal
        code = server.process.wait(timeout=30)  # it stops, within a bound
        left = _left_running(family, groups)
    finally:
        server.stop()
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)  # what a failed test left
    log = server.log.read_text()
    assert left == []
    assert _port_is_free(port)
    assert code == STOPS[stop], log
    assert log.rstrip().splitlines()[-1].endswith(f"stopped ({signal.Signals(stop).name})"), log
    assert "Traceback" not in log


@pytest.mark.parametrize("command", list(SERVERS))
def test_a_taken_port_is_one_line_and_exit_2_before_anything_starts(command, tmp_path):
    args, _ = SERVERS[command]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, [a.format(tmp=tmp_path) for a in args] + ["--port", str(port)])
    assert result.exit_code == 2
    assert result.output == (
        f"Error: port {port} on 127.0.0.1 is not free (Address already in use); "
        "pick another with --port PORT\n"
    )
    assert list(tmp_path.iterdir()) == []  # no store was opened or made
