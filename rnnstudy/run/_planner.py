"""What a study still has to run: each configuration × seed enqueued exactly once.

:func:`plan` is called under the study's lock (rnnstudy.stores.optuna_storage.study_lock) whenever the study
starts, after a worker died, and, where the plan depends on results, after a trial ended: so
processes on several machines that plan together never enqueue a trial twice, and running the
command again resumes. A configuration is one grid point (or explicit point); with
``repeats=N`` each runs with the seeds 0 … N−1, seed by seed (every point's seed 0 first, then
every point's seed 1, ...), so a study stopped early has paired results for all its points.
``--trials T`` caps a grid at its first T trials in that order.

- **Sampling studies** get as many configurations as their budget (``trials``) lacks: an
  empty trial that the sampler fills in (with repeats, the configuration's seed 0); once a
  seed-0 trial is complete its configuration is enqueued again with the other seeds. A
  sampled configuration that was interrupted or lost (not one that failed by itself) is
  enqueued again as it was, so that it continues from its checkpoint (rnnstudy.trial.checkpoint).
- **Racing** (``repeats="adaptive"``): every point gets ``min_repeats`` seeds; when all of a
  round's trials are done, rnnstudy.stats.race_step says which points still tie with the
  leader, and those get the next seed, until each is separated or has ``max_repeats``.

Failed, interrupted and lost trials count as not there, so their configuration × seed runs
again; except a trial that failed by itself (it raised, it diverged) in this invocation (from
trial ``first``): its configuration × seed waits for the next invocation, so that a point that
always fails cannot be enqueued without end, and a race drops it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rnnstudy import stats
from rnnstudy.keys import OUTCOME_ATTR, SEED
from rnnstudy.spec.direction import lower_is_better
from rnnstudy.spec.space import label
from rnnstudy.spec.study import Study
from rnnstudy.stores import optuna_internals
from rnnstudy.stores.outcome import Outcome


@dataclass(frozen=True)
class Plan:
    """The outcome of planning: how many trials wait now, how many were just added, and why
    (a race's reason, shown to the user)."""

    waiting: int
    added: int = 0
    reason: str = ""
    running: int = 0  # trials RUNNING in the storage (here or on other machines)


def configuration(frozen) -> dict[str, Any]:
    """A trial's configuration without its seed: its enqueued point, else what it sampled."""
    point = dict(optuna_internals.enqueued_point(frozen) or {})
    point.pop(SEED, None)
    return point or {k: v for k, v in frozen.params.items() if k != SEED}


def plan(study, spec: Study, points: list[dict] | None, first: int | None = None) -> Plan:
    """Enqueue what is still to run; call under the study's lock. ``first``: the number of this
    invocation's first trial (None: every trial is older)."""
    from optuna.trial import TrialState

    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.WAITING, TrialState.RUNNING)
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    given_up = [t for t in failed if first is not None and t.number >= first and not _stopped_from_outside(t)]
    trials = study.get_trials(deepcopy=False, states=live)
    reason = ""
    if points is None:
        wanted = _sampled(spec, trials, failed)
    elif spec.racing:
        wanted, reason = _raced(spec, points, trials, given_up)
        trials = [*trials, *given_up]
    else:
        wanted = [_with_seed(p, s) for s in spec.seeds or [None] for p in points]
        wanted = wanted[: spec.trials or len(wanted)]
        trials = [*trials, *given_up]
    taken = Counter(_key(optuna_internals.enqueued_point(t) or t.params) for t in trials)
    pending = []
    for point in wanted:
        key = _key(point) if point else None
        if key is None or not taken[key]:
            pending.append(point)
        elif key is not None:
            taken[key] -= 1
    for point in pending:
        study.enqueue_trial(point)
    waiting = len(pending) + sum(t.state == TrialState.WAITING for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    return Plan(waiting, len(pending), reason if pending else "", running)


def _with_seed(point: dict, seed: int | None) -> dict:
    return dict(point) if seed is None else {**point, SEED: seed}


def _sampled(spec: Study, trials, failed) -> list[dict]:
    """New configurations the budget lacks (empty: the sampler fills them in), the sampled
    configurations that were stopped from outside, and the other seeds of every complete
    seed-0 configuration."""
    firsts = [t for t in trials if (optuna_internals.enqueued_point(t) or {}).get(SEED, 0) == 0]
    again = _stopped(spec, trials, failed)
    fresh = max(spec.trials - len(firsts) - sum(p.get(SEED, 0) == 0 for p in again), 0)
    if not spec.repeated:
        return again + [{} for _ in range(fresh)]
    seeds = [
        {**configuration(t), SEED: seed}
        for t in firsts
        if t.state.name == "COMPLETE"
        for seed in spec.seeds[1:]
    ]
    return again + [{SEED: 0} for _ in range(fresh)] + seeds


def _stopped_from_outside(trial) -> bool:
    """Whether a FAIL trial was interrupted or lost, not failed by itself (rnnstudy.stores.outcome)."""

    return Outcome[trial.user_attrs.get(OUTCOME_ATTR, "FAILED")].stopped


def _stopped(spec: Study, trials, failed) -> list[dict]:
    """The sampled configurations (× seed) of trials that were interrupted or lost, each once,
    unless a live trial has it already."""
    live = {trial_key(t) for t in trials}
    again: dict[str, dict] = {}
    for trial in failed:
        values = _values(trial)
        if _stopped_from_outside(trial) and set(spec.search) <= set(values) and _key(values) not in live:
            again.setdefault(_key(values), values)
    return list(again.values())


def trial_key(trial) -> str:
    """A trial's configuration × seed as one key: what it sampled and the point it was enqueued with."""
    return _key(_values(trial))


def _values(trial) -> dict:
    """What a trial ran: its sampled values and the point it was enqueued with (its seed)."""
    return {**trial.params, **(optuna_internals.enqueued_point(trial) or {})}


def _raced(spec: Study, points: list[dict], trials, given_up=()) -> tuple[list[dict], str]:
    """Every point's first ``min_repeats`` seeds, what the race added before, and the next
    seed for the points still tied with the leader once everything enqueued is done. A point
    with a trial that failed by itself (``given_up``) is out of the race: it gets no more seeds."""
    import pandas as pd

    wanted = [_with_seed(p, s) for s in spec.seeds for p in points]
    ran = [optuna_internals.enqueued_point(t) or {} for t in [*trials, *given_up]]
    wanted += [p for p in ran if p.get(SEED, 0) >= spec.min_repeats]  # the race so far
    if any(t.state.name in ("WAITING", "RUNNING") for t in trials) or len(trials) + len(given_up) < len(
        wanted
    ):
        return wanted, ""  # a round is still running (or has trials to run again)
    out = {_key(configuration(t)) for t in given_up}
    points = [p for p in points if _key(p) not in out]
    if not points:
        return wanted, "every point of the race failed: the race stops"
    labels = {_key(p): label(p) for p in points}
    rows = [
        {
            "point": labels.get(_key(configuration(t))),
            SEED: (optuna_internals.enqueued_point(t) or {}).get(SEED),
            "value": t.value if t.state.name == "COMPLETE" else None,
        }
        for t in trials
        if t.state.name in ("COMPLETE", "PRUNED")  # a pruned trial ran: its value is missing
    ]
    scores = pd.DataFrame(rows, columns=["point", SEED, "value"]).dropna(subset=["point"])
    scores["value"] = scores["value"].astype(float)
    lower = lower_is_better(spec.objective, objective=spec.objective, direction=spec.direction)
    step = stats.race_step(
        scores,
        [label(p) for p in points],
        lower_is_better=lower,
        min_repeats=spec.min_repeats,
        max_repeats=spec.max_repeats,
    )
    by_label = {label(p): p for p in points}
    wanted += [_with_seed(by_label[name], step.seed) for name in step.points]
    return wanted, step.reason


def _key(point: dict) -> str:
    return json.dumps(point, sort_keys=True, default=str)
