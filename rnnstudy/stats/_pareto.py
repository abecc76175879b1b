"""Several objectives: the Pareto front, judged over seeds.

The input is a DataFrame of scores with the columns ``point``, ``seed`` and one column per
objective (e.g. ``val_accuracy`` and ``params``), and each objective's direction
(``lower_is_better``, from the caller: rnnstudy.spec.direction is the one rule, a layer above).
A row whose value is NaN (a failed trial) is not a score on that objective.

**The rule.** Point A *dominates* point B when A is better than B on every objective:

- where both points have the same value on every one of their seeds (a deterministic objective,
  such as the parameter count), the difference is exact and needs no test: A must be at least as
  good;
- on every other objective, A must be **significantly** better: a one-sided paired t-test
  (:func:`scipy.stats.ttest_rel`) of "A is not better than B" on the seeds both have rejects at
  alpha, after Holm's correction (:func:`~rnnstudy.stats.holm`) over the family of every such
  test: each ordered pair (A, B) whose exact objectives leave A at least as good, times each
  objective that is not exact for the pair;
- and A must be strictly better somewhere (a significant test, or an exact objective).

Then every point is **on the front** (no point dominates it by the observed means: at least as
good everywhere and better somewhere), **possibly on the front** (some point dominates it by
the means, but none significantly: the seeds cannot tell), or **dominated**, with the points
that dominate it.

**The error bound.** Call B truly on the front when no point truly dominates it. A call "A
dominates B" needs A to be significantly better on every objective that is not exact; if A is
truly worse than B on one of them, or truly equal to B on all of them, that is the rejection of
a true null hypothesis of the family (exact objectives cannot err). Holm's correction keeps the
chance of any such rejection at or below alpha, under any dependence between the tests, so **the
chance that any point truly on the front is called dominated is at most alpha**. Assumptions: the
paired differences are normal enough for the t-test; seeds are independent; an objective that
did not vary over a point's seeds never does.

**The price.** "At least as good" on a noisy objective must be shown, not assumed. The rule that
assumes it (at least as good unless significantly worse) calls a point truly on the front
dominated whenever its small true advantage on one noisy objective goes unseen: in
tests/test_pareto.py, a point 3 sd worse on accuracy but 0.2 sd better on a noisy cost (sd of
the paired differences, 5 seeds) is called dominated in 92 % of 200 studies by that rule, in
1.5 % by this one. The other side: two points truly equal on a noisy objective (two optimizers
of one architecture, on training time) are never shown to dominate one another, however far
apart on the other objective: the worse stays "possibly on the front". A deterministic
objective (params) has no such gap: equal is exact.

With one seed per point nothing can be tested or shown exact: the front is the plain Pareto set
of the scores, marked unverified, and every other point is "possibly on the front".
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from rnnstudy.errors import StatisticsError
from rnnstudy.stats._comparison import _scores, _summary, holm
from rnnstudy.stats._formatting import mean_pm, p_phrase, plural
from rnnstudy.stats._power import ALPHA

STATUSES = ("front", "possibly", "dominated")
TAKEN = ("point", "seed", "n", "status", "dominated_by", "behind", "p")  # the scores' and table's columns
NAMED = 8  # the verdict names this many points per status, then counts the rest


@dataclass
class Front:
    """The front of several objectives: the table, the verdict in words.

    ``table`` has one row per point (front first, then possibly, then dominated; within each,
    best first on the first objective), indexed by point, with the columns: n (seeds with a
    score on every objective); per objective ``<name>``, ``<name>_low``, ``<name>_high`` (the
    mean and its t interval); status ("front", "possibly", "dominated"); dominated_by (the
    points that significantly dominate it); behind (the points that dominate it by the means);
    p (the strongest of those dominations: the largest Holm-corrected p of its tests, 0 when
    every objective was exact; NaN for a point on the front or an untested domination).
    """

    table: pd.DataFrame
    objectives: dict[str, bool]  # name -> lower_is_better
    alpha: float
    tested: int  # tests with a p-value (the m of Holm's correction)
    exact: list[str]  # objectives that did not vary over any point's seeds
    decided: int  # ordered pairs whose domination was judged: tested, or settled exactly
    left_out: list[Hashable]  # points with no score on some objective
    verify_command: str | None = None

    @cached_property
    def verdict(self) -> str:
        """One line: the front with its means, the points possibly on it, the dominated ones."""
        names = list(self.objectives)
        return _verdict(self.table, names, self.alpha, self.decided, self.verify_command, self.left_out)

    @cached_property
    def legend(self) -> str:
        """One line: what ± is, and the test and correction that decide a domination."""
        return _legend(self.alpha, self.tested, self.decided, self.exact)

    @property
    def verified(self) -> bool:
        """Whether any domination could be judged (False with one seed per point)."""
        return self.decided > 0

    def _with(self, status: str) -> list[Hashable]:
        return list(self.table.index[self.table["status"] == status])

    @property
    def front(self) -> list[Hashable]:
        return self._with("front")

    @property
    def possibly(self) -> list[Hashable]:
        return self._with("possibly")

    @property
    def dominated(self) -> list[Hashable]:
        return self._with("dominated")

    @property
    def levels(self) -> str:
        """The line ``front: a, b``: the points on the front, in the points' labels."""
        return "front: " + ", ".join(map(str, self.front))

    def frame(self) -> pd.DataFrame:
        """The table (a copy); its ``attrs`` keep alpha and the objectives' directions."""
        table = self.table.copy()
        table.attrs = dict(self.table.attrs)
        return table

    def lines(self) -> list[str]:
        return [self.verdict, self.legend]

    def text(self) -> str:
        return "\n".join(self.lines())


