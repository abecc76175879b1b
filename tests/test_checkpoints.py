"""Checkpoints: a trial killed or stopped mid-way continues from its last checkpoint, exactly.

The unit tests use a real Keras model and real files (MLflow's local artifact repository);
the slow ones kill and stop real `rnnstudy optimize` processes and compare the resumed trial
with one that was never interrupted.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from rnnstudy.trial import checkpoint
from rnnstudy.trial.checkpoint import CheckpointError, Checkpoints


def tiny_data(n: int = 64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")


def tiny_model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(12, activation="relu"),
            keras.layers.Dropout(0.3),  # its seed generator is state a checkpoint must hold
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def store(folder: Path, warnings: list[str] | None = None) -> Checkpoints:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    uri = folder.resolve().as_uri()
    return Checkpoints(
        get_artifact_repository(uri), uri, warn=(warnings if warnings is not None else []).append
    )


class Keep(keras.callbacks.Callback):
    """What the trial runner's callback does at an epoch's end: capture the state."""

    def on_epoch_end(self, epoch, logs=None):
        self.state = checkpoint.capture(self.model, epoch + 1, [dict(logs)], "run-1", 0.0, {"seed": 3})


class Restore(keras.callbacks.Callback):
    def __init__(self, state):
        super().__init__()
        self.state = state

    def on_train_begin(self, logs=None):
        checkpoint.set_generators(self.state.generators)


def test_checkpoint_every_is_epochs_or_a_duration_and_nothing_else():
    assert checkpoint.parse_every(5) == checkpoint.Every(epochs=5)
    assert checkpoint.parse_every("10m") == checkpoint.Every(seconds=600)
    assert checkpoint.parse_every(checkpoint.DEFAULT_EVERY).seconds == 600
    assert checkpoint.parse_every(2).due(2, 0.0) and not checkpoint.parse_every(2).due(1, 1e9)
    assert checkpoint.parse_every("30s").due(0, 31.0) and not checkpoint.parse_every("30s").due(99, 29.0)
    for bad in (0, -3):
        with pytest.raises(CheckpointError, match=f"checkpoint_every={bad} must be >= 1 epoch"):
            checkpoint.parse_every(bad)
    for bad in ("soon", True, 2.5):
        with pytest.raises(CheckpointError, match="give a number of epochs >= 1"):
            checkpoint.parse_every(bad)


def test_the_key_is_the_configuration_and_seed_not_the_checkpoint_settings():
    values = {"width": 8, "seed": 0, "epochs": 8}
    same = checkpoint.key("s", {**values, "checkpoint_every": 2, "artifacts": False})
    assert checkpoint.key("s", values) == same
    assert checkpoint.key("s", {**values, "seed": 1}) != same
    assert checkpoint.key("other study", values) != same


def test_a_model_resumed_from_a_saved_checkpoint_ends_as_an_uninterrupted_one(tmp_path):
    x, y = tiny_data()
    straight = tiny_model()
    straight.fit(x, y, epochs=4, batch_size=8, verbose=0)

    first, keep = tiny_model(), Keep()
    first.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[keep])
    store(tmp_path).save(keep.state)

    loaded = store(tmp_path).latest()
    assert loaded.epoch == 2 and loaded.run_id == "run-1" and loaded.values == {"seed": 3}
    resumed = tiny_model()  # a new process would build it the same way
    checkpoint.restore(resumed, loaded)
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0, callbacks=[Restore(loaded)])
    for a, b in zip(straight.variables, resumed.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_checkpoint_of_another_model_is_refused_before_anything_is_assigned(tmp_path):
    x, y = tiny_data()
    model, keep = tiny_model(), Keep()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[keep])
    other = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5), keras.layers.Dense(2)])
    other.compile(optimizer="adam", loss="mse")
    before = [v.numpy().copy() for v in other.variables]
    with pytest.raises(ValueError, match="saved"):
        checkpoint.restore(other, keep.state)
    for a, b in zip(before, other.variables, strict=True):
        np.testing.assert_array_equal(a, b.numpy())


def test_a_damaged_checkpoint_falls_back_to_the_one_before_with_one_warning_each(tmp_path):
    x, y = tiny_data()
    model, keep = tiny_model(), Keep()
    saved = store(tmp_path)
    for epoch in range(3):
        model.fit(x, y, epochs=epoch + 1, initial_epoch=epoch, batch_size=8, verbose=0, callbacks=[keep])
        saved.save(keep.state)
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == ["epoch-000002", "epoch-000003"]  # the two newest are kept

    # cut off mid-write (half the file), then one whose digest never came
    state = tmp_path / "epoch-000003" / checkpoint.STATE
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    warnings: list[str] = []
    assert store(tmp_path, warnings).latest().epoch == 2
    assert len(warnings) == 1 and "checkpoint epoch-000003" in warnings[0]
    assert "does not match its digest" in warnings[0]

    (tmp_path / "epoch-000002" / checkpoint.DIGEST).unlink()
    warnings.clear()
    assert store(tmp_path, warnings).latest() is None  # nothing whole: epoch 0
    assert [w.split(" of ")[0] for w in warnings] == [
        "warning: checkpoint epoch-000003",
        "warning: checkpoint epoch-000002",
    ]
    assert "the save was cut off" in warnings[1]

    store(tmp_path).clear()
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_no_folder_yet_means_no_checkpoint(tmp_path):
    assert store(tmp_path / "never-written").latest() is None


def test_a_checkpoint_folder_is_a_path_or_a_file_uri(tmp_path):
    folder = tmp_path / "shared ckpt"
    assert checkpoint.folder_root(str(folder)) == folder.as_uri()
    assert checkpoint.folder_root(folder.as_uri()) == folder.as_uri()  # the same folder


@pytest.mark.slow  # starts an mlflow server
def test_checkpoints_go_through_a_tracking_servers_artifact_store(mlflow_server):
    from rnnstudy.stores.mlflow_tracking import Tracker

    x, y = tiny_data()
    model, keep = tiny_model(), Keep()
    tracker = Tracker(mlflow_server.url)
    root = tracker.checkpoint_root(tracker.experiment("served"))
    assert root.startswith("mlflow-artifacts:")  # the server's store, which every machine reaches
    uri = f"{root}/{checkpoint.key('served', {'seed': 0})}"
    saved = Checkpoints(tracker.repository(uri), uri)
    for epoch in range(3):
        model.fit(x, y, epochs=epoch + 1, initial_epoch=epoch, batch_size=8, verbose=0, callbacks=[keep])
        saved.save(keep.state)
    on_server = sorted(p.parent.name for p in mlflow_server.artifacts.rglob(checkpoint.DIGEST))
    assert on_server == ["epoch-000002", "epoch-000003"]
    loaded = saved.latest()
    assert loaded.epoch == 3
    for a, b in zip(keep.state.model, loaded.model, strict=True):
        np.testing.assert_array_equal(a, b)
    saved.clear()
    assert not list(mlflow_server.artifacts.rglob(checkpoint.DIGEST))


# --- bad input: one line, exit 2, nothing written --------------------------------------------


def test_bad_checkpoint_settings_are_one_line_and_write_nothing(project, monkeypatch):
    from rnnstudy import cli
    from rnnstudy.plugins import registry

    monkeypatch.chdir(project.root)
    monkeypatch.syspath_prepend(str(project.site))
    monkeypatch.setattr(registry, "_default", None)  # find the scripted plugins' entry points
    study_file = project.write_study("bad", model="slow_dense", search={"width": [4]})
    blocker = project.root / "a-file"
    blocker.write_text("not a folder")
    cases = {
        ("--set", "checkpoint_every=0"): "checkpoint_every=0 must be >= 1 epoch",
        ("--set", "checkpoint_every=soon"): "checkpoint_every='soon' is not allowed",
        ("--checkpoint-dir", str(blocker / "sub")): "is not a writable folder",
        (
            "--checkpoint-dir",
            "s3://bob:hunter2@bucket/ckpt",
        ): "is a URI; it takes a folder that every machine",
    }
    for args, expected in cases.items():
        result = CliRunner().invoke(cli.cli, ["optimize", study_file, *args])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], result.output
        assert "hunter2" not in result.output
        assert not (project.root / "mlruns").exists()


# --- killed and stopped studies ---------------------------------------------------------------

SLOW = {"model": "slow_dense", "search": {"width": [8]}}
FIXED = {"epochs": 8, "rows": 96, "batch_size": 8, "checkpoint_every": 2}


def completed_run(project, name: str):
    [run] = [
        r
        for r in project.runs(name)
        if "rnnstudy.trial" in r.data.tags and r.data.tags.get("rnnstudy.state") == "COMPLETE"
    ]
    return run


def history(project, run, key: str) -> list[tuple[int, float]]:
    from mlflow import MlflowClient

    return sorted(
        (m.step, m.value) for m in MlflowClient(project.tracking_uri).get_metric_history(run.info.run_id, key)
    )


def checkpoints_in(folder: Path) -> list[str]:
    return sorted(p.parent.name for p in folder.glob(f"*/epoch-*/{checkpoint.DIGEST}"))


@pytest.mark.slow  # three studies of 8 epochs, each a process that imports TensorFlow
def test_kill_9_mid_trial_then_the_rerun_trains_only_what_was_lost_and_ends_as_if_never_killed(project):
    folder = project.root / "checkpoints"
    killed = project.write_study("killed", **SLOW, fixed={**FIXED, "epoch_seconds": 1.5})
    run = project.start(killed, "--checkpoint-dir", str(folder))
    project.wait_for(lambda: "epoch-000004" in checkpoints_in(folder), what="the checkpoint of epoch 4")
    os.killpg(run.pid, signal.SIGKILL)  # during epoch 5: its sleep follows the checkpoint
    run.wait()
    [dead] = [r for r in project.runs("killed") if "rnnstudy.trial" in r.data.tags]
    logged = len(history(project, dead, "val_loss"))
    assert logged >= 4

    again = project.run(killed, "--checkpoint-dir", str(folder))
    assert again.returncode == 0, again.stdout
    assert "resumed at epoch 4 from its checkpoint" in again.stdout
    resumed = completed_run(project, "killed")
    assert resumed.data.metrics["epochs_trained"] == 4  # 5..8: nothing after the checkpoint kept
    assert resumed.data.tags["rnnstudy.resumed_at_epoch"] == "4"
    assert resumed.data.tags["rnnstudy.continues"] == dead.info.run_id
    [dead] = [r for r in project.runs("killed") if r.info.run_id == dead.info.run_id]
    assert dead.data.tags["rnnstudy.continued_by"] == resumed.info.run_id
    curve = history(project, resumed, "val_loss")
    assert [step for step, _ in curve] == list(range(1, 9))  # each epoch once, none missing
    assert checkpoints_in(folder) == []  # the trial ended: its checkpoints went
    from rnnstudy import api
    from rnnstudy import results as report

    frame = api.load("killed", storage=project.storage_url, tracking_uri=project.tracking_uri).frame
    assert len(report.completed(frame)) == 1  # the killed run is not counted beside its continuation

    # never killed: the same configuration and seed, under another study name
    straight = project.write_study("straight", **SLOW, fixed={**FIXED, "epoch_seconds": 0.0})
    assert project.run(straight).returncode == 0
    uninterrupted = completed_run(project, "straight")
    assert history(project, uninterrupted, "val_loss") == curve
    for metric in ("test_accuracy", "test_loss", "val_accuracy"):
        assert resumed.data.metrics[metric] == uninterrupted.data.metrics[metric], metric
    print(f"kill -9 after epoch 4 (the killed run had logged {logged}): the rerun trained 4 epochs")


@pytest.mark.slow
def test_sigterm_mid_trial_checkpoints_the_last_epoch_and_the_same_command_continues(project):
    folder = project.root / "mlruns" / "artifacts" / "checkpoints"  # no folder given: MLflow's store
    stopped = project.write_study(
        "stopped", **SLOW, fixed={**FIXED, "checkpoint_every": 1000, "epoch_seconds": 1.5}
    )
    run = project.start(stopped)

    def epochs_logged():
        runs = [r for r in project.runs("stopped") if "rnnstudy.trial" in r.data.tags]
        return runs and len(history(project, runs[0], "val_loss")) >= 3 and runs[0]

    dead = project.wait_for(epochs_logged, what="three epochs of the trial")
    os.kill(run.pid, signal.SIGTERM)  # Kubernetes and Slurm's first word: stop now
    assert run.wait(timeout=120) == 143  # 128 + SIGTERM (rnnstudy.errors.Exit.TERMINATED)
    assert "Traceback" not in project.log()
    logged = len(history(project, dead, "val_loss"))
    saved = checkpoints_in(folder)
    assert saved == [f"epoch-{logged:06d}"]  # the last whole epoch, though none was due

    again = project.run(stopped, "--keep-models")
    assert again.returncode == 0, again.stdout
    resumed = completed_run(project, "stopped")
    assert resumed.data.metrics["epochs_trained"] == 8 - logged
    assert [step for step, _ in history(project, resumed, "val_loss")] == list(range(1, 9))
    assert checkpoints_in(folder) == []

    # --keep-models: the final model, as an MLflow model that loads and predicts
    import mlflow.keras

    mlflow.set_tracking_uri(project.tracking_uri)
    kept = mlflow.keras.load_model(f"runs:/{resumed.info.run_id}/model")
    assert kept.predict(np.zeros((3, 2), dtype="float32"), verbose=0).shape == (3, 2)
    print(f"SIGTERM after {logged} epochs: checkpointed at once; the rerun trained {8 - logged}")
