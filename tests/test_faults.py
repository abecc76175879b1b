"""Faults: a study keeps going, loses nothing and runs no point twice when workers are killed,
trials fail or diverge, the user presses Ctrl-C, or a server is not there."""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import free_port

from rnnstudy.keys import HEARTBEAT_ATTR
from rnnstudy.stores.optuna_internals import enqueued_point

GRID = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


def trials(project, name: str, storage_url: str | None = None) -> list:
    try:
        return project.study(name, storage_url).get_trials(deepcopy=False)
    except KeyError:
        return []  # the study is not created yet


def just_started(project, name: str, storage_url: str | None = None):
    """A trial that has its MLflow run and started under a second and a half ago, so that it
    is still running when it is killed; only once some trial has finished."""
    found = trials(project, name, storage_url)
    if not any(t.state.name == "COMPLETE" for t in found):
        return None
    now = time.time()
    for trial in found:
        if trial.state.name == "RUNNING" and "mlflow_run_id" in trial.user_attrs:
            if now - trial.datetime_start.timestamp() < 1.5:
                return trial
    return None


def run_of(project, name: str, number: int, tracking_uri: str | None = None):
    [run] = [r for r in project.runs(name, tracking_uri) if r.data.tags.get("rnnstudy.trial") == str(number)]
    return run


# --- kill -9 -----------------------------------------------------------------------------


@pytest.mark.slow  # two kills and a resume: half a minute on the journal, more on PostgreSQL
@pytest.mark.parametrize("storage", ["journal", "postgres"])
def test_kill_9_of_a_worker_then_of_everything_then_resume(storage, project, request):
    url = project.storage_url if storage == "journal" else request.getfixturevalue("postgres_url")
    study_file = project.write_study(
        "killed", search={"score": GRID}, fixed={"epochs": 3, "epoch_seconds": 1.0}
    )
    command = (study_file, "--workers", "2", "--storage", url)
    run = project.start(*command)

    # kill -9 one worker mid-trial: its driver marks the trial failed and runs its point again
    started = project.wait_for(lambda: just_started(project, "killed", url), what="a trial to start")
    os.kill(started.system_attrs["rnnstudy.heartbeat"]["pid"], signal.SIGKILL)

    def failed_and_enqueued_again():
        found = trials(project, "killed", url)
        for trial in found:
            if (
                trial.user_attrs.get("fail_reason")
                == "worker process died: killed by SIGKILL (exit code -9; out of memory?)"
            ):
                point = enqueued_point(trial)
                again = [t for t in found if t.number > trial.number and enqueued_point(t) == point]
                return trial if again else None
        return None

    victim = project.wait_for(failed_and_enqueued_again, what="the killed trial's point to be enqueued again")

    # kill -9 the whole command, workers and all, mid-trial
    project.wait_for(lambda: just_started(project, "killed", url), what="another trial to start")
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    before = trials(project, "killed", url)
    finished_before = {t.number for t in before if t.state.name == "COMPLETE"}
    left_running = {t.number for t in before if t.state.name == "RUNNING"}
    assert left_running  # left behind, as a crash leaves them

    # the same command again: stale trials failed, their points run, finished ones kept
    resumed = project.run(*command)

    assert resumed.returncode == 0, resumed.stdout
    assert "of dead workers marked failed" in resumed.stdout
    outcome = project.assert_exact("killed", [{"score": s} for s in GRID], storage_url=url)
    after = outcome["trial_list"]
    assert finished_before <= {t.number for t in after if t.state.name == "COMPLETE"}
    assert after[victim.number].state.name == "FAIL"
    for number in left_running:
        assert after[number].state.name == "FAIL"
        assert "is gone (killed?)" in after[number].user_attrs["fail_reason"]
    killed = {str(n) for n in {victim.number} | left_running}
    killed_runs = [r for r in outcome["run_list"] if r.data.tags["rnnstudy.trial"] in killed]
    assert killed_runs  # (a trial killed before its run was made has none)
    for mlflow_run in killed_runs:
        assert mlflow_run.info.status == "KILLED" and mlflow_run.data.tags["rnnstudy.state"] == "LOST", (
            mlflow_run.data.tags
        )
    [parent] = [r for r in project.runs("killed") if "rnnstudy.trial" not in r.data.tags]
    assert parent.info.status == "FINISHED"
    left = f"trials {dict(outcome['trials'])}, trial runs {dict(outcome['runs'])}"
    print(f"kill test ({storage}) left: {left}; killed trials {sorted(killed)}")


