"""How a trial ended, and the one function that ends it.

Each outcome is mapped once to its Optuna state, its MLflow run status and the run's
``rnnstudy.state`` tag:

| outcome     | Optuna   | MLflow run | tag         | when                                           |
|-------------|----------|------------|-------------|------------------------------------------------|
| COMPLETE    | COMPLETE | FINISHED   | COMPLETE    | trained and scored                             |
| PRUNED      | PRUNED   | KILLED     | PRUNED      | the pruner stopped it after an epoch           |
| FAILED      | FAIL     | FAILED     | FAILED      | it raised (diverged, a model that won't build) |
| INTERRUPTED | FAIL     | KILLED     | INTERRUPTED | Ctrl-C or SIGTERM stopped the study            |
| LOST        | FAIL     | KILLED     | LOST        | its worker process died or went silent         |

A FAIL in Optuna means "run this point again": the next ``rnnstudy optimize`` enqueues it anew.
The reason of a FAIL is the trial's ``fail_reason`` user attribute and the run's
``rnnstudy.error`` tag, its outcome the ``outcome`` user attribute (a sampled configuration
that was interrupted or lost runs again: rnnstudy.run._planner); a pruned run also gets
``rnnstudy.pruned_at_epoch``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from rnnstudy import faults
from rnnstudy.keys import ERROR_TAG, FAIL_REASON_ATTR, OUTCOME_ATTR, PRUNED_AT_TAG, STATE_TAG
from rnnstudy.stores import optuna_internals
from rnnstudy.urls import redact

MAX_REASON = 1000  # characters of a reason kept in Optuna


class Outcome(enum.Enum):
    # name = (Optuna state, MLflow run status); the tag is the name
    COMPLETE = ("COMPLETE", "FINISHED")
    PRUNED = ("PRUNED", "KILLED")
    FAILED = ("FAIL", "FAILED")
    INTERRUPTED = ("FAIL", "KILLED", "interrupted")  # a third item keeps equal pairs distinct members
    LOST = ("FAIL", "KILLED", "lost")

    def __init__(self, optuna_state: str, run_status: str, *_) -> None:
        self.optuna_state = optuna_state  # an optuna.trial.TrialState name
        self.run_status = run_status  # an MLflow RunStatus name

    @property
    def tag(self) -> str:
        return self.name

    @property
    def stopped(self) -> bool:
        """Stopped from outside (Ctrl-C, SIGTERM, a dead worker), not by its configuration."""
        return self in (Outcome.INTERRUPTED, Outcome.LOST)

    @property
    def done(self) -> bool:
        """Finished for good: a resumed study does not run its point again."""
        return self.optuna_state != "FAIL"


DONE_STATES = tuple(dict.fromkeys(o.optuna_state for o in Outcome if o.done))  # Optuna's names


@dataclass(frozen=True)
class Ending:
    """How one trial ended: its outcome, its score (COMPLETE) or why not."""

    outcome: Outcome
    value: float | None = None
    reason: str = ""
    pruned_at: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", redact(self.reason))  # it reaches logs and stores

    def tags(self) -> dict[str, str]:
        tags = {STATE_TAG: self.outcome.tag}
        if self.outcome is Outcome.PRUNED and self.pruned_at is not None:
            tags[PRUNED_AT_TAG] = str(self.pruned_at)
        elif not self.outcome.done and self.reason:
            tags[ERROR_TAG] = self.reason
        return tags


def end_trial(study, number: int, ending: Ending, *, tracker=None, run_ids: Iterable[str] = ()) -> None:
    """End trial ``number`` everywhere: its MLflow runs, then the Optuna trial.

    MLflow goes first: a process killed in between leaves the Optuna trial RUNNING, which the
    next start finds stale and runs again, instead of an MLflow run left RUNNING for ever.
    Ending a trial that is already finished changes nothing in Optuna.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    for run_id in run_ids:
        tracker.set_tags(run_id, ending.tags(), wait=False)
        faults.point("mlflow_end")
        tracker.finish(run_id, ending.outcome.run_status)
    if not ending.outcome.done:
        try:
            optuna_internals.set_user_attr(study, number, OUTCOME_ATTR, ending.outcome.name)
            if ending.reason:
                optuna_internals.set_user_attr(study, number, FAIL_REASON_ATTR, ending.reason[:MAX_REASON])
        except UpdateFinishedTrialError:
            return  # another process ended it first; its ending stands
    values = ending.value if ending.outcome is Outcome.COMPLETE else None
    faults.point("tell")
    study.tell(number, values, state=TrialState[ending.outcome.optuna_state], skip_if_finished=True)
