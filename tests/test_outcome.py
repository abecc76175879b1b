"""The one mapping of a trial's outcome to Optuna, MLflow and the tag, and the one function that
ends a trial: on a real in-memory Optuna study and a real MLflow SQLite store."""

from __future__ import annotations

import optuna
import pytest

from rnnstudy.stores.mlflow_tracking import Tracker
from rnnstudy.stores.outcome import DONE_STATES, Ending, Outcome, end_trial

MAPPING = {  # outcome: (Optuna state, MLflow status, runs again on resume)
    Outcome.COMPLETE: ("COMPLETE", "FINISHED", False),
    Outcome.PRUNED: ("PRUNED", "KILLED", False),
    Outcome.FAILED: ("FAIL", "FAILED", True),
    Outcome.INTERRUPTED: ("FAIL", "KILLED", True),
    Outcome.LOST: ("FAIL", "KILLED", True),
}


def test_every_outcome_is_its_own_member_with_one_mapping():
    assert list(Outcome) == list(MAPPING)  # equal (state, status) pairs are still distinct outcomes
    for outcome, (state, status, again) in MAPPING.items():
        assert (outcome.optuna_state, outcome.run_status, not outcome.done) == (state, status, again)
        assert optuna.trial.TrialState[outcome.optuna_state]  # a real Optuna state name
    assert DONE_STATES == ("COMPLETE", "PRUNED")


@pytest.fixture
def tracker(tmp_path):
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")


@pytest.mark.parametrize("outcome", list(Outcome))
def test_end_trial_writes_the_mapping_to_optuna_and_mlflow(outcome, tracker):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    trial.report(0.5, 1)  # a pruned trial keeps its last reported value
    experiment = tracker.experiment("outcomes")
    run_id = tracker.start_trial(experiment, "", "outcomes", trial.number, "t", "")
    ending = Ending(outcome, value=0.75 if outcome is Outcome.COMPLETE else None, reason="why", pruned_at=1)

    end_trial(study, trial.number, ending, tracker=tracker, run_ids=[run_id])

    frozen = study.get_trials()[0]
    run = tracker.client.get_run(run_id)
    assert frozen.state.name == outcome.optuna_state
    assert run.info.status == outcome.run_status
    assert run.data.tags["rnnstudy.state"] == outcome.name
    if outcome is Outcome.COMPLETE:
        assert frozen.value == 0.75
    elif outcome is Outcome.PRUNED:
        assert run.data.tags["rnnstudy.pruned_at_epoch"] == "1"
    else:
        assert frozen.user_attrs["fail_reason"] == "why" == run.data.tags["rnnstudy.error"]


def test_ending_a_finished_trial_again_changes_nothing(tracker):
    study = optuna.create_study()
    trial = study.ask()
    end_trial(study, trial.number, Ending(Outcome.COMPLETE, value=1.0))
    end_trial(study, trial.number, Ending(Outcome.LOST, reason="a late driver"))  # raced: no error

    frozen = study.get_trials()[0]
    assert (frozen.state.name, frozen.value, frozen.user_attrs) == ("COMPLETE", 1.0, {})


def test_a_reason_never_carries_a_password():
    ending = Ending(Outcome.FAILED, reason="cannot reach postgresql://bob:s3cret@db/x")
    assert "s3cret" not in ending.reason and "s3cret" not in str(ending.tags())