def test_stale_trials_are_known_by_their_heartbeat(tmp_path):
    """A live worker here, a dead one here, one whose process id now names another process,
    a fresh and an old beat from another machine, and a trial claimed without any beat."""
    import optuna
    from optuna.trial import TrialState

    from rnnstudy.stores import heartbeat, optuna_internals
    from rnnstudy.stores.optuna_storage import open_storage

    study = optuna.create_study(storage=open_storage(str(tmp_path / "journal")))
    now, here, me, dead = time.time(), heartbeat.machine(), os.getpid(), _dead_pid()
    started = heartbeat._started(me)
    beats = {
        "alive here, silent": {
            "machine": here,
            "pid": me,
            "started": started,
            "time": now - 1000,
            "every": 1,
        },
        "dead here": {"machine": here, "pid": dead, "started": started, "time": now, "every": 1},
        "pid reused here": {"machine": here, "pid": me, "started": "1", "time": now, "every": 1},
        "fresh elsewhere": {
            "machine": "other/pid:[1]",
            "pid": me,
            "started": started,
            "time": now - 3,
            "every": 1,
        },
        "old elsewhere": {
            "machine": "other/pid:[1]",
            "pid": me,
            "started": started,
            "time": now - 5,
            "every": 1,
        },
        "no beat yet": None,
    }
    names = {}
    for name, beat in beats.items():
        trial = study.ask()
        names[trial.number] = name
        if beat is not None:
            optuna_internals.set_system_attr(study, trial.number, HEARTBEAT_ATTR, beat)
    study.tell(study.ask(), 1.0)  # a finished trial is never stale

    stale = {names[t.number]: reason for t, reason in heartbeat.stale(study, now=now)}

    assert set(stale) == {"dead here", "pid reused here", "old elsewhere"}
    assert stale["dead here"] == f"worker process {dead} is gone (killed?)"
    assert stale["old elsewhere"] == "heartbeat stale: no beat for 5 s (its worker or machine is gone)"
    later = {names[t.number] for t, _ in heartbeat.stale(study, now=now + 3600)}
    assert later == set(stale) | {"fresh elsewhere", "no beat yet"}  # a live local worker never is
    assert all(t.state == TrialState.RUNNING for t in study.get_trials() if t.number in names)


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


# --- trials that fail, diverge or are pruned ------------------------------------------------


def test_failing_diverging_and_pruned_trials_do_not_stop_the_study(project):
    points = [
        # a real Keras model that Adam with a large learning rate drives to NaN
        {
            "model": "dense_stack",
            "optimizer": "adam",
            "learning_rate": 10.0,
            "depth": 6,
            "width": 256,
            "activation": "linear",
        },
        {"model": "scripted_fit", "score": 0.7, "raise_at_epoch": 1},
        {"model": "scripted_fit", "score": 0.7, "nan_at_epoch": 1},
        {"model": "scripted_fit", "score": 0.9},
        {"model": "scripted_fit", "score": 0.8},
        {"model": "scripted_fit", "score": 0.1},  # below the median of the two finished trials: pruned
        {"model": "scripted_fit", "score": 0.95},
    ]
    study_file = project.write_study(
        "mixed", points=points, pruner="median", fixed={"epochs": 3, "rows": 64, "batch_size": 8}
    )

    result = project.run(study_file)

    assert result.returncode == 1, result.stdout  # some trials failed: the same command retries them
    assert "Traceback" not in result.stdout
    assert "3 trial(s) of this run failed" in result.stdout
    found = trials(project, "mixed")
    assert [t.state.name for t in found] == [
        "FAIL",
        "FAIL",
        "FAIL",
        "COMPLETE",
        "COMPLETE",
        "PRUNED",
        "COMPLETE",
    ]
    adam = found[0].user_attrs["fail_reason"]
    assert adam.startswith("TrialFailed: loss became ") and adam.split()[3] in ("nan", "inf", "-inf")
    assert found[1].user_attrs["fail_reason"] == "RuntimeError: scripted failure at epoch 1"
    assert found[2].user_attrs["fail_reason"] == "TrialFailed: loss became nan at epoch 1"
    for number in (0, 1, 2):
        run = run_of(project, "mixed", number)
        assert run.info.status == "FAILED"
        assert run.data.tags["rnnstudy.error"] == found[number].user_attrs["fail_reason"]
    pruned = run_of(project, "mixed", 5)
    assert pruned.info.status == "KILLED"
    assert pruned.data.tags["rnnstudy.state"] == "PRUNED"
    assert pruned.data.tags["rnnstudy.pruned_at_epoch"] == "1"
    assert "trial #5 PRUNED" in result.stdout and "pruned at epoch 1" in result.stdout
    assert "mixed: 3 complete, 1 pruned, 3 fail" in result.stdout


