"""Every name rnnstudy writes into Optuna and MLflow, and how a param's value becomes text and back.

Other tools read these names (the MLflow UI, optuna-dashboard, a user's own queries), so each is
spelled here once; ``tests/test_keys.py`` fails when one is spelled as a literal anywhere else.
"""

from __future__ import annotations

import ast
from typing import Any

from rnnstudy.urls import redact

# --- MLflow run tags ---------------------------------------------------------------------------
STUDY_TAG = "rnnstudy.study"  # every run of a study: its name
TRIAL_TAG = "rnnstudy.trial"  # a trial's run: its Optuna trial number (the parent run has none)
POINT_TAG = "rnnstudy.point"  # a trial's run: its configuration without its seed, "c1=90 c2=40"
STATE_TAG = "rnnstudy.state"  # a trial's run: how it ended (rnnstudy.stores.outcome)
ERROR_TAG = "rnnstudy.error"  # a failed trial's run: why
PRUNED_AT_TAG = "rnnstudy.pruned_at_epoch"
CONTINUES_TAG = "rnnstudy.continues"  # a resumed trial's run: the run whose checkpoint it took up
CONTINUED_BY_TAG = "rnnstudy.continued_by"  # a stopped trial's run: the run that continued it
RESUMED_AT_TAG = "rnnstudy.resumed_at_epoch"
RERUN_TAG = "rnnstudy.rerun_of"  # a rerun's run: the run id of the trial it runs again
RERUN_TRIAL_TAG = "rnnstudy.rerun_of_trial"
STORAGE_TAG = "rnnstudy.storage"  # the parent run: the Optuna storage URL, redacted
RECORD_TAG = "rnnstudy.record"  # the parent run: the artifact folder of the latest invocation's record
VERSION_TAG = "rnnstudy.version"
GIT_COMMIT_TAG = "rnnstudy.git_commit"
BEST_TRIAL_TAG = "rnnstudy.best_trial"  # the parent run: the best trial's number
RUN_NAME_TAG = "mlflow.runName"  # MLflow's own tags
PARENT_RUN_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"

# --- Optuna attributes -------------------------------------------------------------------------
RUN_ATTR = "mlflow_run_id"  # a trial's user attribute: its MLflow run
FAIL_REASON_ATTR = "fail_reason"  # a FAIL trial's user attribute: why
OUTCOME_ATTR = "outcome"  # a FAIL trial's user attribute: which of the FAIL outcomes it was
HEARTBEAT_ATTR = "rnnstudy.heartbeat"  # a running trial's system attribute: its worker's last beat
PARENT_RUN_ATTR = "mlflow_parent_run_id"  # the study's user attribute: its MLflow parent run
TRACKING_ATTR = "mlflow_tracking_uri"  # the study's: its MLflow store (redacted); every command must share it

# --- hyperparameters every trial has ------------------------------------------------------------
SEED = "seed"
CHANCE_PARAM = "chance_val_accuracy"  # a classifier's trial: its validation split's majority-class share

# --- MLflow artifact paths ---------------------------------------------------------------------
WHOLE_PARAMS = "params.json"  # a trial's run: its params longer than MAX_PARAM_LENGTH, whole
HISTORY = "history.csv"  # a trial's run: its metrics per epoch
CURVES = "curves.png"
MODEL_SUMMARY = "model_summary.txt"
RECORD_ARTIFACTS = "record"  # the parent run's folder of invocation records (rnnstudy.stores.provenance)
REPORT_ARTIFACTS = "report"  # the parent run's folder for the table and pictures

# --- params as text ----------------------------------------------------------------------------
MAX_PARAM_LENGTH = 500  # MLflow's limit on a param's text


def param_text(value: Any) -> str:
    """A param's value as MLflow keeps it: Python's ``str``, URL passwords redacted (not yet cut)."""
    return redact(str(value))


def param_value(text: str) -> Any:
    """A logged param's value as Python wrote it: 0.01, 32, True, None, [32, 64], "adam"."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:
        return float(text)  # nan, inf
    except ValueError:
        return text  # a bare word: a string


def param_scalar(text: str) -> Any:
    """:func:`param_value` for a table: numbers, booleans and None typed; anything else as logged."""
    value = param_value(text)
    return value if value is None or isinstance(value, bool | int | float | str) else text
