"""Pruning on the study's primary objective.

Optuna's pruners judge one objective, and Optuna refuses ``Trial.report`` and
``Trial.should_prune`` in a study of several (optuna#3450). There the primary objective's curve
is stored as the trial's intermediate values, as ``report`` stores them, and the pruner judges
the study as if its one direction were the primary's: the median and successive-halving rules
read nothing else (Hyperband's brackets do, and a study of several objectives refuses it).
"""

from __future__ import annotations

from rnnstudy.spec.study import Study
from rnnstudy.stores import optuna_internals


def report(trial, value: float, step: int, spec: Study) -> None:
    """The primary objective's value at ``step`` (an epoch), for the pruner."""
    if not spec.several:
        trial.report(value, step)
        return
    if step not in optuna_internals.frozen(trial).intermediate_values:  # as report keeps the first
        optuna_internals.set_intermediate_value(trial, step, float(value))


def should_prune(trial, spec: Study) -> bool:
    """Whether the study's pruner stops the trial, on the primary objective's curve."""
    if not spec.several:
        return trial.should_prune()
    return trial.study.pruner.prune(
        _OneDirection(trial.study, spec.direction), optuna_internals.frozen(trial)
    )


class _OneDirection:
    """The study, seen with the primary objective's direction only."""

    def __init__(self, study, direction: str) -> None:
        from optuna.study import StudyDirection

        self._study = study
        self.direction = StudyDirection[direction.upper()]
        self.directions = [self.direction]

    def __getattr__(self, name: str):
        return getattr(self._study, name)