def pareto(
    scores: pd.DataFrame,
    objectives: Mapping[str, bool] | Iterable[tuple[str, bool]],
    alpha: float = ALPHA,
    verify_command: str | None = None,
) -> Front:
    """The front of several objectives over seeds (see the module's docstring for the rule).

    Args:
        scores: columns point, seed and one per objective.
        objectives: each objective's name and whether lower is better, as a mapping
            (``{"val_accuracy": False, "params": True}``) or pairs, in the order shown.
        alpha: the level of the tests; the intervals are 1 - alpha (95 % at 0.05).
        verify_command: the command that reruns the study with more seeds, named in the verdict
            when one seed per point leaves the front unverified.
    """
    if not 0 < alpha < 1:
        raise StatisticsError(f"alpha must lie between 0 and 1, not {alpha}")
    directions = _objectives(objectives)
    names = list(directions)
    missing = [c for c in ("point", "seed", *names) if c not in scores.columns]
    if missing:
        raise StatisticsError(
            f"scores need the columns point, seed and one per objective; missing: {', '.join(missing)}"
        )
    labels, values = _matrices(scores, names)
    # goodness: higher is better on every objective, so one comparison serves all
    good = values * np.array([-1.0 if directions[n] else 1.0 for n in names])[:, None, None]
    scored = ~np.all(np.isnan(good), axis=2).any(axis=0)  # a score on every objective
    left_out = [label for label, kept in zip(labels, scored) if not kept]
    labels = [label for label, kept in zip(labels, scored) if kept]
    values, good = values[:, scored], good[:, scored]
    if not labels:
        raise StatisticsError("no scores to compare: every point lacks a score on some objective")
    summary = _summary(values.reshape(-1, values.shape[2]), alpha)  # objectives x points, flattened
    summary = {key: column.reshape(values.shape[:2]) for key, column in summary.items()}
    means = np.nanmean(good, axis=2)  # objectives x points
    behind = _dominates_by_means(means)  # behind[a, b]: a dominates b by the means
    exact = _exact(good)  # objectives x points: the same value on every seed (two or more)
    judged = _dominations(good, exact, alpha)
    significant, p = judged["significant"], judged["p"]
    status = np.where(
        significant.any(axis=0), "dominated", np.where(behind.any(axis=0), "possibly", "front")
    ).astype(object)
    # a point's p: its strongest domination by the means (the only ones that could be shown)
    p_point = np.where(behind, p, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a point with no domination tested
        p_point = np.nanmin(p_point, axis=0)
    exact_names = [n for n, row in zip(names, exact) if row.all()]
    table = _table(labels, names, directions, summary, status, significant, behind, p_point, good)
    table.attrs = {"alpha": alpha, "objectives": dict(directions)}
    return Front(
        table=table,
        objectives=dict(directions),
        alpha=alpha,
        tested=judged["tested"],
        exact=exact_names,
        decided=judged["decided"],
        left_out=left_out,
        verify_command=verify_command,
    )


def _objectives(objectives: Mapping[str, bool] | Iterable[tuple[str, bool]]) -> dict[str, bool]:
    """The objectives checked: names unique, not point or seed, each direction a bool, two or more."""
    pairs = list(objectives.items() if isinstance(objectives, Mapping) else objectives)
    seen: dict[str, bool] = {}
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise StatisticsError(f"an objective is a (name, lower_is_better) pair, not {pair!r}")
        name, lower = pair
        if name in TAKEN:
            raise StatisticsError(
                f"an objective cannot be named {name!r}: the scores or the table use it ({', '.join(TAKEN)})"
            )
        if name in seen:
            raise StatisticsError(f"objective {name} is given twice; name each objective once")
        if not isinstance(lower, bool | np.bool_):
            raise StatisticsError(f"objective {name}: lower_is_better must be True or False, not {lower!r}")
        seen[name] = bool(lower)
    if len(seen) < 2:
        given = ", ".join(seen) or "none"
        raise StatisticsError(
            f"a front needs two or more objectives, not {len(seen)} ({given}); for one, use compare"
        )
    return seen


def _matrices(scores: pd.DataFrame, names: list[str]) -> tuple[list[Hashable], np.ndarray]:
    """The points' labels (in order of first appearance) and the scores as objectives x points x
    seeds (NaN where a seed did not run or its value is missing)."""
    columns = []
    for name in names:
        try:
            columns.append(pd.to_numeric(scores[name]).to_numpy(dtype=float))
        except (TypeError, ValueError):
            raise StatisticsError(f"objective {name}: every value must be a number") from None
    # one checked points x seeds matrix of row numbers places every objective's values
    where = _scores(
        pd.DataFrame(
            {
                "point": scores["point"].to_numpy(),
                "seed": scores["seed"].to_numpy(),
                "value": np.arange(len(scores)),
            }
        )
    )
    given = ~np.isnan(where.values)
    row = np.where(given, where.values, 0).astype(int)
    return where.labels, np.stack([np.where(given, column[row], np.nan) for column in columns])


def _dominates_by_means(means: np.ndarray) -> np.ndarray:
    """[a, b]: a is at least as good as b on every objective and better on one (objectives x
    points of goodness)."""
    at_least = np.all(means[:, :, None] >= means[:, None, :], axis=0)
    better = np.any(means[:, :, None] > means[:, None, :], axis=0)
    return at_least & better


def _exact(good: np.ndarray) -> np.ndarray:
    """objectives x points: two or more scores, all the same (a deterministic objective)."""
    n = np.count_nonzero(~np.isnan(good), axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a point with no score
        spread = np.nanmax(good, axis=2) - np.nanmin(good, axis=2)
    return (n >= 2) & (spread == 0)


def _dominations(good: np.ndarray, exact: np.ndarray, alpha: float) -> dict:
    """Every ordered pair: whether a significantly dominates b, and that domination's p.

    The family of Holm's correction is fixed before any test: every ordered pair whose exact
    objectives leave a at least as good as b, times each objective not exact for the pair."""
    j, k = good.shape[0], good.shape[1]
    a, b = (x.ravel() for x in np.meshgrid(np.arange(k), np.arange(k), indexing="ij"))
    a, b = a[a != b], b[a != b]
    both = exact[:, a] & exact[:, b]  # objectives x pairs: the difference is exact
    value = np.nanmean(good, axis=2)  # exact values are their mean
    exact_diff = np.where(both, value[:, a] - value[:, b], 0.0)
    possible = ~np.any(exact_diff < 0, axis=0)  # a is not worse on an exact objective
    raw = np.full((j, len(a)), np.nan)
    tested = possible & ~both  # objectives x pairs
    where = np.nonzero(tested)
    offset = where[0] * k  # one call over every objective: rows of good stacked objective by objective
    raw[tested] = _better_p(good.reshape(j * k, -1), offset + a[where[1]], offset + b[where[1]])
    adjusted = holm(raw.ravel()).reshape(raw.shape)
    noisy = ~both
    shown = np.where(noisy, adjusted < alpha, True)  # every noisy objective significant
    strict = np.any(noisy, axis=0) | np.any(exact_diff > 0, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = np.where(noisy, adjusted, 0.0).max(axis=0)  # NaN when a noisy objective is untested
    judged = possible & ~np.isnan(p)  # every noisy objective tested
    significant = np.zeros((k, k), dtype=bool)
    significant[a, b] = judged & np.all(shown, axis=0) & strict
    p_matrix = np.full((k, k), np.nan)
    p_matrix[a, b] = np.where(judged, p, np.nan)
    tested_count = int(np.count_nonzero(~np.isnan(raw)))
    decided = int(np.count_nonzero(judged | ~possible))  # an exact objective settles the rest
    return {"significant": significant, "p": p_matrix, "tested": tested_count, "decided": decided}


def _better_p(good: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One-sided paired t-test p of "row first is not better than row second" on the seeds both
    have (NaN with fewer than two); one vectorised scipy call per set of common seeds."""
    p = np.full(len(first), np.nan)
    present = ~np.isnan(good)
    common = present[first] & present[second]
    groups: dict[bytes, list[int]] = {}
    for i in range(len(first)):
        groups.setdefault(common[i].tobytes(), []).append(i)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no spread
        for members in groups.values():
            rows = np.array(members)
            seeds = common[rows[0]]
            if seeds.sum() < 2:
                continue
            x, y = good[first[rows]][:, seeds], good[second[rows]][:, seeds]
            found = np.array(stats.ttest_rel(x, y, axis=1, alternative="greater").pvalue, ndmin=1)
            d = x - y
            constant = np.ptp(d, axis=1) == 0  # the same difference on every seed: no spread
            found[constant] = np.where(d[constant, 0] > 0, 0.0, 1.0)  # always better, or not
            p[rows] = found
    return p


def _table(labels, names, directions, summary, status, significant, behind, p, good) -> pd.DataFrame:
    n = np.count_nonzero(~np.isnan(good).any(axis=0), axis=1)
    columns: dict[str, object] = {"n": n}
    for o, name in enumerate(names):
        columns[name] = summary["mean"][o]
        columns[f"{name}_low"] = summary["ci_low"][o]
        columns[f"{name}_high"] = summary["ci_high"][o]
    columns["status"] = status
    columns["dominated_by"] = [tuple(labels[i] for i in np.flatnonzero(c)) for c in significant.T]
    columns["behind"] = [tuple(labels[i] for i in np.flatnonzero(c)) for c in behind.T]
    columns["p"] = p
    table = pd.DataFrame(columns, index=pd.Index(labels, name="point", tupleize_cols=False))
    first = (1.0 if directions[names[0]] else -1.0) * table[names[0]].to_numpy()
    rank = np.array([STATUSES.index(s) for s in status])
    return table.iloc[np.lexsort((first, rank))]


def _value(row: pd.Series, name: str) -> str:
    low, high = row[f"{name}_low"], row[f"{name}_high"]
    if low == high and float(row[name]).is_integer():  # exact: a count such as params
        return f"{name} {int(row[name])}"
    return f"{name} {mean_pm(row[name], low, high)}"  # the mean alone with one seed


def _named(points: list[str]) -> str:
    shown = points[:NAMED] + ([f"and {len(points) - NAMED} more"] if len(points) > NAMED else [])
    return ", ".join(shown)


def _verdict(
    table: pd.DataFrame,
    names: list[str],
    alpha: float,
    decided: int,
    verify_command: str | None,
    left_out: list[Hashable],
) -> str:
    on = table[table["status"] == "front"]
    front = _named([f"{p} ({', '.join(_value(r, n) for n in names)})" for p, r in on.iterrows()])
    off = table[table["status"] != "front"]
    behind = _named([f"{p} (behind {', '.join(map(str, r['behind']))})" for p, r in off.iterrows()])
    parts = []
    if decided == 0:
        why = "one seed per point" if (table["n"] <= 1).all() else "no pair has two common seeds"
        how = verify_command or "run every point with more seeds (e.g. --repeats 5)"
        parts.append(f"front (unverified: {why}, so no domination can be judged): {front}")
        if len(off):
            parts.append(f"off it by the means: {behind}")
        parts.append(f"verify with: {how}" if verify_command else f"{how} to verify it")
    else:
        parts.append(f"front: {front}")
        possibly = table[table["status"] == "possibly"]
        if len(possibly):
            named = [
                f"{p} (behind {', '.join(map(str, r['behind']))}; {p_phrase(r['p'])})"
                for p, r in possibly.iterrows()
            ]
            parts.append(f"possibly on the front (the seeds cannot tell at α={alpha:.2g}): {_named(named)}")
        dominated = table[table["status"] == "dominated"]
        if len(dominated):
            named = [f"{p} (by {', '.join(map(str, r['dominated_by']))})" for p, r in dominated.iterrows()]
            parts.append(f"dominated: {_named(named)}")
    if left_out:
        parts.append("left out (no score on some objective): " + ", ".join(map(str, left_out)))
    return "; ".join(parts)


def _legend(alpha: float, tested: int, decided: int, exact: list[str]) -> str:
    text = f"± = {(1 - alpha) * 100:g} % CI of the mean (t interval)"
    if decided == 0:
        return text + "; no domination judged: fewer than two common seeds"
    same = f" ({', '.join(exact)})" if exact else ""
    return text + (
        f"; A dominates B when it is better on every objective: exactly where both have one value "
        f"on every seed{same}, else by a one-sided paired t-test on the seeds both have, "
        f"Holm-corrected over the {plural(tested, 'test')} of every pair that could dominate "
        f"(p = a domination's largest; dominated when p < {alpha:g}); a point truly on the front "
        f"is called dominated with probability at most {alpha:g}"
    )
