"""The verdict on a study's points over their seeds: compared against the best
(rnnstudy.stats.compare), as a race decided it (rnnstudy.stats.race_step), or, with several
objectives, their Pareto front (rnnstudy.stats.pareto)."""

from __future__ import annotations

import pandas as pd

from rnnstudy import stats
from rnnstudy.results._readback import StudyFacts, completed
from rnnstudy.spec.direction import lower_is_better
from rnnstudy.spec.space import label

COST_COLUMNS = ("params_total", "train_time_s", "test_accuracy")  # averaged per point beside the test
SCORE_PREFIX = "objective_"  # a trial's score on each of several objectives (rnnstudy.trial.runner)


def compare_points(frame, shown: pd.DataFrame, searched: list[str], value: str, facts: StudyFacts):
    """With seeds: each point's n, mean and CI of ``value``, tested against the best point;
    with one seed per point, only the line that says so.
    Returns (comparison, the points' table) or (comparison or None, None)."""
    if shown.empty or value not in shown:
        return None, None
    names = _names(shown, searched)
    scores = _scores(frame, shown, names, {"value": value})
    if scores is None:
        return None, None
    lower = lower_is_better(value, objective=facts.objective, direction=facts.direction)
    comparison = _raced(scores, lower, facts) or stats.compare(
        scores, lower_is_better=lower, verify_command=_verify_command(facts)
    )
    if scores.groupby("point")["seed"].nunique().max() < 2:
        return comparison, None  # one seed per point: the per-trial table, and the verdict's warning
    labelled = shown.assign(point=scores["point"])
    costs = labelled.groupby("point")[[c for c in COST_COLUMNS if c in shown and c != value]].mean()
    points = labelled.groupby("point").first()[names].join(comparison.frame(), how="right").join(costs)
    points.index.name = "point"
    return comparison, points


def front(frame, shown: pd.DataFrame, searched: list[str], facts: StudyFacts):
    """The front of a study's objectives over the points' seeds: with one seed a point, the
    plain Pareto set, unverified. None before any trial has every score."""
    columns = {name: SCORE_PREFIX + name for name in facts.objectives}
    if shown.empty or any(c not in shown for c in columns.values()):
        return None
    scores = _scores(frame, shown, _names(shown, searched), columns)
    if scores is None:
        return None
    directions = {name: way == "minimize" for name, way in facts.objectives.items()}
    return stats.pareto(scores, directions, verify_command=_verify_command(facts))


def point_labels(frame, shown: pd.DataFrame, names: list[str]) -> pd.Series:
    """Each shown trial's point, as the trial runner tagged it (else made from its values)."""
    labels = shown[names].apply(lambda row: label(row.to_dict()), axis=1) if names else "the default point"
    labels = pd.Series(labels, index=shown.index)
    tagged = completed(frame).set_index("trial").get("point")
    if tagged is not None and tagged.reindex(shown.index).notna().all():  # the trial runner's label
        labels = tagged.reindex(shown.index)
    return labels


def _names(shown: pd.DataFrame, searched: list[str]) -> list[str]:
    return [n for n in searched if n in shown and n != "seed"]


def _scores(frame, shown: pd.DataFrame, names: list[str], columns: dict[str, str]) -> pd.DataFrame | None:
    """A row per shown trial: its point, its seed and ``columns`` (name -> shown's column);
    None where runs of a point are not told apart by their seed, so cannot be paired."""
    done = completed(frame).set_index("trial")
    seeds = shown["seed"] if "seed" in shown else done.get("seed", pd.Series(0, index=done.index))
    scores = pd.DataFrame(
        {
            "point": point_labels(frame, shown, names),
            "seed": seeds.reindex(shown.index).fillna(0).astype(int),
            **{name: shown[column] for name, column in columns.items()},
        }
    )
    return None if scores.duplicated(["point", "seed"]).any() else scores


def _verify_command(facts: StudyFacts) -> str:
    return f"rnnstudy optimize {facts.path or 'STUDY_FILE'} --repeats 5"


def _raced(scores: pd.DataFrame, lower: bool, facts: StudyFacts):
    """A race's verdict as the race decided it (each dropped point by the look that dropped
    it: compare's Holm family would count them again); None for a study that did not race, or
    a race still in its first ``min_repeats`` seeds."""
    if facts.race is None:
        return None
    low, high = facts.race
    ran = scores[scores["seed"] < high]  # a race gives seeds 0..max-1; any other is a rerun's
    points = list(dict.fromkeys(ran["point"]))
    try:
        return stats.race_step(
            ran, points, lower_is_better=lower, min_repeats=low, max_repeats=high
        ).comparison
    except stats.StatisticsError:  # not the shape of a race (seeds given by hand): compare them
        return None
