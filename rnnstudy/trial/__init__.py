"""One trial: build the model and data from a point, fit it with checkpoints, and send
what happens to the driver as messages."""

from rnnstudy._lazy import exports

__all__ = ["TrialFailed", "TrialRunner", "build_trial", "declare_fit"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "TrialFailed": "rnnstudy.trial.runner",
        "TrialRunner": "rnnstudy.trial.runner",
        "build_trial": "rnnstudy.trial.runner",
        "declare_fit": "rnnstudy.trial.runner",
    },
)
