"""The documented Slurm job array (docs/machines/slurm-array.sbatch, the very file the docs
show) on a real one-node Slurm cluster, against PostgreSQL and a real `mlflow server`: the study
ends exactly complete, and so it does when one array task is cancelled mid-trial (issue 27).

scripts/services.sh installs and starts the cluster (slurmctld and slurmd on localhost) and
PostgreSQL; every test skips with its reason where either is absent (fails under
$RNNSTUDY_REQUIRE_SERVICES). Every wait is bounded, and the jobs a test submitted are
cancelled when it ends.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import _unavailable, wait_for

SBATCH = Path(__file__).parents[1] / "docs" / "machines" / "slurm-array.sbatch"


class Slurm:
    """sbatch, squeue, scontrol and scancel of the cluster, for one test's jobs."""

    def __init__(self) -> None:
        self.jobs: list[str] = []

    def submit(self, script: Path, *options: str, cwd: Path, env: dict) -> str:
        """``sbatch OPTIONS SCRIPT`` from ``cwd`` with ``env`` (a task inherits both); its job id."""
        done = subprocess.run(
            ["sbatch", "--parsable", *options, str(script)],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        job = done.stdout.strip().split(";")[0]
        self.jobs.append(job)
        return job

    def tasks(self, job: str) -> dict[str, dict[str, str]]:
        """The job's array tasks as slurmctld tells them (it keeps ended jobs for MinJobAge,
        300 s): task id -> fields (JobState, ExitCode, ...)."""
        shown = subprocess.run(
            ["scontrol", "-o", "show", "job", job], capture_output=True, text=True, timeout=60
        )
        tasks = {}
        for line in shown.stdout.splitlines():
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            tasks[fields.get("ArrayTaskId", "")] = fields
        return tasks

    def wait(self, job: str, timeout: float) -> dict[str, dict[str, str]]:
        """Wait until every task of ``job`` has ended; their fields."""

        def ended():
            tasks = self.tasks(job)
            pending = any(t["JobState"] in ("PENDING", "RUNNING", "COMPLETING") for t in tasks.values())
            return tasks if tasks and not pending else None

        return wait_for(ended, timeout=timeout, every=1.0, what=f"Slurm job {job} to end")

    def cancel_all(self) -> None:
        if self.jobs:
            subprocess.run(["scancel", *self.jobs], capture_output=True, timeout=60)


@pytest.fixture
def slurm():
    """A Slurm cluster with an idle node (scripts/services.sh); the test's jobs cancelled after."""
    if shutil.which("sbatch") is None:
        _unavailable("Slurm is not installed (no sbatch); scripts/services.sh installs and starts it")
    try:
        shown = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
        states = shown.stdout.split() if shown.returncode == 0 else []
        why = shown.stderr.strip().splitlines()[-1:] or states
    except subprocess.TimeoutExpired:
        states, why = [], ["sinfo did not answer in 30 s"]
    if "idle" not in states:
        why = "; ".join(why) or "sinfo: no nodes"
        _unavailable(f"no idle Slurm node ({why}); start one with scripts/services.sh")
    cluster = Slurm()
    try:
        yield cluster
    finally:
        cluster.cancel_all()


def _submit_array(slurm, project, study_file: str, postgres_url: str, tracking: str, tasks: str) -> str:
    """The documented script as a user submits it, sized for this machine: one worker a task."""
    env = {
        **project.env,
        "RNNSTUDY_STUDY": study_file,
        "RNNSTUDY_STORAGE": postgres_url,
        "MLFLOW_TRACKING_URI": tracking,
        "RNNSTUDY_VENV": sys.prefix,
        "RNNSTUDY_WORKERS": "1",
    }
    options = (f"--array={tasks}", "--cpus-per-task=1", "--mem=2G", "--time=15", "--output=slurm-%A_%a.log")
    return slurm.submit(SBATCH, *options, cwd=project.root, env=env)


def _log(project, job: str, task: str) -> str:
    return (project.root / f"slurm-{job}_{task}.log").read_text()


@pytest.mark.slow  # two array tasks, each an rnnstudy command, on two busy cores: a minute or two
def test_the_documented_sbatch_array_runs_a_study_exactly_once_on_postgres_and_mlflow_server(
    slurm, project, postgres_url, mlflow_server
):
    grid = [0.2, 0.4, 0.6, 0.8, 0.9]
    study_file = project.write_study("slurm", search={"score": grid}, fixed={"epochs": 2})
    (project.root / "meet").mkdir()
    project.env["SCRIPTED_RENDEZVOUS"] = f"{project.root / 'meet'}:2"  # both tasks run trials

    job = _submit_array(slurm, project, study_file, postgres_url, mlflow_server.url, "0-1")
    tasks = slurm.wait(job, timeout=600)

    logs = {task: _log(project, job, task) for task in ("0", "1")}
    assert {t: (f["JobState"], f["ExitCode"]) for t, f in tasks.items()} == {
        "0": ("COMPLETED", "0:0"),
        "1": ("COMPLETED", "0:0"),
    }, logs
    done = [set(re.findall(r"trial #(\d+) COMPLETE", log)) for log in logs.values()]
    assert done[0] and done[1] and not done[0] & done[1], logs  # both ran trials, none twice
    outcome = project.assert_exact(
        "slurm", [{"score": s} for s in grid], storage_url=postgres_url, tracking_uri=mlflow_server.url
    )
    assert dict(outcome["trials"]) == {"COMPLETE": len(grid)}  # nothing failed, nothing extra
    runs = project.runs("slurm", mlflow_server.url)
    assert len(runs) == len(grid) + 1  # one parent run for the whole array, a run per trial
    assert {r.info.status for r in runs} == {"FINISHED"}
    by_trial = {r.data.tags["rnnstudy.trial"]: r.info.run_id for r in runs if "rnnstudy.trial" in r.data.tags}
    assert by_trial == {str(t.number): t.user_attrs["mlflow_run_id"] for t in outcome["trial_list"]}
    print(f"slurm array {job}: task 0 ran trials {sorted(done[0])}, task 1 {sorted(done[1])}")


def _array_task_of(pid: int) -> str | None:
    """The Slurm array task a process of this machine runs in, from its environment."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    found = [v for v in environ if v.startswith(b"SLURM_ARRAY_TASK_ID=")]
    return found[0].split(b"=", 1)[1].decode() if found else None


@pytest.mark.slow  # an array, a cancel mid-trial and a resubmission: two or three minutes
def test_scancel_of_one_array_task_mid_trial_ends_its_trial_and_a_resubmission_completes_the_study(
    slurm, project, postgres_url, mlflow_server
):
    from rnnstudy.keys import HEARTBEAT_ATTR

    grid = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    study_file = project.write_study(
        "cancelled", search={"score": grid}, fixed={"epochs": 4, "epoch_seconds": 1.0}
    )
    job = _submit_array(slurm, project, study_file, postgres_url, mlflow_server.url, "0-1")

    def running_in_task_1():
        """A running trial of task 1 whose MLflow run is made."""
        try:
            trials = project.study("cancelled", postgres_url).get_trials(deepcopy=False)
        except KeyError:
            return None  # the study is not made yet
        for trial in trials:
            beat = trial.system_attrs.get(HEARTBEAT_ATTR)
            if trial.state.name == "RUNNING" and beat and "mlflow_run_id" in trial.user_attrs:
                if _array_task_of(beat["pid"]) == "1":
                    return trial
        return None

    victim = wait_for(running_in_task_1, timeout=400, every=0.5, what="a trial running in task 1")
    subprocess.run(["scancel", f"{job}_1"], check=True, timeout=60)  # SIGTERM, then SIGKILL
    tasks = slurm.wait(job, timeout=600)

    assert tasks["1"]["JobState"] == "CANCELLED", _log(project, job, "1")
    # task 0 ran the rest to the end. It exits 1 when it counts the cancelled trial among its
    # run's failed ones (numbered after its start: the study is not complete yet), else 0
    first = _log(project, job, "0")
    state = (tasks["0"]["JobState"], tasks["0"]["ExitCode"])
    assert state in (("COMPLETED", "0:0"), ("FAILED", "1:0")), first
    assert ("the same command runs them again" in first) == (tasks["0"]["ExitCode"] == "1:0"), first
    logs = first + _log(project, job, "1")
    # a worker gets SIGTERM twice (slurmstepd, then its driver): the second must not print
    # CPython's "Signal 15 ignored due to race condition" traceback
    assert "Traceback" not in logs, logs
    ended = project.study("cancelled", postgres_url).trials[victim.number]
    assert ended.state.name == "FAIL", ended.user_attrs  # ended, not left RUNNING

    again = _submit_array(slurm, project, study_file, postgres_url, mlflow_server.url, "0")
    rerun = slurm.wait(again, timeout=600)

    assert (rerun["0"]["JobState"], rerun["0"]["ExitCode"]) == ("COMPLETED", "0:0"), _log(project, again, "0")
    outcome = project.assert_exact(
        "cancelled", [{"score": s} for s in grid], storage_url=postgres_url, tracking_uri=mlflow_server.url
    )
    assert outcome["trials"]["COMPLETE"] == len(grid)
    [victim_run] = [r for r in outcome["run_list"] if r.data.tags["rnnstudy.trial"] == str(victim.number)]
    assert victim_run.info.status in ("FAILED", "KILLED"), victim_run.data.tags
    print(
        f"scancel {job}_1 during trial #{victim.number}: {ended.user_attrs.get('fail_reason')!r}; task 0 "
        f"exited {tasks['0']['ExitCode']}; "
        f"after the resubmission: trials {dict(outcome['trials'])}, runs {dict(outcome['runs'])}"
    )
