"""One step off the happy path, as a new user would take it: workers that die before they
finish anything, the Python API from every way Python runs a script, a race whose trials all
fail, a driver killed alone, and a fit hook of Keras Tuner's kind on a model that is not Keras.
Each ends with a reason and the documented exit code (rnnstudy.errors.Exit), nothing RUNNING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from rnnstudy.errors import Exit
from rnnstudy.faults import FAULT_ENV


def _states(project, name: str) -> dict[str, int]:
    try:
        trials = project.study(name).get_trials(deepcopy=False)
    except (KeyError, FileNotFoundError):
        return {}  # not created yet
    return {s: sum(t.state.name == s for t in trials) for s in {t.state.name for t in trials}}


def test_workers_that_die_as_they_build_stop_the_study_with_their_last_words(project):
    study_file = project.write_study("dying", search={"score": [0.1, 0.2, 0.3, 0.4]}, fixed={"epochs": 1})

    result = project.run(study_file, "--workers", "2", env={FAULT_ENV: "build:exit"})  # every time

    assert result.returncode == Exit.STOPPED, result.stdout
    [line] = [line for line in result.stdout.splitlines() if line.startswith("stopped:")]
    assert "3 worker processes in a row died before ending a trial (the last: exit code 1)" in line
    assert line.endswith("its last words: injected fault at build: exiting")
    assert "Traceback" not in result.stdout
    states = _states(project, "dying")
    assert "RUNNING" not in states and states["FAIL"] >= 3
    lost = [t for t in project.study("dying").get_trials() if t.state.name == "FAIL"]
    assert {t.user_attrs["fail_reason"] for t in lost} == {"worker process died: exit code 1"}
    runs = [r for r in project.runs("dying") if "rnnstudy.trial" in r.data.tags]
    assert runs and {(r.info.status, r.data.tags["rnnstudy.state"]) for r in runs} == {("KILLED", "LOST")}


def test_a_worker_killed_right_after_its_claim_leaves_nothing_running(project):
    """Killed before any heartbeat or message of its own: its driver claimed the trial for it."""
    study_file = project.write_study("claimed", search={"score": [0.1, 0.2]}, fixed={"epochs": 1})

    result = project.run(study_file, env={FAULT_ENV: "claim:kill"})

    assert result.returncode == Exit.STOPPED, result.stdout
    assert "killed by SIGKILL (exit code -9; out of memory?)" in result.stdout
    assert "RUNNING" not in _states(project, "claimed")


def test_a_race_whose_trials_all_fail_ends_with_exit_code_1_after_its_first_round(project):
    study_file = project.write_study(
        "hopeless",
        search={"score": [0.1, 0.2, 0.3]},
        repeats="adaptive",
        fixed={"epochs": 1, "raise_at_epoch": 1},
    )

    result = project.run(study_file)

    assert result.returncode == Exit.TRIALS_FAILED, result.stdout
    assert _states(project, "hopeless") == {"FAIL": 9}  # 3 points x min_repeats 3, none enqueued again
    assert "9 trial(s) of this run failed" in result.stdout


def test_a_point_that_fails_drops_out_of_the_race_and_the_rest_goes_on(project):
    study_file = project.write_study(
        "onebad",
        points=[{"score": 0.5, "raise_at_epoch": 1}, {"score": 0.6}, {"score": 0.61}],
        repeats="adaptive",
        fixed={"epochs": 1, "noise": 0.05},
    )

    result = project.run(study_file)

    assert result.returncode == Exit.TRIALS_FAILED, result.stdout
    trials = project.study("onebad").get_trials()
    bad = [t for t in trials if (t.system_attrs.get("fixed_params") or {}).get("raise_at_epoch") == 1]
    assert len(bad) == 3 and {t.state.name for t in bad} == {"FAIL"}  # its first seeds, no more
    [note] = [line for line in result.stdout.splitlines() if line.startswith("failed (no trial of theirs")]
    assert "score=0.5" in note and "score=0.6" not in note  # the failed point, in the report
    assert "RUNNING" not in _states(project, "onebad")


def test_a_driver_killed_alone_takes_its_workers_with_it(project):
    study_file = project.write_study(
        "orphans", search={"score": [0.1, 0.2, 0.3]}, fixed={"epochs": 4, "epoch_seconds": 1.0}
    )
    run = project.start(study_file, "--workers", "2")
    project.wait_for(lambda: _states(project, "orphans").get("RUNNING"), what="a trial to start")

    os.kill(run.pid, signal.SIGKILL)  # the driver only: its workers see their order pipe close
    run.wait()

    def gone() -> bool:
        try:
            os.killpg(run.pid, 0)
        except ProcessLookupError:
            return True
        return False

    project.wait_for(gone, timeout=90, what="the workers to exit")


def test_a_keras_tuner_style_fit_hook_trains_a_model_that_is_not_keras(project):
    study_file = project.write_study(
        "tunerhook",
        model="scripted_tuner_fit",
        search={"score": [0.3, 0.7]},
        fixed={"epochs": 2, "batch_size": 4},
    )

    result = project.run(study_file)

    assert result.returncode == Exit.DONE, result.stdout
    assert _states(project, "tunerhook") == {"COMPLETE": 2}
    values = sorted(t.value for t in project.study("tunerhook").get_trials())
    assert values == pytest.approx([0.3, 0.7])


# --- the Python API, wherever Python runs ------------------------------------------------

SCRIPT = """
import rnnstudy
from rnnstudy import Study

