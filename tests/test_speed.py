"""What the speed work changed in the runner: threads per worker and queued MLflow logging."""

from rnnstudy.runtime import backend
from rnnstudy.stores.mlflow_tracking import Tracker


def thread_env(workers: int) -> dict[str, str]:
    """TensorFlow's thread settings in a worker's environment (backend.env, less the backend)."""
    return {k: v for k, v in backend.env("tensorflow", workers).items() if k != "KERAS_BACKEND"}


def test_workers_share_the_cores_instead_of_each_taking_all(monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    monkeypatch.setattr(backend.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert thread_env(1) == {}  # one process: TensorFlow's own sizing
    assert thread_env(2) == {"TF_NUM_INTRAOP_THREADS": "4", "TF_NUM_INTEROP_THREADS": "4"}
    assert thread_env(16)["TF_NUM_INTRAOP_THREADS"] == "1"


def test_a_users_thread_settings_win(monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    assert "TF_NUM_INTRAOP_THREADS" not in thread_env(2)


def test_queued_logging_is_all_written_when_the_run_ends(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = tracker.experiment("queued")
    run_id = tracker.start_trial(experiment, "", "queued", 0, run_name="trial-000", description="")
    tracker.set_tags(run_id, {"mlflow.runName": "trial-000 units=4"}, wait=False)
    tracker.log_params(run_id, {"units": 4, "optimizer": "adam"}, wait=False)
    for step in range(1, 31):
        tracker.log_metrics(run_id, {"loss": 1 / step, "val_accuracy": step / 30}, step=step, wait=False)
    tracker.set_tags(run_id, {"rnnstudy.state": "COMPLETE"}, wait=False)
    tracker.finish(run_id, "FINISHED")

    run = tracker.client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "trial-000 units=4"
    assert run.data.params == {"units": "4", "optimizer": "adam"}
    assert run.data.tags["rnnstudy.state"] == "COMPLETE"
    history = tracker.client.get_metric_history(run_id, "val_accuracy")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(1, 31))
    assert run.data.metrics["val_accuracy"] == 1.0
