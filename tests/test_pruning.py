"""Pruning: the median, successive-halving and Hyperband pruners see the objective after every
epoch; a pruned trial is PRUNED in Optuna and its MLflow run is KILLED, tagged PRUNED with the
epoch it stopped at.

The trials run in this process through the worker's own steps (claim, run, tell) on an
in-memory Optuna study; the scripted model's val_accuracy is its ``score`` hyperparameter, so
which trial the median and successive-halving rules prune is known in advance.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import take

from rnnstudy.plugins.registry import Registry
from rnnstudy.run import _worker as worker
from rnnstudy.run._planner import plan
from rnnstudy.spec.samplers import make_pruner, make_sampler
from rnnstudy.spec.study import Study
from rnnstudy.stores.mlflow_tracking import Tracker
from rnnstudy.trial.runner import TrialRunner


@pytest.fixture
def registry(monkeypatch) -> Registry:
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "scripted"))
    import rnnstudy_scripted

    from rnnstudy_plugins import optimizers

    registry = Registry(entry_points=False)
    registry.add("dataset", "tiny_table", rnnstudy_scripted.tiny_table)
    registry.add("model", "scripted_fit", rnnstudy_scripted.ScriptedFit)
    registry.add("optimizer", "sgd", optimizers.sgd)
    yield registry
    sys.modules.pop("rnnstudy_scripted", None)


def run_grid(tmp_path, registry, pruner: str, scores: list[float], epochs: int):
    """Run a grid of scores one trial after another; return the trials and their MLflow runs."""
    import optuna

    spec = Study(
        dataset="tiny_table",
        model="scripted_fit",
        optimizer="sgd",
        name=f"prune-{pruner}",
        search={"score": scores},
        pruner=pruner,
        fixed={"epochs": epochs},
    )
    study = optuna.create_study(
        study_name=spec.name, direction="maximize", sampler=make_sampler(spec), pruner=make_pruner(spec)
    )
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = tracker.experiment(spec.name)
    parent_id = tracker.parent_run(experiment_id, spec.name, None, "")
    runner = TrialRunner(spec, registry, tracker, experiment_id, parent_id)
    plan(study, spec, spec.grid_points)
    while (claimed := take(study))[0] is not None:
        assert worker.run_one(study, *claimed, runner, lambda message: None)
    runs = {
        int(run.data.tags["rnnstudy.trial"]): run
        for run in tracker.client.search_runs([experiment_id], "tags.`rnnstudy.trial` != ''")
    }
    return study.get_trials(), runs, tracker


def check_pruned_runs(trials, runs, tracker, epochs: int) -> dict[int, int]:
    """Every epoch a trial ran was reported and logged; return {pruned trial: its last epoch}."""
    pruned = {}
    for trial in trials:
        ran = len(tracker.client.get_metric_history(runs[trial.number].info.run_id, "val_accuracy"))
        assert sorted(trial.intermediate_values) == list(range(1, ran + 1))  # fed every epoch
        run = runs[trial.number]
        if trial.state.name == "PRUNED":
            pruned[trial.number] = ran
            assert ran < epochs
            assert run.info.status == "KILLED"
            assert run.data.tags["rnnstudy.state"] == "PRUNED"
            assert run.data.tags["rnnstudy.pruned_at_epoch"] == str(ran)
        else:
            assert trial.state.name == "COMPLETE" and ran == epochs
            assert run.info.status == "FINISHED"
    return pruned


def test_median_pruner_stops_a_trial_below_the_median_of_finished_ones(tmp_path, registry):
    # two finished trials first (n_startup_trials), then judged from the first epoch on
    trials, runs, tracker = run_grid(tmp_path, registry, "median", [0.9, 0.8, 0.1, 0.95], epochs=4)

    assert check_pruned_runs(trials, runs, tracker, epochs=4) == {2: 1}


def test_successive_halving_keeps_the_best_quarter_at_each_rung(tmp_path, registry):
    # rungs at epochs 1 and 4; with fewer than 4 trials at a rung, only the best goes on
    trials, runs, tracker = run_grid(
        tmp_path, registry, "successive_halving", [0.9, 0.5, 0.95, 0.3], epochs=4
    )

    assert check_pruned_runs(trials, runs, tracker, epochs=4) == {1: 1, 3: 1}


def test_hyperband_prunes_within_its_brackets_and_never_the_best_trial(tmp_path, registry):
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.99]
    trials, runs, tracker = run_grid(tmp_path, registry, "hyperband", scores, epochs=9)

    pruned = check_pruned_runs(trials, runs, tracker, epochs=9)
    assert pruned  # brackets are a hash of study name and trial number: some are pruned
    assert trials[-1].state.name == "COMPLETE"  # the best of every rung it reaches
    assert all(trials[n].params["score"] < 0.9 for n in pruned)


def test_a_stop_between_a_runs_start_and_its_noted_id_still_ends_the_run(tmp_path, registry, monkeypatch):
    """Ctrl-C can land once the run exists and the trial names it, before the worker holds its
    id: the run must not stay RUNNING while the trial says it was interrupted."""
    import optuna

    spec = Study(
        dataset="tiny_table", model="scripted_fit", optimizer="sgd", name="stop", search={"score": [0.5]}
    )
    study = optuna.create_study(study_name=spec.name, direction="maximize")
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = tracker.experiment(spec.name)
    parent_id = tracker.parent_run(experiment_id, spec.name, None, "")
    runner = TrialRunner(spec, registry, tracker, experiment_id, parent_id)
    started = runner.start

    def start_then_stop(trial):
        started(trial)  # the run is open and the trial names it ...
        raise KeyboardInterrupt  # ... and the stop comes before the id is returned

    monkeypatch.setattr(runner, "start", start_then_stop)
    plan(study, spec, spec.grid_points)
    with pytest.raises(KeyboardInterrupt):
        worker.run_one(study, *take(study), runner, lambda message: None)

    [trial] = study.get_trials()
    [run] = tracker.client.search_runs([experiment_id], "tags.`rnnstudy.trial` = '0'")
    assert trial.state.name == "FAIL" and trial.user_attrs["outcome"] == "INTERRUPTED"
    assert run.info.status == "KILLED" and run.data.tags["rnnstudy.state"] == "INTERRUPTED"


def test_the_median_pruner_sees_the_primary_objective_of_a_multi_objective_study(tmp_path, registry):
    """Optuna refuses report/should_prune with several objectives: rnnstudy prunes on the
    primary. Two finished trials, then one far below their median on val_accuracy is pruned at
    its first epoch, whatever its (smaller, better) size."""
    import optuna

    spec = Study(
        dataset="tiny_table",
        model="scripted_fit",
        optimizer="sgd",
        name="prune-primary",
        points=[{"score": 0.9, "size": 50}, {"score": 0.8, "size": 60}, {"score": 0.1, "size": 1}],
        objective=["val_accuracy", "params"],
        primary="val_accuracy",
        pruner="median",
        fixed={"epochs": 4},
    )
    study = optuna.create_study(
        study_name=spec.name,
        directions=list(spec.objectives.values()),
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
    )
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = tracker.experiment(spec.name)
    runner = TrialRunner(
        spec, registry, tracker, experiment_id, tracker.parent_run(experiment_id, spec.name, None, "")
    )
    plan(study, spec, spec.grid_points)
    while (claimed := take(study))[0] is not None:
        assert worker.run_one(study, *claimed, runner, lambda message: None)

    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert [t.values for t in trials[:2]] == [[0.9, 50.0], [0.8, 60.0]]  # both objectives told to Optuna
    assert sorted(trials[0].intermediate_values) == [1, 2, 3, 4]  # the primary's curve, every epoch
    assert sorted(trials[2].intermediate_values) == [1]
