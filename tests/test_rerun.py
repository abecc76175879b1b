"""The record of a study's invocations, and `rnnstudy rerun`: a trial run again from it.

One real study, run as a user would (`rnnstudy optimize --deterministic` as a command) on tiny
generated images: its second trial is the second its worker trained, and `rnnstudy rerun`
runs it again in a fresh process. A resumed study (two invocations) is the slow test's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import installed_or_skip
from mlflow import MlflowClient

from rnnstudy.cli import cli

NAME = "tiny-rerun"
STUDY = """
from rnnstudy import Study
from rnnstudy.keys import MAX_PARAM_LENGTH

study = Study(
    dataset="tiny_images",  # from the throwaway third-party distribution (tests/conftest.py)
    model="tiny_mlp",
    search={"units": [2, 4]},
    fixed={"epochs": 2, "batch_size": 16, "learning_rate": 0.01},
    test_every_epoch=True,  # from the recorded study file, not a hyperparameter
    name="tiny-rerun",
)
"""
METRICS = ("loss", "val_loss", "val_accuracy", "test_loss", "objective")


def command(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RNNSTUDY_STORAGE")}
    return subprocess.run(
        [sys.executable, "-m", "rnnstudy", *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def study(plugin_dist, tmp_path_factory) -> Path:
    """The study's folder, after `rnnstudy optimize --deterministic` ran its two trials."""
    root = tmp_path_factory.mktemp("rerun")
    (root / "study.py").write_text(STUDY)
    done = command(root, "optimize", "study.py", "--deterministic")
    assert done.returncode == 0, done.stdout
    return root


def tracking_uri(root: Path) -> str:
    return f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"


def client(root: Path) -> MlflowClient:
    return MlflowClient(tracking_uri(root))


def runs(root: Path) -> list:
    mlflow = client(root)
    return mlflow.search_runs([mlflow.get_experiment_by_name(NAME).experiment_id], max_results=100)


def parent_run(root: Path):
    return next(r for r in runs(root) if "mlflow.parentRunId" not in r.data.tags)


def history(root: Path, run_id: str) -> dict[str, list[tuple[int, float]]]:
    return {m: [(p.step, p.value) for p in client(root).get_metric_history(run_id, m)] for m in METRICS}


def test_the_invocation_is_recorded_on_the_parent_run(study):
    parent = parent_run(study)
    mlflow = client(study)
    assert [f.path for f in mlflow.list_artifacts(parent.info.run_id, "record")] == ["record/invocation-1"]
    local = Path(mlflow.download_artifacts(parent.info.run_id, "record/invocation-1", str(study / "got")))
    assert sorted(p.name for p in local.iterdir()) == ["packages.txt", "record.json", "study.py"]
    assert (local / "study.py").read_text() == STUDY
    assert "tiny-rnnstudy-plugin==0.3.1" in (local / "packages.txt").read_text().splitlines()
    facts = json.loads((local / "record.json").read_text())
    assert facts["command"] == "rnnstudy optimize study.py --deterministic"
    assert facts["options"]["deterministic"] is True and facts["worker_env"]["RNNSTUDY_DETERMINISTIC"] == "1"
    assert facts["machine"]["cpu"].startswith("CPU: ") and facts["rnnstudy"]
    assert parent.data.tags["rnnstudy.record"] == "record/invocation-1"
    trials = [r for r in runs(study) if "rnnstudy.trial" in r.data.tags]
    assert [r.data.params["deterministic"] for r in trials] == ["True", "True"]


def test_a_rerun_reproduces_the_trial_and_is_not_another_trial(study):
    from rnnstudy import results as report
    from rnnstudy.stores.mlflow_tracking import Tracker

    (study / "study.py").write_text(STUDY + "# edited after the run\n")
    original = next(r for r in runs(study) if r.data.tags.get("rnnstudy.trial") == "1")

    done = command(study, "rerun", NAME, "1")

    assert done.returncode == 0, done.stdout
    assert "changed since (the recorded copy is used)" in done.stdout  # said before it starts
    assert "deterministic ops on" in done.stdout and "the same as the original's" in done.stdout
    again = [r for r in runs(study) if "rnnstudy.rerun_of" in r.data.tags]
    assert len(again) == 1 and again[0].info.status == "FINISHED"
    rerun = again[0]
    assert rerun.data.tags["rnnstudy.rerun_of"] == original.info.run_id
    assert rerun.data.tags["mlflow.parentRunId"] == original.info.run_id  # nested under the original
    assert rerun.info.experiment_id == original.info.experiment_id
    assert rerun.data.params == original.data.params  # every value, the seed, the backend, determinism
    assert history(study, rerun.info.run_id) == history(study, original.info.run_id)  # to the last bit
    assert len(history(study, rerun.info.run_id)["test_loss"]) == 3  # test_every_epoch, from the record

    frame = report.trials_frame(Tracker(tracking_uri(study)), NAME)
    assert sorted(frame["trial"]) == [0, 1]  # the report sees the study's two trials only


