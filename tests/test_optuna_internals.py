"""What rnnstudy relies on in Optuna's private API (rnnstudy/optuna_internals.py). These fail
when the pinned Optuna changes it: then that module, and only it, needs mending."""

from __future__ import annotations

import optuna
import pytest

from rnnstudy.stores import optuna_internals
from rnnstudy.stores.optuna_storage import open_storage


@pytest.fixture
def study(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(storage=open_storage(str(tmp_path / "journal")))  # as workers open it


def test_claim_takes_waiting_trials_in_order_with_their_points_and_never_creates_one(study):
    study.enqueue_trial({"c1": 10})
    study.enqueue_trial({"c1": 20})

    first_id, first, point = optuna_internals.claim(study)
    _, second, other = optuna_internals.claim(study)

    assert (first, point, second, other) == (0, {"c1": 10}, 1, {"c1": 20})
    assert [t.state.name for t in study.get_trials()] == ["RUNNING", "RUNNING"]
    assert optuna_internals.claim(study) is None
    assert len(study.get_trials()) == 2  # ask() would have made a third
    trial = optuna.Trial(study, first_id)  # as the worker the trial is sent to makes it
    assert trial.suggest_int("c1", 0, 100) == 10  # the enqueued value is what the trial suggests


def test_a_sampled_trial_has_no_point(study):
    study.enqueue_trial({})
    _, number, point = optuna_internals.claim(study)
    assert number == 0 and point is None


def test_a_second_process_cannot_claim_a_trial_already_claimed(study, tmp_path):
    study.enqueue_trial({"c1": 10})
    other = optuna.load_study(study_name=study.study_name, storage=open_storage(str(tmp_path / "journal")))

    assert optuna_internals.claim(study) is not None
    assert optuna_internals.claim(other) is None


def test_attributes_of_any_trial_are_written_by_number(study):
    study.enqueue_trial({"c1": 10})
    frozen = study.get_trials()[0]
    optuna_internals.set_user_attr(study, frozen.number, "fail_reason", "lost")
    optuna_internals.set_system_attr(study, frozen.number, "rnnstudy.heartbeat", {"pid": 1})

    again = study.get_trials()[0]
    assert again.user_attrs["fail_reason"] == "lost"
    assert again.system_attrs["rnnstudy.heartbeat"] == {"pid": 1}
    assert optuna_internals.enqueued_point(again) == {"c1": 10}


def test_a_claim_takes_only_the_trials_it_accepts_oldest_first(tmp_path):
    import optuna

    from rnnstudy.stores.optuna_internals import claim
    from rnnstudy.stores.optuna_storage import open_storage

    study = optuna.create_study(study_name="b", storage=open_storage(str(tmp_path / "journal")))
    for name in ("tensorflow", "jax", "tensorflow", "jax"):
        study.enqueue_trial({"backend": name})
    jax = lambda point: point.get("backend") == "jax"  # noqa: E731
    taken = [claim(study, jax) for _ in range(3)]
    assert [(n, p) for _, n, p in taken[:2]] == [(1, {"backend": "jax"}), (3, {"backend": "jax"})]
    assert taken[2] is None  # two TensorFlow trials wait, but not for this worker
    assert [t.number for t in study.get_trials(states=(optuna.trial.TrialState.WAITING,))] == [0, 2]


@pytest.mark.parametrize("storage", ["journal", "postgres"])
def test_a_trial_claimed_by_one_process_is_run_by_another(storage, tmp_path, request):
    """The driver claims, its worker (another storage object: another process) runs it; an RDB
    storage's cache must have read the trial first (Optuna's KeyError otherwise)."""
    url = str(tmp_path / "journal") if storage == "journal" else request.getfixturevalue("postgres_url")
    driver = optuna.create_study(study_name="split", storage=open_storage(url))
    worker = optuna.load_study(study_name="split", storage=open_storage(url))  # before the trials exist
    for width in (2, 3):
        driver.enqueue_trial({"width": width})
    for width in (2, 3):
        trial_id, number, point = optuna_internals.claim(driver)
        trial = optuna_internals.trial_of(worker, trial_id)
        trial.set_user_attr("mlflow_run_id", f"run-{number}")
        worker.tell(trial, trial.suggest_int("width", 0, 10))
        assert point == {"width": width}
    assert [(t.state.name, t.value, t.user_attrs) for t in driver.get_trials()] == [
        ("COMPLETE", 2.0, {"mlflow_run_id": "run-0"}),
        ("COMPLETE", 3.0, {"mlflow_run_id": "run-1"}),
    ]


def test_processes_opening_a_fresh_database_at_once_all_get_the_storage(postgres_url, tmp_path):
    """As a Slurm array's tasks do: they race to create Optuna's tables; the losers try again."""
    import subprocess
    import sys

    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.005)\n"
        "from rnnstudy.stores.optuna_storage import open_storage\n"
        f"open_storage({postgres_url!r}); print('opened')\n"
    )
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    import time

    time.sleep(3)  # every process waits at the line, its imports done
    go.touch()
    ended = [process.communicate(timeout=120) for process in starts]
    assert [out for out, _ in ended] == ["opened\n"] * 6, [err[-500:] for _, err in ended]
