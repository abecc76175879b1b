"""Whole studies through the CLI, checked through MLflow's client and the Optuna storage."""

import optuna
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from rnnstudy.cli import cli

GRID = """
from rnnstudy import Study
study = Study(
    dataset="tiny_images",   # from the throwaway third-party distribution
    model="tiny_mlp",
    search={"units": [2, 4]},
    fixed={"epochs": 2, "batch_size": 16},
)
"""


def optimize(path, *args, exit_code: int = 0):
    result = CliRunner().invoke(cli, ["optimize", str(path), *args])
    assert result.exit_code == exit_code, result.output
    return result.output


def client(workdir) -> MlflowClient:
    return MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")


def runs(workdir, name):
    mlflow = client(workdir)
    experiment = mlflow.get_experiment_by_name(name)
    found = mlflow.search_runs([experiment.experiment_id])
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    children = sorted(
        (r for r in found if "mlflow.parentRunId" in r.data.tags),
        key=lambda r: int(r.data.tags["rnnstudy.trial"]),
    )
    return parents, children


def trials(workdir, name):
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(workdir / "mlruns" / "optuna.journal"))
    )
    return optuna.load_study(study_name=name, storage=storage).trials


def test_a_grid_study_logs_parent_children_params_metrics_and_artifacts(plugin_dist, make_study, workdir):
    output = optimize(make_study(GRID, name="tiny_grid.py"))

    assert "trial #1 COMPLETE (2/2)" in output and "best #" in output  # progress
    parents, children = runs(workdir, "tiny-grid")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert [c.info.status for c in children] == ["FINISHED", "FINISHED"]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert [c.data.params["units"] for c in children] == ["2", "4"]

    run = children[1]
    params = run.data.params
    assert params["epochs"] == "2" and params["optimizer"] == "adam" and params["learning_rate"] == "0.001"
    assert params["model_package"] == "tiny-rnnstudy-plugin 0.3.1"
    assert (params["n_train"], params["n_val"], params["n_test"]) == ("32", "32", "32")
    history = client(workdir).get_metric_history(run.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [1, 2]
    assert {
        "test_accuracy",
        "test_loss",
        "params_total",
        "params_trainable",
        "train_time_s",
        "inference_time_s",
        "overfit_pct",
    } <= set(run.data.metrics)
    assert run.data.metrics["params_total"] == 28 * 28 * 4 + 4 + 4 * 2 + 2
    artifacts = {a.path for a in client(workdir).list_artifacts(run.info.run_id)}
    assert {"history.csv", "curves.png", "model_summary.txt"} <= artifacts

    assert [t.state.name for t in trials(workdir, "tiny-grid")] == ["COMPLETE", "COMPLETE"]
    assert " params " in output and " test_acc " in output  # the closing table (short headers)


def test_running_again_resumes_without_rerunning_finished_trials(plugin_dist, make_study, workdir):
    path = make_study(GRID, name="resumed.py")
    first = optimize(path, "--trials", "1")
    assert "1 trial(s) to run, 0 already done" in first
    second = optimize(path)
    assert "1 trial(s) to run, 1 already done" in second
    third = optimize(path)
    assert "0 trial(s) to run, 2 already done" in third

    done = trials(workdir, "resumed")
    assert sorted(t.params["units"] for t in done) == [2, 4]
    parents, children = runs(workdir, "resumed")
    assert len(parents) == 1 and len(children) == 2


def test_pruned_and_failed_trials_end_as_such_and_the_study_goes_on(plugin_dist, make_study, workdir):
    path = make_study(
        """
        from rnnstudy import Study
        study = Study(
            dataset="tiny_images",
            model="scripted",            # a non-Keras model: reports the accuracy it is told
            points=[
                {"model": "scripted", "quality": 0.9},
                {"model": "scripted", "quality": 0.8},
                {"model": "scripted", "quality": 0.1},      # worse than the median: pruned
                {"model": "tiny_mlp", "explode": True},     # raises while building: failed
                {"model": "scripted", "quality": 0.95},
            ],
            fixed={"epochs": 3},
            pruner="median",
        )
        """,
        name="faults.py",
    )
    output = optimize(path, exit_code=1)  # a trial failed: the same command runs it again
    assert [t.state.name for t in trials(workdir, "faults")] == [
        "COMPLETE",
        "COMPLETE",
        "PRUNED",
        "FAIL",
        "COMPLETE",
    ]
    assert "explode=True" in trials(workdir, "faults")[3].user_attrs["fail_reason"]
    _, children = runs(workdir, "faults")
    assert [c.info.status for c in children] == ["FINISHED", "FINISHED", "KILLED", "FAILED", "FINISHED"]
    assert children[2].data.tags["rnnstudy.state"] == "PRUNED"
    assert children[2].data.tags["rnnstudy.pruned_at_epoch"] == "1"
    assert "explode=True" in children[3].data.tags["rnnstudy.error"]
    assert "best #4 0.9500" in output


def test_the_cnn_logs_its_feature_maps(plugin_dist, make_study, workdir):
    path = make_study(
        """
        from rnnstudy import Study
        study = Study(dataset="tiny_images", model="cnn", optimizer="sgd",
                      points=[{"c1": 3, "c2": 2}],
                      fixed={"epochs": 1, "dense_units": 4, "momentum": 0.1})
        """,
        name="cnn.py",
    )
    optimize(path)
    _, children = runs(workdir, "cnn")
    artifacts = {a.path for a in client(workdir).list_artifacts(children[0].info.run_id)}
    for image in (0, 1):
        for layer in ("c1", "s1", "c2", "s2"):
            assert f"feature_maps_image{image}_{layer}.png" in artifacts
    assert children[0].data.params["momentum"] == "0.1"


@pytest.mark.slow
def test_the_demo_study_runs(workdir):
    from pathlib import Path

    output = optimize(Path(__file__).parents[1] / "studies" / "demo.py", "--subset", "500")
    assert "4 complete" in output


def test_artifacts_false_logs_metrics_and_no_files(plugin_dist, make_study, workdir):
    optimize(make_study(GRID, name="tiny_grid.py"), "--set", "artifacts=False", "--trials", "1")

    _, children = runs(workdir, "tiny-grid")
    run = children[0]
    assert run.info.status == "FINISHED" and run.data.params["artifacts"] == "False"
    assert {"test_accuracy", "train_time_s"} <= set(run.data.metrics)
    assert [m.step for m in client(workdir).get_metric_history(run.info.run_id, "val_accuracy")] == [1, 2]
    assert client(workdir).list_artifacts(run.info.run_id) == []