def invoke(study: Path, *args: str):
    where = ["--storage", str(study / "mlruns" / "optuna.journal")]
    where += ["--tracking-uri", tracking_uri(study)]
    return CliRunner().invoke(cli, ["rerun", *args, *where])


def files(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "0"), "Error: no study 'nope' in the Optuna storage"),
        ((NAME, "7"), f"Error: study '{NAME}' has no trial 7; its trials are 0–1"),
    ],
)
def test_an_unknown_study_or_trial_is_one_line_and_writes_nothing(study, args, message):
    before = files(study / "mlruns")
    result = invoke(study, *args)
    assert result.exit_code == 2
    assert result.output.startswith(message) and len(result.output.strip().splitlines()) == 1
    assert files(study / "mlruns") == before


def test_a_study_run_before_the_record_says_so(study):
    parent = parent_run(study)
    record = Path(parent.info.artifact_uri.removeprefix("file://")) / "record"
    shutil.move(record, study / "record-away")  # as a study run before rnnstudy recorded one
    try:
        before = files(study / "mlruns")
        result = invoke(study, NAME, "0")
        assert files(study / "mlruns") == before
    finally:
        shutil.move(study / "record-away", record)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: study '{NAME}' has no record of how it was run")
    assert len(result.output.strip().splitlines()) == 1


def test_the_record_never_holds_a_password_and_a_resume_adds_one(tmp_path):
    from rnnstudy.run.driver import Session
    from rnnstudy.run.preflight import RunOptions
    from rnnstudy.spec.study import Study, pack_study
    from rnnstudy.stores import provenance as record
    from rnnstudy.stores.mlflow_tracking import Tracker

    url = "postgresql://bob:s3cret@db.example.org/studies"
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    session = Session(Study(dataset="d", model="m", name="secret"), None, url, None, tracker)
    session.parent_id = tracker.parent_run(tracker.experiment("secret"), "secret", None, "")
    options = RunOptions(storage_url=url, workers=1, command=f"rnnstudy optimize s.py --storage {url}")

    record.write(session, options, env={}, packed=pack_study(session.spec))  # a Study made in a notebook

    local = Path(tracker.client.download_artifacts(session.parent_id, "record/invocation-1", str(tmp_path)))
    text = (local / "record.json").read_text()
    assert "s3cret" not in text and "bob:***@db.example.org" in text
    (invocation,) = record.read(tracker, session.parent_id)
    assert invocation.study() == session.spec  # read back as the workers got it

    assert record.write(session, options, env={}) == "record/invocation-2"  # a resume keeps the first
    assert [i.folder for i in record.read(tracker, session.parent_id)] == [
        "record/invocation-1",
        "record/invocation-2",
    ]


# a value longer than MLflow keeps (rnnstudy.stores.MAX_PARAM_LENGTH), and one with a password
LONG = "file:///data/" + ",".join(f"part-{i:04d}.csv" for i in range(60))
SECRET = "postgresql://alice:s3cr3t@db.example/rows"


def scripted(project, source: str, *args: str) -> subprocess.CompletedProcess:
    """A one-trial study of the scripted plugins (tests/scripted), its dataset's source fixed,
    run by `rnnstudy optimize` (``args``: ``--set`` ...); the dataset accepts ``source``."""
    project.env["SCRIPTED_SOURCES"] = "\n".join([LONG, SECRET])
    study = project.write_study("sourced", search={"score": [0.5]}, fixed={"epochs": 2, "source": source})
    done = project.run(study, *args)
    assert done.returncode == 0, done.stdout
    return done


