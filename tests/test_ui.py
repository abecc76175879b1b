"""The MLflow UI (`rnnstudy ui`) in a real headless browser, and optuna-dashboard
(`rnnstudy dashboard`), each started as a real server process over the tiny study's stores.

The browser is Debian's Chromium (`scripts/install-system.sh` installs it), driven by
Playwright with the same flags that Chromium was checked with on these machines; Playwright
never downloads a browser of its own here.
"""

from __future__ import annotations

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A command run as its own process group, stopped with everything it started."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rnnstudy", *args],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
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
    """Playwright and Debian's Chromium; in CI their absence is a failure, not a skip."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = [
        what for what, ok in (("playwright", sync_playwright), (str(CHROMIUM), CHROMIUM.exists())) if not ok
    ]
    if missing:
        message = f"{', '.join(missing)} not installed: run `make setup` (scripts/install-system.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return sync_playwright


def test_mlflow_ui_shows_the_study_and_its_trial_runs(tiny_study, tmp_path):
    sync_playwright = _browser_or_skip()
    port = _free_port()
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
    port = _free_port()
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
