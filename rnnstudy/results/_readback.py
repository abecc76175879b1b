"""What a report reads back from the stores: a study's facts and its trials as a frame.

Everything comes from the MLflow tracking store (and the Optuna storage for Optuna's plots), so a
report works for a study that another machine ran:

- :func:`trials_frame`: one row per trial run; :func:`completed` keeps the finished ones, which
  is what a study file's ``report(frame)`` receives;
- :func:`study_facts`: what the study's parent run says of it (its objective, direction, search);
- :func:`histories`: the per-epoch metrics of some trials.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from rnnstudy.errors import ReportError
from rnnstudy.keys import POINT_TAG, STATE_TAG, STUDY_TAG, TRIAL_TAG, param_scalar
from rnnstudy.spec.study import Study
from rnnstudy.stores.mlflow_tracking import Tracker
from rnnstudy.stores.optuna_storage import JOURNAL_PREFIX, default_storage_url, open_storage
from rnnstudy.stores.outcome import Outcome
from rnnstudy.urls import redact

# --- what a report knows about a study ---------------------------------------------------


@dataclass
class StudyFacts:
    """A study as the report sees it: from its file, or from its parent run when only the
    name is known (a study another machine ran)."""

    name: str
    searched: list[str]
    objective: str = "val_accuracy"
    direction: str = "maximize"
    sampler: str = "grid"
    window: int = 1
    report: Callable | None = None
    path: str | None = None  # the study file, for the command a verdict suggests
    race: tuple[int, int] | None = None  # (min_repeats, max_repeats) of a raced study
    # several objectives (name -> "maximize" or "minimize"); ``objective`` is then the primary
    objectives: dict[str, str] = field(default_factory=dict)

    @property
    def several(self) -> bool:
        return len(self.objectives) > 1

    @classmethod
    def of(cls, spec: Study) -> StudyFacts:
        searched = list(spec.search) or list(dict.fromkeys(k for p in spec.points or () for k in p))
        return cls(
            spec.name,
            searched,
            spec.primary,
            spec.direction,
            spec.sampler,
            spec.window,
            spec.report,
            _shown_path(spec.path),
            (spec.min_repeats, spec.max_repeats) if spec.racing else None,
            dict(spec.objectives) if spec.several else {},
        )


def _shown_path(path) -> str | None:
    """A study file's path as the user would type it: relative to here when it is below."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def study_facts(tracker: Tracker, name: str, spec: Study | None = None) -> StudyFacts:
    """The study's facts: the file's when given, else the parameters of its parent run."""
    experiment = tracker.client.get_experiment_by_name(name)
    if experiment is None:
        known = [e.name for e in tracker.client.search_experiments(max_results=50) if e.name != "Default"]
        raise ReportError(
            f"no study {name!r} in the MLflow store {redact(tracker.uri)}; studies there: "
            f"{', '.join(known) or 'none'} (pass --tracking-uri, or the study file)"
        )
    parents = [
        run
        for run in tracker.client.search_runs(
            [experiment.experiment_id], filter_string=f"tags.`{STUDY_TAG}` = '{name}'", max_results=1000
        )
        if TRIAL_TAG not in run.data.tags
    ]
    params = min(parents, key=lambda run: run.info.start_time).data.params if parents else {}
    race = (int(params["min_repeats"]), int(params["max_repeats"])) if "max_repeats" in params else None
    if spec is not None:  # the file's facts, but repeated as the study ran (--repeats is not in it)
        facts = StudyFacts.of(spec)
        return replace(facts, race=race) if "repeats" in params else facts
    searched = [k.removeprefix("search.") for k in params if k.startswith("search.")]
    if not searched and "points" in params:
        try:
            searched = list(dict.fromkeys(k for p in ast.literal_eval(params["points"]) for k in p))
        except (ValueError, SyntaxError):  # cut at MLflow's length limit: the runs tell instead
            searched = []
    return StudyFacts(
        name,
        searched,
        params.get("objective", "val_accuracy"),
        params.get("direction", "maximize"),
        params.get("sampler", "grid"),
        int(params.get("window", 1)),
        race=race,
        objectives=json.loads(params["objectives"]) if "objectives" in params else {},
    )


# --- what was logged ---------------------------------------------------------------------


def trials_frame(tracker: Tracker, study: Study | str) -> pd.DataFrame:
    """Every trial run of the study's experiment, one row each, oldest first.

    Columns: ``trial``, ``state``, ``run_id``, ``point`` (the configuration without its seed),
    every param under its own name (typed back from MLflow's text), then every metric's last
    value under its own name.
    """
    name = study if isinstance(study, str) else study.name
    experiment = tracker.client.get_experiment_by_name(name)
    if experiment is None:
        return pd.DataFrame()
    runs = tracker.client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`{TRIAL_TAG}` != ''", max_results=10_000
    )
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "trial": int(run.data.tags[TRIAL_TAG]),
            "state": run.data.tags.get(STATE_TAG, run.info.status),
            "run_id": run.info.run_id,
            "point": run.data.tags.get(POINT_TAG),  # its configuration, as the study gave it
        }
        row.update({k: param_scalar(v) for k, v in run.data.params.items()})
        row.update(run.data.metrics)
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).sort_values("trial").reset_index(drop=True)
    frame.attrs["params"] = list(dict.fromkeys(k for run in runs for k in run.data.params))
    counts = [c for c in ("params_total", "params_trainable") if c in frame]
    frame[counts] = frame[counts].astype("Int64")  # MLflow keeps every metric as a float
    return frame


def completed(frame: pd.DataFrame) -> pd.DataFrame:
    """The trials of ``frame`` that finished and were scored (state COMPLETE): what a study
    file's ``report(frame)`` gets, so it needs no filter of its own. Same columns, oldest first."""
    if frame.empty:
        return frame
    return frame[frame["state"] == Outcome.COMPLETE.tag].reset_index(drop=True)


def histories(tracker: Tracker, frame: pd.DataFrame, metrics: list[str]) -> dict[int, pd.DataFrame]:
    """Each trial's per-epoch values of ``metrics`` (index: epoch from 1), by trial number."""
    found = {}
    for trial, run_id in zip(frame["trial"], frame["run_id"]):
        series = {}
        for key in dict.fromkeys(metrics):
            points = tracker.client.get_metric_history(run_id, key)
            if points:  # the last value logged at a step wins (the final test_* repeat the last epoch)
                series[key] = pd.Series({p.step: p.value for p in sorted(points, key=lambda p: p.timestamp)})
        if series:
            found[int(trial)] = pd.DataFrame(series).sort_index().rename_axis("epoch")
    return found


# --- the table -----------------------------------------------------------------------------


def optuna_study(storage_url: str | None, name: str):
    """The study in its Optuna storage, for Optuna's plots; (None, why) when it is not there.

    A storage given by the user must open; the default journal is only read when it exists.
    """
    import optuna

    url = storage_url or default_storage_url()
    if storage_url is None and not Path(url.removeprefix(JOURNAL_PREFIX)).exists():
        return None, f"Optuna's plots left out: no Optuna storage at {url} (pass --storage)"
    storage = open_storage(url)
    try:
        return optuna.load_study(study_name=name, storage=storage), ""
    except KeyError:
        return None, f"Optuna's plots left out: no study {name!r} in the Optuna storage {redact(url)}"


# --- logged on the parent run --------------------------------------------------------------
