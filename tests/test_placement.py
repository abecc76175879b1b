"""GPU placement and the time estimate wired into `rnnstudy optimize`: fake GPU lists (no GPU,
no nvidia-smi needed), the estimate line before the first trial, and --budget."""

from __future__ import annotations

import itertools
import re

import pytest
from click.testing import CliRunner

from rnnstudy.cli import cli
from rnnstudy.run import _estimate as estimate
from rnnstudy.run import _worker as worker
from rnnstudy.run._estimate import StepTime
from rnnstudy.run._pool import Pool
from rnnstudy.runtime import devices

UUIDS = ["GPU-8932f937-d72c-4106-c12f-20bd9faed9f6", "GPU-1a2b3c4d-0000-1111-2222-333344445555"]
SMI = "".join(f"{i}, {uuid}, NVIDIA H200, 143771\n" for i, uuid in enumerate(UUIDS))
GPUS = devices.parse(SMI)

STUDY = """
from rnnstudy import Study
study = Study(dataset="tiny_images", model="tiny_mlp", search={search}, fixed={fixed})
"""
TWO = STUDY.format(search={"units": [2, 4]}, fixed={"epochs": 1, "batch_size": 16})


@pytest.fixture
def no_memory_settings(monkeypatch):
    """No TF_FORCE_GPU_ALLOW_GROWTH of the user's; whatever the driver sets is undone afterwards."""
    monkeypatch.setenv("TF_FORCE_GPU_ALLOW_GROWTH", "unset-me")
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH")


@pytest.fixture
def fake_gpus(monkeypatch):
    """The driver sees the two GPUs of SMI (their UUIDs hide every real GPU from the workers)."""
    monkeypatch.setattr(devices, "visible_gpus", lambda: list(GPUS))
    return GPUS


def config(**env) -> worker.WorkerConfig:
    return worker.WorkerConfig("study.py", {}, "journal", "sqlite:///x.db", env=dict(env))


def optimize(path, *args):
    return CliRunner().invoke(cli, ["optimize", str(path), *args])