def rerun_in(project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnnstudy", "rerun", *args],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


def whole_params(project, run) -> dict:
    local = MlflowClient(project.tracking_uri).download_artifacts(
        run.info.run_id, "params.json", str(project.root)
    )
    return json.loads(Path(local).read_text())


def test_a_value_longer_than_mlflow_keeps_is_rerun_whole(project):
    assert len(LONG) > 500
    scripted(project, LONG)
    (original,) = [r for r in project.runs("sourced") if "rnnstudy.trial" in r.data.tags]
    assert original.data.params["source"] == LONG[:500]  # MLflow's text is cut: not what reruns
    assert whole_params(project, original) == {"source": LONG}

    done = rerun_in(project, "sourced", "0")

    assert done.returncode == 0, done.stdout
    assert "the same as the original's" in done.stdout and "source:" not in done.stdout
    rerun = next(r for r in project.runs("sourced") if "rnnstudy.rerun_of" in r.data.tags)
    assert whole_params(project, rerun) == {"source": LONG}  # what it trained with, whole
    assert rerun.data.params == original.data.params


@pytest.mark.parametrize("where", ["the study file", "--set"])
def test_a_value_kept_without_its_password_is_named_and_nothing_is_written(project, where):
    if where == "--set":
        scripted(project, "generated", "--set", f"source={SECRET}")
    else:
        scripted(project, SECRET)
    before = files(project.root / "mlruns")

    done = rerun_in(project, "sourced", "0")

    assert done.returncode == 2
    assert done.stdout.startswith(
        "Error: trial 0's source cannot be run again: its value held a URL password, which rnnstudy "
        "never stores (postgresql://alice:***@db.example/rows); "
    )
    assert len(done.stdout.strip().splitlines()) == 1 and "s3cr3t" not in done.stdout
    assert files(project.root / "mlruns") == before


def test_deterministic_ops_reach_a_worker_through_its_environment(monkeypatch):
    from rnnstudy.runtime import backend

    for name in ("RNNSTUDY_DETERMINISTIC", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(backend, "installed", lambda name: True)  # env names variables: no PyTorch needed
    assert backend.env("tensorflow", 1, deterministic=True) == {
        "KERAS_BACKEND": "tensorflow",
        "RNNSTUDY_DETERMINISTIC": "1",
    }
    assert "RNNSTUDY_DETERMINISTIC" not in backend.env("torch", 2)


@pytest.mark.slow  # a PyTorch process: a few seconds
def test_torch_starts_with_deterministic_algorithms():
    installed_or_skip("torch")
    script = (
        "import os; from rnnstudy.runtime import backend; os.environ.update(backend.env('torch', deterministic=True)); "
        "backend.start(); import torch; print(torch.are_deterministic_algorithms_enabled(), backend.deterministic())"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True"], done.stderr


@pytest.mark.slow  # two invocations and a rerun: about a minute
def test_a_trial_of_a_resumed_study_is_rerun_from_its_own_invocation(plugin_dist, tmp_path):
    (tmp_path / "study.py").write_text(STUDY)
    for args in (["--trials", "1"], ["--set", "batch_size=8"]):  # the resume runs trial 1 otherwise
        done = command(tmp_path, "optimize", "study.py", "--deterministic", *args)
        assert done.returncode == 0, done.stdout

    done = command(tmp_path, "rerun", "study.py", "1")

    assert done.returncode == 0, done.stdout
    assert "as record/invocation-2 of its parent run recorded it" in done.stdout
    rerun = next(r for r in runs(tmp_path) if "rnnstudy.rerun_of" in r.data.tags)
    original = next(r for r in runs(tmp_path) if r.data.tags.get("rnnstudy.trial") == "1")
    assert rerun.data.params["batch_size"] == original.data.params["batch_size"] == "8"
    assert history(tmp_path, rerun.info.run_id) == history(tmp_path, original.info.run_id)


def test_a_trial_of_a_study_of_several_objectives_is_rerun(plugin_dist, tmp_path):
    """The rerun follows the primary objective (a list of objectives is not one metric's name)."""
    (tmp_path / "study.py").write_text(
        STUDY.replace('name="tiny-rerun"', 'name="tiny-front", objective=["val_accuracy", "params"]')
    )
    assert (done := command(tmp_path, "optimize", "study.py", "--deterministic")).returncode == 0, done.stdout

    again = command(tmp_path, "rerun", "tiny-front", "0")

    assert again.returncode == 0, again.stdout
    assert "epoch 2/2: val_accuracy" in again.stdout, again.stdout
    mlflow = client(tmp_path)
    experiment = mlflow.get_experiment_by_name("tiny-front").experiment_id
    reruns = [r for r in mlflow.search_runs([experiment]) if "rnnstudy.rerun_of" in r.data.tags]
    assert len(reruns) == 1 and reruns[0].info.status == "FINISHED"
