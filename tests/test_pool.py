"""Workers start before the study is checked (rnnstudy.run._pool): those not needed after all are
killed before they write anything, and none is left behind."""

import multiprocessing
import os

import pytest
from click.testing import CliRunner

from rnnstudy.cli import cli
from rnnstudy.run import _worker as worker
from rnnstudy.run._pool import Pool

STUDY = """
from rnnstudy import Study
study = Study(dataset="tiny_images", model="tiny_mlp", search={search}, fixed={{"epochs": 1, "batch_size": 16}})
"""


@pytest.fixture
def started(monkeypatch):
    """Every worker process the pool starts, in order."""
    procs = []
    start = Pool.start

    def spy(self):
        start(self)
        procs.append(list(self.procs.values())[-1])

    monkeypatch.setattr(Pool, "start", spy)
    return procs


def optimize(path, *args):
    return CliRunner().invoke(cli, ["optimize", str(path), "--workers", "2", *args])


def test_a_study_that_fails_its_check_kills_its_waiting_workers(plugin_dist, make_study, workdir, started):
    result = optimize(make_study(STUDY.format(search={"units": [2, 4], "colour": [1]})))

    assert result.exit_code == 2 and "unknown hyperparameter(s) colour" in result.output, result.output
    assert len(started) == 2, "both workers start before the check"
    assert [p.exitcode for p in started] == [-9, -9]
    assert multiprocessing.active_children() == []
    assert not (workdir / "mlruns").exists(), "nothing written"


def test_workers_beyond_the_trials_left_are_killed_and_the_rest_run_them(
    plugin_dist, make_study, workdir, started
):
    study = make_study(STUDY.format(search={"units": [2, 4]}))
    first = optimize(study, "--trials", "1")

    assert first.exit_code == 0, first.output
    assert "1 trial(s) to run" in first.output
    assert len(started) == 1, "no more workers than trials"
    assert started[0].exitcode == worker.EXIT_DRAINED

    second = optimize(study)  # one point left, two workers ready
    assert second.exit_code == 0, second.output
    assert "1 trial(s) to run, 1 already done" in second.output
    assert sorted(p.exitcode for p in started[1:]) == [-9, worker.EXIT_DRAINED]

    third = optimize(study)  # nothing left: both killed, nothing run
    assert third.exit_code == 0, third.output
    assert "0 trial(s) to run, 2 already done" in third.output
    assert [p.exitcode for p in started[3:]] == [-9, -9]
    assert multiprocessing.active_children() == []


def test_too_few_waiting_workers_are_made_up_at_the_go(
    plugin_dist, make_study, workdir, started, monkeypatch
):
    from rnnstudy.run import preflight

    monkeypatch.setattr(preflight, "most_trials", lambda spec: 0)  # none started before the check
    result = optimize(make_study(STUDY.format(search={"units": [2, 4]})))

    assert result.exit_code == 0, result.output
    assert "2 trial(s) to run" in result.output and "2 complete" in result.output
    assert [p.exitcode for p in started] == [worker.EXIT_DRAINED] * 2


def test_the_cli_ends_without_tensorflow_teardown_and_leaves_nothing_leaked(plugin_dist, make_study, workdir):
    """The real command in its own process: it ends with os._exit, so the pool must free its
    pipes and files first (a queue left to finalizers was reported as leaked semaphores)."""
    import subprocess
    import sys

    study = make_study(STUDY.format(search={"units": [2, 4]}))
    done = subprocess.run(
        [sys.executable, "-m", "rnnstudy", "optimize", str(study), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert "2 complete" in done.stdout
    assert "leaked" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_worker_killed_halfway_through_a_message_blocks_no_other():
    """Each worker has its own pipe: a message cut off by a kill ends that pipe alone (a queue
    shared by all would keep the dead writer's lock, and every other worker would block)."""
    import struct

    from rnnstudy.trial.messages import Ready

    pool = Pool(worker.WorkerConfig(study_path="", overrides={}, storage_url="", tracking_uri=""))
    try:
        killed, killed_end = multiprocessing.Pipe()
        alive, alive_end = multiprocessing.Pipe()
        pool._pipes.update({101: killed, 102: alive})
        os.write(killed_end.fileno(), struct.pack("!i", 100) + b"x" * 10)  # 10 of its 100 bytes
        killed_end.close()
        alive_end.send(Ready(102))

        assert list(pool.messages(timeout=1)) == [Ready(102)]
        alive_end.send(Ready(102))
        assert list(pool.messages(timeout=1)) == [Ready(102)]  # the cut pipe is left alone
    finally:
        pool._pipes.clear()
        pool.close()


def test_the_stderr_folders_of_killed_drivers_are_swept_and_a_live_ones_kept(tmp_path, monkeypatch):
    """A driver killed with SIGKILL cannot remove its workers' stderr folder: the next pool does."""
    import subprocess
    import sys
    import tempfile

    from rnnstudy.run._pool import LOGS_PREFIX

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = tmp_path / f"{LOGS_PREFIX}{int(gone.stdout)}-abc"
    live = tmp_path / f"{LOGS_PREFIX}{os.getppid()}-def"  # this test's parent runs
    for folder in (dead, live):
        folder.mkdir()
        (folder / "worker-1.stderr").write_text("last words")

    pool = Pool(worker.WorkerConfig(study_path="", overrides={}, storage_url="", tracking_uri=""))
    try:
        assert not dead.exists()
        assert (live / "worker-1.stderr").exists()
        assert pool._logs.parent == tmp_path and pool._logs.name.startswith(f"{LOGS_PREFIX}{os.getpid()}-")
    finally:
        pool.close()
    assert not pool._logs.exists()