def test_a_configuration_error_stops_the_whole_study_with_one_line(project):
    study_file = project.write_study(
        "misconfigured", search={"score": [0.1, 0.2, 0.3, 0.4]}, objective="val_nothing", fixed={"epochs": 1}
    )

    result = project.run(study_file, "--workers", "2")

    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert errors[0].startswith("Error: objective 'val_nothing' is not logged; logged metrics: loss, ")
    states = [t.state.name for t in trials(project, "misconfigured")]
    assert "COMPLETE" not in states and "WAITING" in states  # stopped, not run to the end


# --- Ctrl-C ------------------------------------------------------------------------------------


@pytest.mark.parametrize("signal_name", ["SIGINT", pytest.param("SIGTERM", marks=pytest.mark.slow)])
def test_ctrl_c_stops_cleanly_marks_the_running_trial_and_says_how_to_resume(signal_name, project):
    study_file = project.write_study(
        "stopped", search={"score": GRID[:4]}, fixed={"epochs": 20, "epoch_seconds": 0.5}
    )
    run = project.start(study_file)
    running = project.wait_for(
        lambda: [t for t in trials(project, "stopped") if "mlflow_run_id" in t.user_attrs],
        what="a trial to start its MLflow run",
    )[0]

    if signal_name == "SIGINT":
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C in a terminal: every process of the command
    else:
        os.kill(run.pid, signal.SIGTERM)  # what Kubernetes sends to a container's first process

    assert run.wait(timeout=120) == (130 if signal_name == "SIGINT" else 143)
    output = project.log()
    assert "Traceback" not in output
    assert "to resume, run the same command again: rnnstudy optimize stopped.py" in output
    after = trials(project, "stopped")
    assert after[running.number].state.name == "FAIL"
    assert after[running.number].user_attrs["fail_reason"] == "interrupted (Ctrl-C or SIGTERM)"
    assert "RUNNING" not in {t.state.name for t in after}
    stopped = run_of(project, "stopped", running.number)
    assert stopped.info.status == "KILLED"
    assert stopped.data.tags["rnnstudy.state"] == "INTERRUPTED"
    [parent] = [r for r in project.runs("stopped") if "rnnstudy.trial" not in r.data.tags]
    assert parent.info.status == "KILLED"


# --- servers that are not there --------------------------------------------------------------


def test_unreachable_storage_or_tracking_server_is_one_line_naming_the_url(project, monkeypatch):
    from click.testing import CliRunner

    from rnnstudy import cli
    from rnnstudy.plugins import registry

    monkeypatch.chdir(project.root)
    monkeypatch.syspath_prepend(str(project.site))
    monkeypatch.setattr(registry, "_default", None)  # find the scripted plugins' entry points
    study_file = project.write_study("unreachable", search={"score": [0.1]})
    port = free_port()
    cases = {
        "--storage": f"postgresql://bob:hunter2@127.0.0.1:{port}/optuna",
        "--tracking-uri": f"http://bob:hunter2@127.0.0.1:{port}",
    }
    for option, url in cases.items():
        result = CliRunner().invoke(cli.cli, ["optimize", study_file, option, url])

        assert result.exit_code == 2, result.output
        assert not (project.root / "mlruns").exists() or not list((project.root / "mlruns").iterdir())
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: ")
        assert url.replace("hunter2", "***") in lines[0]
        assert "hunter2" not in result.output
