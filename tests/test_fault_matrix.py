"""The fault matrix: a process killed, or raising, at every phase of a trial, on the journal and
on PostgreSQL; then the same command again. Each time: every configuration × seed COMPLETE
exactly once, nothing RUNNING, every MLflow trial run ended as its Optuna trial did, and the
exit codes as documented (rnnstudy.errors.Exit). The fail points are rnnstudy.faults'; the
table of what happened is printed at the end of the test run.
"""

from __future__ import annotations

import collections

import pytest
from conftest import FAULT_MATRIX

from rnnstudy.faults import FAULT_ENV, ONCE_ENV, PHASES
from rnnstudy.keys import OUTCOME_ATTR
from rnnstudy.stores.outcome import Outcome

WIDTHS = [2, 3]  # two configurations of a real (tiny) Keras model
WORKER_PHASES = [p for p in PHASES if p != "report"]

# the first run's exit code: a worker that dies is replaced and its trial run again, within the
# run; a trial that raises fails (1: the same command retries it); a report that fails is 1 too
FIRST_EXIT = {
    **{(phase, "kill"): 0 for phase in WORKER_PHASES},
    **{(phase, "raise"): 1 for phase in ("build", "epoch", "checkpoint")},
    **{
        (phase, "raise"): 0 for phase in ("claim", "mlflow_end", "tell")
    },  # outside the trial: the worker dies
    ("report", "kill"): -9,  # the driver itself
    ("report", "raise"): 1,
}


@pytest.mark.slow  # 28 cases of two short runs each
@pytest.mark.parametrize("storage", ["journal", "postgres"])
@pytest.mark.parametrize("phase, action", sorted(FIRST_EXIT))
def test_a_fault_at_any_phase_loses_nothing_and_the_same_command_finishes(
    phase, action, storage, project, request
):
    url = project.storage_url if storage == "journal" else request.getfixturevalue("postgres_url")
    study_file = project.write_study(
        "faulty",
        model="dense_stack",
        search={"width": WIDTHS},
        fixed={"epochs": 2, "checkpoint_every": 1, "rows": 16, "batch_size": 8, "activation": "relu"},
    )
    command = (study_file, "--workers", "1", "--storage", url)
    fault = {FAULT_ENV: f"{phase}:{action}", ONCE_ENV: str(project.root / "fired")}

    first = project.run(*command, env=fault)

    assert (project.root / "fired").exists(), first.stdout  # the fault did fire
    assert first.returncode == FIRST_EXIT[phase, action], first.stdout
    left = _assert_consistent(project, url)
    again = project.run(*command)
    assert again.returncode == 0, again.stdout
    outcome = project.assert_exact("faulty", [{"width": w} for w in WIDTHS], storage_url=url)
    _assert_consistent(project, url)
    assert "Traceback" not in again.stdout
    FAULT_MATRIX.append(
        (
            phase,
            action,
            storage,
            f"exit {first.returncode}, left {left}; again: exit 0, {dict(outcome['trials'])}",
        )
    )


def _assert_consistent(project, url: str) -> str:
    """Nothing RUNNING, and each trial's MLflow runs ended as Optuna ended it; the states, counted."""
    trials = project.study("faulty", url).get_trials(deepcopy=False)
    assert "RUNNING" not in {t.state.name for t in trials}
    by_number = {t.number: t for t in trials}
    for run in project.runs("faulty"):
        if "rnnstudy.trial" not in run.data.tags:
            continue
        trial = by_number[int(run.data.tags["rnnstudy.trial"])]
        ended = Outcome[trial.user_attrs.get(OUTCOME_ATTR, "FAILED")] if trial.state.name == "FAIL" else None
        expected = ended.run_status if ended else Outcome[trial.state.name].run_status
        assert run.info.status == expected, (trial.number, trial.state.name, trial.user_attrs, run.data.tags)
    return ", ".join(
        f"{n} {s.lower()}" for s, n in sorted(collections.Counter(t.state.name for t in trials).items())
    )
