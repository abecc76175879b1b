"""Planning a study: every configuration × seed enqueued exactly once, seed by seed; a sampled
configuration's other seeds once it is complete; a race's next seed only for the points still
tied with the leader. On a real Optuna journal storage, trials ended by hand (no training)."""

from __future__ import annotations

import optuna
import pytest
from conftest import take

from rnnstudy.errors import RnnstudyError
from rnnstudy.run._planner import plan
from rnnstudy.spec.space import label
from rnnstudy.spec.study import Study
from rnnstudy.stores import optuna_internals
from rnnstudy.stores.optuna_storage import open_storage


@pytest.fixture
def storage(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return open_storage(str(tmp_path / "journal"))


def _study(storage, spec):
    return optuna.create_study(study_name=spec.name, storage=storage, direction=spec.direction)


def _points(study) -> list[dict]:
    return [optuna_internals.enqueued_point(t) for t in study.get_trials()]


def _finish(study, value_of) -> None:
    """Claim and complete every waiting trial with ``value_of(point)``."""
    while (claimed := take(study))[0] is not None:
        trial, point = claimed
        study.tell(trial, value_of(point))


def test_repeats_enqueue_points_times_seeds_seed_by_seed_exactly_once(storage):
    spec = Study(dataset="d", model="m", name="r", search={"c1": [10, 50], "c2": [2, 3]}, repeats=3)
    study = _study(storage, spec)

    first = plan(study, spec, spec.grid_points)
    again = plan(study, spec, spec.grid_points)  # another process planning the same study

    assert (first.waiting, first.added, again.added, again.waiting) == (12, 12, 0, 12)
    points = _points(study)
    assert [p["seed"] for p in points] == [0] * 4 + [1] * 4 + [2] * 4  # every point's seed 0 first
    assert len({label(p) + str(p["seed"]) for p in points}) == 12
    assert {label(p) for p in points} == {"c1=10 c2=2", "c1=10 c2=3", "c1=50 c2=2", "c1=50 c2=3"}


def test_a_failed_trial_runs_again_and_trials_caps_the_grid_in_seed_order(storage):
    spec = Study(dataset="d", model="m", name="r", search={"c1": [10, 50, 90]}, repeats=2, trials=4)
    study = _study(storage, spec)
    plan(study, spec, spec.grid_points)
    trial, point = take(study)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)

    assert plan(study, spec, spec.grid_points).added == 1
    live = [p for t, p in zip(study.get_trials(), _points(study)) if t.state.name != "FAIL"]
    assert sorted((p["c1"], p["seed"]) for p in live) == [(10, 0), (10, 1), (50, 0), (90, 0)]


def test_one_repeat_is_the_old_plan_without_a_seed(storage):
    spec = Study(dataset="d", model="m", name="r", search={"c1": [10, 50]})
    study = _study(storage, spec)
    plan(study, spec, spec.grid_points)
    assert _points(study) == [{"c1": 10}, {"c1": 50}]


def test_a_sampled_configuration_gets_its_other_seeds_once_it_is_complete(storage):
    from rnnstudy.spec.space import Int

    spec = Study(
        dataset="d", model="m", name="s", search={"c1": Int(1, 100)}, sampler="random", trials=2, repeats=3
    )
    study = optuna.create_study(
        study_name="s", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    assert plan(study, spec, None).added == 2
    assert _points(study) == [{"seed": 0}, {"seed": 0}]

    trial, point = take(study)
    sampled = trial.suggest_int("c1", 1, 100)
    study.tell(trial, 0.5)
    assert plan(study, spec, None).added == 2  # seeds 1 and 2 of the sampled configuration
    assert plan(study, spec, None).added == 0
    assert _points(study)[2:] == [{"c1": sampled, "seed": 1}, {"c1": sampled, "seed": 2}]


@pytest.mark.parametrize("repeats", [1, 2])
def test_a_sampled_configuration_stopped_from_outside_runs_again_as_it_was(storage, repeats):
    """So that it continues from its checkpoint; one that failed by itself is replaced by a new sample."""
    from rnnstudy.spec.space import Int
    from rnnstudy.stores.outcome import Ending, Outcome, end_trial

    spec = Study(
        dataset="d",
        model="m",
        name="s",
        search={"c1": Int(1, 100)},
        sampler="random",
        trials=3,
        repeats=repeats,
    )
    study = optuna.create_study(
        study_name="s", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    plan(study, spec, None)
    sampled = {}
    for outcome in (Outcome.INTERRUPTED, Outcome.LOST, Outcome.FAILED):
        trial, point = take(study)
        sampled[outcome] = trial.suggest_int("c1", 1, 100)
        end_trial(study, trial.number, Ending(outcome, reason="stopped"))

    first = plan(study, spec, None)
    seed = {"seed": 0} if repeats > 1 else {}
    again = [{"c1": sampled[o], **seed} for o in (Outcome.INTERRUPTED, Outcome.LOST)]
    assert _points(study)[3:] == [*again, seed]  # and one new sample for the failed one
    assert first.added == 3
    assert plan(study, spec, None).added == 0  # each once


def test_a_race_adds_seeds_only_to_the_points_that_tie_with_the_leader(storage):
    truth = {10: 0.90, 50: 0.88, 90: 0.10}  # 50 is close to 10 (not told apart at 3 seeds); 90 is far worse
    spec = Study(
        dataset="d",
        model="m",
        name="race",
        search={"c1": list(truth)},
        repeats="adaptive",
        min_repeats=3,
        max_repeats=5,
    )
    study = _study(storage, spec)
    noise = {0: 0.01, 1: -0.02, 2: 0.015, 3: -0.01, 4: 0.005}

    assert plan(study, spec, spec.grid_points).added == 9  # every point's first 3 seeds
    assert plan(study, spec, spec.grid_points).added == 0  # a round still running adds nothing
    _finish(study, lambda p: truth[p["c1"]] + noise[p["seed"]] * (1 + p["c1"] / 100))
    step = plan(study, spec, spec.grid_points)

    assert step.added == 2 and "seed 3" in step.reason
    assert sorted(p["c1"] for p in _points(study)[9:]) == [10, 50]  # 90 left the race
    _finish(study, lambda p: truth[p["c1"]] + noise[p["seed"]] * (1 + p["c1"] / 100))
    assert plan(study, spec, spec.grid_points).added == 2  # seed 4 (max_repeats 5)
    _finish(study, lambda p: truth[p["c1"]] + noise[p["seed"]] * (1 + p["c1"] / 100))
    assert plan(study, spec, spec.grid_points).added == 0  # the race is over at max_repeats
    assert len(study.get_trials()) == 13


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"repeats": 0}, "repeats=0 is not allowed"),
        ({"repeats": "many"}, "repeats='many' is not allowed"),
        ({"repeats": 3, "fixed": {"seed": 1}}, "must not also search or fix `seed`"),
        ({"repeats": 3, "search": {"seed": [0, 1]}}, "must not also search or fix `seed`"),
        ({"repeats": "adaptive", "min_repeats": 5, "max_repeats": 3}, "min_repeats"),
    ],
)
def test_bad_repeats_are_one_line_errors(fields, message):
    with pytest.raises(RnnstudyError, match=message) as caught:
        Study(dataset="d", model="m", **{"search": {"c1": [1, 2]}, **fields})
    assert "\n" not in str(caught.value)
