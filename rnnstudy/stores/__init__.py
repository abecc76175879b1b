"""What is kept: Optuna's storage (optuna_storage), MLflow's tracking (mlflow_tracking), how a
trial ended in both (outcome), heartbeats, and each invocation's provenance record."""

from rnnstudy._lazy import exports

__all__ = [
    "Ending",
    "Heartbeat",
    "Invocation",
    "Outcome",
    "Tracker",
    "default_storage_url",
    "default_tracking_uri",
    "end_trial",
    "open_storage",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Ending": "rnnstudy.stores.outcome",
        "Heartbeat": "rnnstudy.stores.heartbeat",
        "Invocation": "rnnstudy.stores.provenance",
        "Outcome": "rnnstudy.stores.outcome",
        "Tracker": "rnnstudy.stores.mlflow_tracking",
        "default_storage_url": "rnnstudy.stores.optuna_storage",
        "default_tracking_uri": "rnnstudy.stores.mlflow_tracking",
        "end_trial": "rnnstudy.stores.outcome",
        "open_storage": "rnnstudy.stores.optuna_storage",
    },
)
