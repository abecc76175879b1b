"""A study's results as a table, read back from what MLflow logged.

One row per trial run: the searched hyperparameters, then the columns every seed report has
(parameter count, training and inference time, overfit, test and objective metrics). A study
file may define ``report(frame)`` for its own analysis; it gets this frame and returns a
DataFrame or text to print.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rnnstudy.study import Study
from rnnstudy.tracking import STATE_TAG, TRIAL_TAG, Tracker

COLUMNS = (
    "params_total",
    "params_trainable",
    "train_time_s",
    "inference_time_s",
    "overfit_pct",
    "test_loss",
    "test_accuracy",
    "objective",
)


def trials_frame(tracker: Tracker, spec: Study) -> pd.DataFrame:
    """Every trial run of the study's experiment, one row each, oldest first.

    Columns: ``trial``, ``state``, ``run_id``, every param under its own name (typed back from
    MLflow's text), then every metric's last value under its own name.
    """
    experiment = tracker.client.get_experiment_by_name(spec.name)
    if experiment is None:
        return pd.DataFrame()
    runs = tracker.client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.{TRIAL_TAG} != ''", max_results=10_000
    )
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "trial": int(run.data.tags[TRIAL_TAG]),
            "state": run.data.tags.get(STATE_TAG, run.info.status),
            "run_id": run.info.run_id,
        }
        row.update({k: _typed(v) for k, v in run.data.params.items()})
        row.update(run.data.metrics)
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).sort_values("trial").reset_index(drop=True)
    counts = [c for c in ("params_total", "params_trainable") if c in frame]
    frame[counts] = frame[counts].astype("Int64")  # MLflow keeps every metric as a float
    return frame


def table(frame: pd.DataFrame, spec: Study) -> pd.DataFrame:
    """The default report: finished trials, searched values first, then the seed columns."""
    if frame.empty:
        return frame
    searched = list(spec.search) or list(dict.fromkeys(k for p in spec.points or () for k in p))
    done = frame[frame["state"] == "COMPLETE"]
    columns = ["trial", *[c for c in searched if c in done], *[c for c in COLUMNS if c in done]]
    return done[columns].set_index("trial")


def render(spec: Study, frame: pd.DataFrame) -> str:
    """What ``rnnstudy optimize`` prints at the end: the study's own report or the default table."""
    result = spec.report(frame) if spec.report is not None else table(frame, spec)
    if isinstance(result, pd.DataFrame):
        return "no finished trials yet" if result.empty else result.to_string(float_format=_number)
    return str(result)


def _number(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1000 else f"{value:.4f}"


def _typed(text: str) -> Any:
    """MLflow stores params as text: give numbers back their type."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)