def assert_one_line_error(result, workdir, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not (workdir / "mlruns").exists(), "nothing may be written before the error"


# --- the pool's per-worker environment, without processes -------------------------------------


def test_each_worker_gets_its_gpu_over_the_shared_env(no_memory_settings):
    shared = {"KERAS_BACKEND": "tensorflow", "TF_NUM_INTRAOP_THREADS": "8"}
    pool = Pool(config(**shared), gpus=GPUS)
    try:
        first, made = pool.next_worker([])
        second, made2 = pool.next_worker([first])
        assert (first, second) == (GPUS[0], GPUS[1])
        assert made.env == {
            **shared,
            "CUDA_VISIBLE_DEVICES": UUIDS[0],
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
            devices.DEVICE_ENV: "GPU 0: NVIDIA H200 (140 GiB)",
        }
        assert made2.env["CUDA_VISIBLE_DEVICES"] == UUIDS[1]
        assert pool.config.env == shared, "the shared config is not changed"
    finally:
        pool.close()


def test_without_gpus_every_worker_gets_the_shared_config():
    pool = Pool(config(KERAS_BACKEND="jax"))
    try:
        assert pool.next_worker([None, None]) == (None, pool.config)
    finally:
        pool.close()


def test_auto_gets_the_memory_settings_of_either_backend(no_memory_settings, monkeypatch):
    monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE", raising=False)
    pool = Pool(config(), gpus=GPUS, backend="auto")
    try:
        env = pool.next_worker([])[1].env
        assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    finally:
        pool.close()


class FakeProcess:
    pids = itertools.count(1000)

    def __init__(self, target, args):
        self.config = args[0]
        self.pid = next(self.pids)
        self.exitcode = None

    def start(self):
        pass

    def kill(self):
        self.exitcode = -9

    def join(self, timeout=None):
        pass

    def is_alive(self):
        return self.exitcode is None


class FakeConnection:
    def send(self, message):
        pass

    def close(self):
        pass


class FakeContext:
    """Process and Pipe that start nothing: what the pool would start, and with which config."""

    def __init__(self):
        self.started: list[FakeProcess] = []

    def Process(self, target, args):  # noqa: N802 (multiprocessing's name)
        proc = FakeProcess(target, args)
        self.started.append(proc)
        return proc

    def Pipe(self, duplex=True):  # noqa: N802
        return FakeConnection(), FakeConnection()


def test_workers_go_round_robin_and_a_replacement_takes_the_gpu_that_lost_one(no_memory_settings):
    pool = Pool(config(), gpus=GPUS)
    fake = pool._context = FakeContext()
    try:
        for _ in range(4):
            pool.start()
        gpus = [p.config.env["CUDA_VISIBLE_DEVICES"] for p in fake.started]
        assert gpus == [UUIDS[0], UUIDS[1], UUIDS[0], UUIDS[1]]
        ended = fake.started[1]  # recycled or dead: GPU 1 now holds one worker, GPU 0 two
        ended.exitcode = 0
        assert pool.ended(set()) == [ended]
        pool.start()
        assert fake.started[-1].config.env["CUDA_VISIBLE_DEVICES"] == UUIDS[1]
        assert sorted(g.index for g in pool.placed.values()) == [0, 0, 1, 1]
    finally:
        pool.close()


# --- through the command line -----------------------------------------------------------------


def trial_params(workdir, name="study"):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return sorted((r.data.params for r in children), key=lambda p: int(p["units"]))


def test_fake_gpus_get_one_worker_each_by_default_and_trials_log_their_device(
    plugin_dist, make_study, workdir, fake_gpus, no_memory_settings, monkeypatch
):
    started = []
    start = Pool.start

    def spy(self):
        start(self)
        started.append(self.placed[list(self.procs)[-1]])

    monkeypatch.setattr(Pool, "start", spy)
    result = optimize(make_study(TWO))  # no --workers: one per GPU

    assert result.exit_code == 0, result.output
    assert "2 GPU(s) (NVIDIA H200): 2 worker(s), one per GPU" in result.output
    assert started == GPUS
    assert "estimated time: 2 trials × 1 epoch ≈ " in result.output
    assert "on 2 workers (if they scale perfectly)" in result.output, "nothing measured on GPUs"
    devices_logged = sorted(p["device"] for p in trial_params(workdir))
    assert devices_logged == ["GPU 0: NVIDIA H200 (140 GiB)", "GPU 1: NVIDIA H200 (140 GiB)"]


def test_the_estimate_comes_before_the_first_trial_and_a_budget_admits(
    plugin_dist, make_study, workdir, monkeypatch
):
    monkeypatch.setattr(devices, "visible_gpus", lambda: [])  # a CPU machine, even on a GPU one
    result = optimize(make_study(TWO), "--budget", "1h")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    (line,) = [n for n, text in enumerate(lines) if text.startswith("estimated time: ")]
    first_trial = next(n for n, text in enumerate(lines) if "trial #" in text)
    assert line < first_trial
    assert lines[line].startswith("estimated time: 2 trials × 1 epoch ≈ ")
    assert re.search(r"on 1 worker \(2 model\(s\) timed in [^)]+\); within --budget 1h$", lines[line]), lines[
        line
    ]
    assert "GPU(s)" not in result.output
    assert all(p["device"].startswith("CPU: ") for p in trial_params(workdir))


def fixed_steps(monkeypatch, train_s=0.5):
    """Every timed model takes ``train_s`` per training step and builds in no time: the estimate
    is then exact arithmetic."""

    def fake(model, x, y, batch_size, steps=3, **_):
        return StepTime(train_s=train_s, batch_size=batch_size, eval_s=train_s / 5, warmup_s=0.0)

    add = estimate.Timer.add
    monkeypatch.setattr(estimate, "time_steps", fake)
    monkeypatch.setattr(estimate.Timer, "add", lambda self, *args, **_: add(self, *args[:3], 0.0))


def test_over_budget_is_refused_on_one_line_naming_what_fits(plugin_dist, make_study, workdir, monkeypatch):
    fixed_steps(monkeypatch)
    # 2 points × 20 epochs × (2 training steps of 0.5 s + 2 validation steps of 0.1 s) + 2 test steps
    study = make_study(STUDY.format(search={"units": [2, 4]}, fixed={"epochs": 20, "batch_size": 16}))
    result = optimize(study, "--budget", "30s")

    assert_one_line_error(
        result,
        workdir,
        "estimated time: 2 trials × 20 epochs ≈ 48 s on 1 worker, over --budget 30s: it would fit with ",
        "--epochs 12 ≈ 29 s",
        "--trials 1 ≈ 24 s",
        "--subset 16 ≈ 24 s",
    )


def test_a_study_that_fits_its_budget_exactly_is_admitted_by_the_check(
    plugin_dist, make_study, workdir, monkeypatch
):
    from rnnstudy.run import driver

    def stop_here(storage_url, tracking_uri):  # the first thing after the check: before anything is written
        raise SystemExit(7)

    fixed_steps(monkeypatch)
    monkeypatch.setattr(driver, "_open_stores", stop_here)
    study = make_study(STUDY.format(search={"units": [2, 4]}, fixed={"epochs": 20, "batch_size": 16}))
    result = optimize(study, "--budget", "48.5s")  # 48.4 s
    assert result.exit_code == 7, result.output  # it got past the check to the set-up (the line comes later)
    assert not (workdir / "mlruns").exists()


@pytest.mark.parametrize("budget", ["2x", "90", "0s", "1h30"])
def test_a_bad_budget_is_one_line_before_anything_else(workdir, budget):
    # the study file does not even exist: --budget is read first
    result = optimize(workdir / "missing.py", "--budget", budget)
    assert_one_line_error(result, workdir, f"--budget {budget!r} is not a positive duration", "2h")


@pytest.mark.parametrize("gpus", [[], GPUS])
def test_workers_per_gpu_zero_is_one_line_exit_2(plugin_dist, make_study, workdir, monkeypatch, gpus):
    monkeypatch.setattr(devices, "visible_gpus", lambda: list(gpus))
    result = optimize(make_study(TWO), "--workers-per-gpu", "0")
    assert_one_line_error(result, workdir, "--workers-per-gpu 0 must be >= 1")


def test_more_workers_than_the_gpus_take_is_one_line_exit_2(plugin_dist, make_study, workdir, fake_gpus):
    result = optimize(make_study(TWO), "--workers", "5", "--workers-per-gpu", "2")
    assert_one_line_error(result, workdir, "--workers 5 is more than 2 GPU(s) × --workers-per-gpu 2 = 4")


def test_a_model_that_is_not_keras_has_no_estimate_and_no_budget(plugin_dist, make_study, workdir):
    study = make_study(
        STUDY.format(search={"quality": [0.2, 0.8]}, fixed={"epochs": 1}).replace(
            'model="tiny_mlp"', 'model="scripted"'
        )
    )
    result = optimize(study, "--budget", "1h")
    assert_one_line_error(
        result,
        workdir,
        "--budget 1h cannot be checked: model 'scripted' is not Keras and has no train_on_batch and test_on_batch: "
        "its training steps cannot be timed",
    )