print("top level ran")
study = Study(dataset="tiny_table", model="scripted_fit", search={{"score": [0.2, 0.4]}},
              fixed={{"epochs": 1}}, name="{name}")
result = rnnstudy.optimize(study, workers=2)
print("best", result.best["objective"])
"""


@pytest.mark.parametrize("how", ["script", "stdin", "-c", "-m"])
def test_the_api_works_from_a_plain_script_however_python_runs_it(how, project):
    """No ``if __name__ == "__main__":`` guard: the workers must not run the script again."""
    name = f"api_{how.strip('-')}"
    text = textwrap.dedent(SCRIPT.format(name=name))
    (project.root / "plain.py").write_text(text)
    command, stdin = {
        "script": ([sys.executable, "plain.py"], None),
        "stdin": ([sys.executable, "-"], text),
        "-c": ([sys.executable, "-c", text], None),
        "-m": ([sys.executable, "-m", "plain"], None),
    }[how]

    result = subprocess.run(
        command,
        cwd=project.root,
        env={**project.env, "PYTHONPATH": os.pathsep.join([str(project.root), project.env["PYTHONPATH"]])},
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout
    assert result.stdout.count("top level ran") == 1, result.stdout  # the workers ran none of it
    assert "best 0.4" in result.stdout
    assert _states(project, name) == {"COMPLETE": 2}


def test_a_command_with_another_mlflow_store_than_its_study_is_one_line_and_writes_nothing(project):
    """Two machines sharing a study's storage, each with its own mlruns/mlflow.db."""
    study_file = project.write_study("shared", search={"score": [0.1, 0.2]}, fixed={"epochs": 1})
    first = project.run(study_file, "--trials", "1")
    assert first.returncode == Exit.DONE, first.stdout
    other = project.root / "other" / "mlflow.db"

    second = project.run(study_file, "--tracking-uri", f"sqlite:///{other}")

    assert second.returncode == Exit.BAD_INPUT, second.stdout
    line = second.stdout.strip().splitlines()[-1]
    assert line.startswith("Error: study 'shared' was started with the MLflow tracking URI sqlite:///")
    assert str(project.root / "mlruns" / "mlflow.db") in line and "Traceback" not in second.stdout
    assert project.runs("shared", f"sqlite:///{other}") == []  # no experiment, no run there
    assert _states(project, "shared") == {"COMPLETE": 1}  # nothing enqueued by the refused command
