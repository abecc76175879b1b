"""Which way is better for a metric: the one rule, used by the trial runner, the report and
the progress line.

The study's objective goes the study's direction. Any other metric is lower-is-better when
its name says it measures a cost (loss, perplexity, error, time, seconds as a ``_s`` ending,
parameters), else higher-is-better (accuracy, AUC, F1, ...).
"""

from __future__ import annotations

from collections.abc import Iterable

LOWER_WORDS = ("loss", "perplexity", "error", "mse", "mae", "time", "seconds", "params")
LOWER_ENDINGS = ("_s", "_ms")  # train_s, infer_s, checkpoint_s: seconds
OBJECTIVE = "objective"  # the column a trial's score is logged under


def lower_is_better(metric: str, *, objective: str | None = None, direction: str = "maximize") -> bool:
    """Whether smaller values of ``metric`` are better.

    Args:
        metric: a logged metric's name, e.g. "val_perplexity" or "best_val_loss".
        objective: the study's objective metric; it (and "objective") follow ``direction``.
        direction: the study's "maximize" or "minimize".
    """
    if metric in (objective, OBJECTIVE):
        return direction == "minimize"
    name = metric.lower()
    return any(word in name for word in LOWER_WORDS) or name.endswith(LOWER_ENDINGS)


def best(values: Iterable[float], lower: bool) -> float:
    """The best of ``values``."""
    return float(min(values) if lower else max(values))


def better(a: float, b: float, lower: bool) -> bool:
    """Whether ``a`` is strictly better than ``b``."""
    return a < b if lower else a > b
