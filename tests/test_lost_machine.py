"""A lost machine (issue 27): a whole command, driver and workers, killed at once mid-study on
PostgreSQL, as a node that vanished, while another command runs the same study.

The two commands run on this one host as two machines (``$RNNSTUDY_MACHINE``, see
rnnstudy.stores.heartbeat): the survivor cannot look the dead workers' process ids up, so it
has only their heartbeats to go by, as on another node.
"""

from __future__ import annotations

import collections
import os
import signal
import time

import pytest

from rnnstudy.keys import HEARTBEAT_ATTR
from rnnstudy.stores.heartbeat import MACHINE_ENV, MISSED_BEATS
from rnnstudy.stores.optuna_internals import enqueued_point

BEAT = 2  # seconds: a trial is stale after MISSED_BEATS of them without a beat
WIDTHS = list(range(2, 12))  # ten configurations of a real (tiny) Keras model
FIXED = {
    "epochs": 5,
    "rows": 16,
    "batch_size": 8,
    "activation": "relu",
    "checkpoint_every": 1,
    "epoch_seconds": 1.0,
}


def _trials(project, url: str) -> list:
    try:
        return project.study("lost", url).get_trials(deepcopy=False)
    except KeyError:
        return []  # not created yet


def _machine(trial) -> str | None:
    return (trial.system_attrs.get(HEARTBEAT_ATTR) or {}).get("machine")


def _epochs_logged(project, trial) -> int:
    from mlflow import MlflowClient

    run_id = trial.user_attrs.get("mlflow_run_id")
    if run_id is None:
        return 0
    return len(MlflowClient(project.tracking_uri).get_metric_history(run_id, "val_loss"))


def _time_to_kill(project, url: str):
    """The dead machine's checkpointed trial, once it has one, the survivor is at work and
    enough trials wait that the survivor still runs when the dead ones go stale."""
    found = _trials(project, url)
    states = collections.Counter(t.state.name for t in found)
    if states["WAITING"] < 3 or not any(_machine(t) == "node-b" for t in found):
        return None
    for trial in found:
        if (
            trial.state.name == "RUNNING"
            and _machine(trial) == "node-a"
            and _epochs_logged(project, trial) >= 2
        ):
            return trial
    return None


@pytest.mark.slow  # two commands of real Keras trials on PostgreSQL, a kill and a takeover: minutes
def test_a_vanished_machines_trials_are_taken_over_once_from_their_checkpoints(
    project, postgres_url, tmp_path
):
    folder = tmp_path / "shared-checkpoints"  # a folder both "machines" see
    study_file = project.write_study("lost", model="slow_dense", search={"width": WIDTHS}, fixed=FIXED)
    project.env["RNNSTUDY_HEARTBEAT_SECONDS"] = str(BEAT)
    args = ("--storage", postgres_url, "--checkpoint-dir", str(folder))
    project.env[MACHINE_ENV] = "node-a"
    doomed = project.start(study_file, "--workers", "2", *args, log="a.log")
    project.env[MACHINE_ENV] = "node-b"
    survivor = project.start(study_file, "--workers", "1", *args, log="b.log")

    checkpointed = project.wait_for(
        lambda: _time_to_kill(project, postgres_url), timeout=600, what="node-a's trial to checkpoint"
    )
    os.killpg(doomed.pid, signal.SIGKILL)  # driver and workers at once: the node is gone
    killed_at = time.time()
    doomed.wait()
    left = [
        t for t in _trials(project, postgres_url) if t.state.name == "RUNNING" and _machine(t) == "node-a"
    ]
    assert checkpointed.number in {t.number for t in left}

    assert survivor.wait(timeout=600) == 0, project.log("b.log")
    outcome = project.assert_exact(
        "lost", [{"width": w} for w in WIDTHS], storage_url=postgres_url
    )  # each configuration COMPLETE once, nothing RUNNING or WAITING
    after = {t.number: t for t in outcome["trial_list"]}
    runs = {r.info.run_id: r for r in outcome["run_list"]}
    for lost in left:
        ended = after[lost.number]
        assert ended.state.name == "FAIL"
        assert ended.user_attrs["fail_reason"].startswith("heartbeat stale: no beat for "), ended.user_attrs
        last_beat = lost.system_attrs[HEARTBEAT_ATTR]["time"]
        assert (
            ended.datetime_complete.timestamp() >= last_beat + MISSED_BEATS * BEAT
        )  # not before it was stale
        assert ended.datetime_complete.timestamp() >= killed_at
        assert runs[lost.user_attrs["mlflow_run_id"]].info.status == "KILLED"
        point = enqueued_point(lost)
        again = [t for t in after.values() if t.number > lost.number and enqueued_point(t) == point]
        assert len(again) == 1, again  # re-queued once
        [retried] = again
        assert retried.state.name == "COMPLETE" and _machine(retried) == "node-b"

    # the checkpointed trial went on from its checkpoint on the survivor, not from epoch 0
    [retried] = [
        t
        for t in after.values()
        if t.number > checkpointed.number and enqueued_point(t) == enqueued_point(checkpointed)
    ]
    resumed = runs[retried.user_attrs["mlflow_run_id"]]
    assert int(resumed.data.tags["rnnstudy.resumed_at_epoch"]) >= 1
    assert resumed.data.tags["rnnstudy.continues"] == checkpointed.user_attrs["mlflow_run_id"]
    assert resumed.data.metrics["epochs_trained"] == FIXED["epochs"] - int(
        resumed.data.tags["rnnstudy.resumed_at_epoch"]
    )
    assert "resumed at epoch" in project.log("b.log")
    print(
        f"node-a killed with trials {[t.number for t in left]} running; node-b failed them "
        f"({after[left[0].number].user_attrs['fail_reason']}) and ran them again, trial "
        f"{retried.number} resumed at epoch {resumed.data.tags['rnnstudy.resumed_at_epoch']}; "
        f"left {dict(outcome['trials'])}"
    )
