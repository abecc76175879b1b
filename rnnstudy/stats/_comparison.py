"""The statistics of repeated runs: which point is best, and which cannot be told apart from it.

A study runs every configuration ("point") with the same seeds 0..N-1, so two points can be
compared seed by seed (paired): whatever a seed does to every point alike (the data order, a
lucky initialisation) cancels in the difference. The input everywhere is a DataFrame of scores
with the columns ``point`` (a hashable label, e.g. ``"c1=90 c2=40"``), ``seed`` (int) and
``value`` (float); a row whose value is NaN (a failed or pruned trial) counts as run, for the
race, but not as a score.

:func:`compare` gives, per point, n, mean, standard deviation (ddof=1) and the t interval of the
mean; then the best point (highest mean, or lowest when lower is better) and, for every other
point, its paired difference to the best over the seeds both have:

- the mean difference (``diff`` = the point's value minus the best's, in the metric's units) and
  its t interval;
- the paired t-test's p-value (:func:`scipy.stats.ttest_rel`) and the Wilcoxon signed-rank
  test's (:func:`scipy.stats.wilcoxon`), each Holm-corrected (step-down, :func:`holm`) over the
  tests that could be run (two or more common seeds).

**The t-test decides**: a point is ``"worse"`` when its Holm-corrected t-test p < alpha and its
mean is worse than the best's; otherwise it is a ``"tie"``: not distinguishable from the best.
The Wilcoxon test assumes no normality; it is a check, not a second vote: a comparison where
the two Holm-corrected tests fall on different sides of alpha is flagged (``disagree``), a sign
that an outlier seed or a skewed spread drives the t-test's call. With k non-zero differences
the Wilcoxon p cannot go below 2/2**k, and Holm's first step needs p < alpha/m over m tests;
where Wilcoxon could not reject at all (k too small) it cannot disagree, so the flag stays off
and the legend says why (at alpha 0.05 one comparison needs 6 seeds, 19 need 10).

**Picking the best from the same data** biases its comparisons: it was lucky as well as good,
so Holm over its k - 1 comparisons alone called some equal point worse in 17 % of simulated
studies (20 equal points, n=5 seeds, alpha 0.05), though each single point only 1 % of the
time. So, as F-race does, :func:`compare` first runs Friedman's test (:func:`friedman`,
:func:`scipy.stats.friedmanchisquare`) over the points on the seeds they all have: only when it
rejects "every point scores alike" at alpha is any point called worse. Measured in
``tests/test_statistics.py``: with 20 equal points the rate falls to alpha or below; it still
does not bound every partial case (with 5 equal points at the top of 20, about 10 % of studies
call one of those five worse). ``family="pairs"`` corrects over every pair of points instead,
of which the best's comparisons are a subset whatever the data picked, so it stays below alpha
in every case (1.5 % with 20 equal points); the price is power: at n=5 in a 25-point grid, a
point 3 sd (of the paired differences) below the best is called worse in 19 % of studies
instead of 90 %. The default (``family="best"``) follows the design; "pairs" is there for a
strict claim.

With one seed per point nothing can be tested: the verdict says the ranking is unverified and,
given the command, how to verify it.

Bad input raises :class:`StatisticsError` (an :class:`~rnnstudy.errors.RnnstudyError`: the CLI
prints one line and exits with code 2).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from rnnstudy.errors import StatisticsError
from rnnstudy.stats._formatting import mean_pm, p_phrase, plural, shown_verdicts
from rnnstudy.stats._power import ALPHA, Separation, repeats_to_separate

NAMED_TIES = 8  # the verdict names this many tied points, then counts the rest
NAMED_WORSE = 3  # the verdict names the worse points when there are at most this many
FAMILIES = ("best", "pairs")  # what Holm corrects over: every pair of points, or the best's k - 1
COLUMNS = (
    "n",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "pairs",
    "diff",
    "diff_low",
    "diff_high",
    "p",
    "p_wilcoxon",
    "p_raw",
    "p_wilcoxon_raw",
    "disagree",
    "verdict",
)


# --- the pieces ------------------------------------------------------------------------------


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down correction: the adjusted p-values, in the input's order.

    NaN (a comparison that could not be tested) stays NaN and does not count in m.
    """
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(~np.isnan(p))
    m = len(finite)
    if m:
        order = finite[np.argsort(p[finite], kind="stable")]
        steps = (m - np.arange(m)) * p[order]  # the k-th smallest p times m - k + 1
        adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return adjusted


# --- the comparison --------------------------------------------------------------------------


@dataclass
class Comparison:
    """Every point against the best: the table, the verdict in words and the repeats needed.

    ``table`` has one row per point, best first then by mean, indexed by point, with the columns
    of :data:`COLUMNS`: n, mean, std, ci_low/ci_high (t interval of the mean), pairs (seeds in
    common with the best), diff/diff_low/diff_high (paired difference to the best, point minus
    best, and its t interval), p and p_wilcoxon (Holm-corrected), p_raw and p_wilcoxon_raw,
    disagree (the two tests fall on different sides of alpha), verdict ("best", "tie", "worse").
    """

    table: pd.DataFrame
    best: Hashable
    alpha: float
    lower_is_better: bool
    verdict: str
    legend: str
    runner_up: Hashable | None
    tested: int  # tests with a p-value (the m of Holm's correction)
    family: str = "best"
    verify_command: str | None = None
    runner_up_differences: np.ndarray | None = field(default=None, repr=False)  # runner-up - best

    @cached_property
    def separation(self) -> Separation | None:
        """The seeds per point that would separate the best from the runner-up."""
        if self.runner_up_differences is None:
            return None
        return repeats_to_separate(self.runner_up_differences, alpha=self.alpha)

    def frame(self) -> pd.DataFrame:
        """The table (a copy); its ``attrs`` keep alpha, lower_is_better and family."""
        table = self.table.copy()
        table.attrs = dict(self.table.attrs)
        return table

    @property
    def verified(self) -> bool:
        """Whether any comparison could be tested (False with one seed per point)."""
        return self.tested > 0

    @property
    def ties(self) -> list[Hashable]:
        return list(self.table.index[self.table["verdict"] == "tie"])

    @property
    def worse(self) -> list[Hashable]:
        return list(self.table.index[self.table["verdict"] == "worse"])

    @property
    def disagreements(self) -> list[Hashable]:
        return list(self.table.index[self.table["disagree"].to_numpy(dtype=bool)])

    def lines(self) -> list[str]:
        """The verdict, what ± and p mean, and the repeats needed to separate the top two."""
        lines = [self.verdict, self.legend]
        if self.separation is not None and self.verified and self.runner_up in self.ties:
            lines.append(self.separation.text(self.best, self.runner_up))  # only a tie needs more
        return lines

    def text(self) -> str:
        return "\n".join(self.lines())


@dataclass
class _Scores:
    """Scores as a points x seeds matrix: NaN where a seed did not run or its trial failed."""

    labels: list[Hashable]  # in order of first appearance
    seeds: np.ndarray  # sorted
    values: np.ndarray  # len(labels) x len(seeds)
    ran: np.ndarray  # bool, same shape: a row was given (its value may be NaN)


def _scores(scores: pd.DataFrame, points: Iterable[Hashable] = ()) -> _Scores:
    """The scores checked (columns point, seed, value; one row per point and seed) as a matrix
    whose rows are ``points`` first, then any other point of the scores."""
    missing = [c for c in ("point", "seed", "value") if c not in scores.columns]
    if missing:
        raise StatisticsError(f"scores need the columns point, seed and value; missing: {', '.join(missing)}")
    try:
        value = pd.to_numeric(scores["value"]).to_numpy(dtype=float)
        seed_values = pd.to_numeric(scores["seed"]).to_numpy()
        if len(seed_values) and not np.all(np.mod(seed_values, 1) == 0):
            raise ValueError("not whole")
        seed = seed_values.astype(int)
    except (TypeError, ValueError):
        raise StatisticsError("scores: every seed must be a whole number and every value a number") from None
    labels = list(dict.fromkeys(points))
    codes, uniques = pd.factorize(scores["point"], sort=False)
    labels += [u for u in uniques if u not in set(labels)]
    where = {label: k for k, label in enumerate(labels)}
    rows = np.array([where[u] for u in uniques], dtype=int)[codes] if len(codes) else codes
    seeds, columns = np.unique(seed, return_inverse=True)
    flat = rows * len(seeds) + columns
    if len(np.unique(flat)) < len(flat):
        _, first, counts = np.unique(flat, return_index=True, return_counts=True)
        k = first[np.argmax(counts > 1)]
        raise StatisticsError(
            f"point {labels[rows[k]]} has seed {seed[k]} more than once; give one value per point and seed"
        )
    values = np.full((len(labels), len(seeds)), np.nan)
    ran = np.zeros(values.shape, dtype=bool)
    values[rows, columns] = value
    ran[rows, columns] = True
    return _Scores(labels, seeds, values, ran)


def _summary(values: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    """n, mean, std (ddof=1) and the t interval of the mean per row (NaN = missing)."""
    n = np.count_nonzero(~np.isnan(values), axis=1)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # rows of one value, or of none
        mean = np.nanmean(values, axis=1)
        std = np.nanstd(values, axis=1, ddof=1)
        low, high = stats.t.interval(1 - alpha, df=np.maximum(n - 1, 1), loc=mean, scale=std / np.sqrt(n))
    flat = std == 0  # every value equal: the interval is the value itself
    low, high = np.where(flat, mean, low), np.where(flat, mean, high)
    low, high = np.where(n >= 2, low, np.nan), np.where(n >= 2, high, np.nan)
    std = np.where(n >= 2, std, np.nan)
    return {"n": n, "mean": mean, "std": std, "ci_low": low, "ci_high": high}


def _ranked_best(summary: dict[str, np.ndarray], sign: float, among: np.ndarray | None = None) -> int:
    """The row with the best mean (ties: more seeds, then first); only ``among`` when given."""
    candidates = np.flatnonzero(summary["n"] > 0) if among is None else among
    keys = (candidates, -summary["n"][candidates], sign * summary["mean"][candidates])
    return int(candidates[np.lexsort(keys)[0]])


def _core(
    values: np.ndarray,
    sign: float,
    alpha: float,
    best: int,
    family: str,
    wilcoxon: bool,
    level: float | None = None,
    intervals: bool = True,
) -> tuple[dict[str, np.ndarray], int]:
    """Every row against row ``best``: per row pairs, diff (row - best) and its interval, raw
    and Holm-corrected p-values, nonzero differences, verdict; and the number of tests."""
    k = len(values)
    if family == "pairs":
        first, second = np.triu_indices(k, k=1)
    else:
        first = np.array([i for i in range(k) if i != best], dtype=int)
        second = np.full(len(first), best)
    tests = _pair_tests(values, first, second, alpha, wilcoxon, intervals)
    tested = int(np.count_nonzero(~np.isnan(tests["p_raw"])))
    tests["p"] = holm(tests["p_raw"])
    tests["p_wilcoxon"] = holm(tests["p_wilcoxon_raw"])
    involved = np.flatnonzero((first == best) | (second == best))
    rows = np.where(first[involved] == best, second[involved], first[involved])
    flip = np.where(first[involved] == best, -1.0, 1.0)  # oriented as row minus best
    out = {name: np.full(k, np.nan) for name in tests}
    for name, column in tests.items():
        out[name][rows] = column[involved]
    out["diff"][rows] *= flip
    low, high = out["diff_low"][rows] * flip, out["diff_high"][rows] * flip
    out["diff_low"][rows], out["diff_high"][rows] = np.minimum(low, high), np.maximum(low, high)
    n = np.count_nonzero(~np.isnan(values), axis=1)
    out["pairs"][best], out["diff"][best], out["nonzero"][best] = n[best], 0.0, 0
    worse = (out["p"] < (alpha if level is None else level)) & (sign * out["diff"] > 0)
    out["verdict"] = np.where(worse, "worse", "tie").astype(object)
    out["verdict"][best] = "best"
    return out, tested


def compare(
    scores: pd.DataFrame,
    lower_is_better: bool,
    alpha: float = ALPHA,
    verify_command: str | None = None,
    best: Hashable | None = None,
    family: str = "best",
    wilcoxon: bool = True,
) -> Comparison:
    """Every point against the best (see the module's docstring for what decides what).

    Args:
        scores: columns point, seed, value.
        lower_is_better: True for a loss, False for an accuracy.
        alpha: the level of the tests; the intervals are 1 - alpha (95 % at 0.05).
        verify_command: the command that reruns the study with more seeds, named in the verdict
            when one seed per point leaves the ranking unverified.
        best: the point to compare against, instead of the best mean (after a race, the
            race's leader: see :func:`race_step`).
        family: what Holm corrects over (see the module's docstring): ``"best"``, the k - 1
            comparisons with the best, or ``"pairs"``, every pair of points (strict, weak).
        wilcoxon: False skips the Wilcoxon check (the race does not need it).
    """
    if not 0 < alpha < 1:
        raise StatisticsError(f"alpha must lie between 0 and 1, not {alpha}")
    if family not in FAMILIES:
        raise StatisticsError(f"family must be one of {', '.join(FAMILIES)}, not {family!r}")
    matrix = _scores(scores)
    keep = ~np.all(np.isnan(matrix.values), axis=1)  # a point whose every trial failed: no row
    labels = [label for label, kept in zip(matrix.labels, keep) if kept]
    values = matrix.values[keep]
    if not labels:
        raise StatisticsError("no scores to compare: every value is missing")
    sign = 1.0 if lower_is_better else -1.0  # sign * value: smaller is better
    summary = _summary(values, alpha)
    if best is None:
        b = _ranked_best(summary, sign)
    elif best in labels:
        b = labels.index(best)
    else:
        raise StatisticsError(f"best point {best} has no scores")
    tests, tested = _core(values, sign, alpha, b, family, wilcoxon)
    note = ""
    if family == "best" and tested:
        gate = friedman(values)
        if gate is not None:
            p, points, seeds = gate
            note = f"; first, Friedman's test over the {points} points on their {seeds} common seeds: {p_phrase(p)}"
            if p >= alpha:  # no evidence that any point differs: none is called worse (F-race's gate)
                tests["verdict"] = np.where(tests["verdict"] == "worse", "tie", tests["verdict"]).astype(
                    object
                )
                note += f", not below α={alpha:g}, so no point is called worse"
    return _comparison(labels, values, summary, tests, tested, b, sign, alpha, family, verify_command, note)


def friedman(values: np.ndarray) -> tuple[float, int, int] | None:
    """Friedman's test that every point (row) scores alike, on the seeds (columns) that every
    point has: (p, points, seeds), or None when it cannot run (fewer than 3 points, or 2 seeds).

    The best point is picked from the same data as its comparisons, so with many equal points
    the luckiest one's comparisons are biased against the others: Holm over them alone called
    some equal point worse in 17 % of simulated studies (20 equal points, 5 seeds). Testing
    first whether any point differs at all, as F-race does (Birattari et al., 2002), keeps that
    at or below alpha (tests/test_statistics.py).
    """
    complete = values[:, ~np.isnan(values).any(axis=0)]
    if complete.shape[0] < 3 or complete.shape[1] < 2:
        return None
    if np.all(complete == complete[:1]):  # every point the same on every seed
        return 1.0, complete.shape[0], complete.shape[1]
    return float(stats.friedmanchisquare(*complete).pvalue), complete.shape[0], complete.shape[1]


def _comparison(
    labels: list[Hashable],
    values: np.ndarray,
    summary: dict[str, np.ndarray],
    tests: dict[str, np.ndarray],
    tested: int,
    b: int,
    sign: float,
    alpha: float,
    family: str,
    verify_command: str | None,
    note: str = "",
    level: float | None = None,
) -> Comparison:
    others = np.array([i for i in range(len(labels)) if i != b], dtype=int)
    others = others[np.argsort(sign * summary["mean"][others], kind="stable")]
    order = np.concatenate([[b], others]).astype(int)
    columns = summary | tests
    columns["disagree"] = _disagreements(tests, alpha, tested)
    table = pd.DataFrame(
        {name: columns[name][order] for name in COLUMNS},
        index=pd.Index([labels[i] for i in order], name="point", tupleize_cols=False),
    )
    table["pairs"] = table["pairs"].astype(int)
    table["disagree"] = table["disagree"].astype(bool)
    table.attrs = {"alpha": alpha, "lower_is_better": sign > 0, "family": family}
    best = labels[b]
    runner_up = labels[others[0]] if len(others) else None
    return Comparison(
        table=table,
        best=best,
        alpha=alpha,
        lower_is_better=sign > 0,
        verdict=_verdict(table, best, alpha if level is None else level, tested, verify_command),
        legend=_legend(tests["nonzero"][others], alpha, tested, family, len(labels)) + note,
        runner_up=runner_up,
        tested=tested,
        family=family,
        verify_command=verify_command,
        runner_up_differences=None if runner_up is None else values[others[0]] - values[b],
    )


def _pair_tests(
    values: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    alpha: float,
    wilcoxon: bool,
    intervals: bool = True,
) -> dict[str, np.ndarray]:
    """Paired tests of the rows ``first`` minus the rows ``second`` of a points x seeds matrix
    (NaN where a seed is missing), on the seeds each pair has in common. One vectorised scipy
    call per set of common seeds (one set for a complete design, a few during a race)."""
    m = len(first)
    out = {name: np.full(m, np.nan) for name in ("diff", "diff_low", "diff_high", "p_raw", "p_wilcoxon_raw")}
    out["pairs"] = np.zeros(m)
    out["nonzero"] = np.zeros(m)
    present = ~np.isnan(values)
    common = present[first] & present[second]
    groups: dict[bytes, list[int]] = {}
    for k in range(m):
        groups.setdefault(common[k].tobytes(), []).append(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no spread, catastrophic cancellation
        for members in groups.values():
            rows = np.array(members)
            seeds = common[rows[0]]
            a, b = values[first[rows]][:, seeds], values[second[rows]][:, seeds]
            d = a - b
            out["pairs"][rows] = d.shape[1]
            out["nonzero"][rows] = np.count_nonzero(d, axis=1)
            if d.shape[1] == 0:
                continue
            out["diff"][rows] = d.mean(axis=1)
            if d.shape[1] < 2:
                continue
            result = stats.ttest_rel(a, b, axis=1)
            p = np.array(result.pvalue, dtype=float, ndmin=1)
            low, high = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
            if intervals:
                interval = result.confidence_interval(1 - alpha)
                low, high = (np.array(x, dtype=float, ndmin=1) for x in (interval.low, interval.high))
            constant = np.ptp(d, axis=1) == 0  # the same difference on every seed: no spread
            p[constant] = np.where(d[constant, 0] == 0, 1.0, 0.0)  # identical, or always apart
            low[constant] = high[constant] = d[constant, 0]
            out["p_raw"][rows], out["diff_low"][rows], out["diff_high"][rows] = p, low, high
            if wilcoxon:
                pw = np.ones(len(rows))
                moving = d.any(axis=1)  # all-zero differences: nothing to rank, p = 1
                if moving.any():
                    pw[moving] = stats.wilcoxon(d[moving], axis=1).pvalue
                out["p_wilcoxon_raw"][rows] = pw
    return out


def _wilcoxon_can_reject(nonzero: np.ndarray, alpha: float, tested: int) -> np.ndarray:
    """Whether a Holm-corrected Wilcoxon test with this many non-zero differences could reject at
    all: its smallest p (2 / 2**k) must pass Holm's first step (alpha / m)."""
    k = np.nan_to_num(np.asarray(nonzero, dtype=float))
    return (tested > 0) & (2.0 / 2.0**k < alpha / max(tested, 1))


def _disagreements(tests: dict[str, np.ndarray], alpha: float, tested: int) -> np.ndarray:
    t_says = tests["p"] < alpha
    w_says = tests["p_wilcoxon"] < alpha
    both = ~np.isnan(tests["p"]) & ~np.isnan(tests["p_wilcoxon"])
    could = _wilcoxon_can_reject(tests["nonzero"], alpha, tested)
    return (t_says != w_says) & both & (could | w_says)


def _verdict(
    table: pd.DataFrame, best: Hashable, alpha: float, tested: int, verify_command: str | None
) -> str:
    row = table.iloc[0]  # the table puts the best first (labels may be tuples: no .loc)
    head = f"best: {best} {mean_pm(row['mean'], row['ci_low'], row['ci_high'])} (n={int(row['n'])})"
    rest = table.iloc[1:]
    if rest.empty:
        return head + "; the only point"
    if tested == 0:
        why = "one seed per point" if (table["n"] <= 1).all() else "no point shares two seeds with the best"
        how = (
            f"verify with: {verify_command}"
            if verify_command
            else "run every point with more seeds (e.g. --repeats 5) to verify it"
        )
        return f"{head}; ranking unverified ({why}, so no difference can be tested); {how}"
    shown = shown_verdicts(rest)
    untested, ties = rest[shown == "untested"], rest[shown == "tie"]
    worse = rest[rest["verdict"] == "worse"]
    at = f"α={alpha:.2g}"
    parts = [head]
    others = "other tested points" if len(untested) else "others"
    if len(untested):
        parts.append(
            "untested (fewer than two seeds in common with it): " + ", ".join(map(str, untested.index))
        )
    if len(ties):
        named = [f"{p} ({p_phrase(r['p'])})" for p, r in ties.head(NAMED_TIES).iterrows()]
        if len(ties) > NAMED_TIES:
            named.append(f"and {len(ties) - NAMED_TIES} more")
        parts.append(f"not distinguishable from it at {at}: " + ", ".join(named))
    named_worse = "worse: " + ", ".join(f"{p} ({p_phrase(r['p'])})" for p, r in worse.iterrows())
    if len(ties) and worse.empty:
        parts.append("no other point is worse")
    elif len(ties) or (len(untested) and len(worse) <= NAMED_WORSE):
        parts.append(named_worse if len(worse) <= NAMED_WORSE else f"all {others} worse")
    elif len(worse):
        parts.append(f"all {plural(len(worse), others.removesuffix('s'))} worse at {at}")
    disagree = table[table["disagree"]]
    if len(disagree):
        parts.append(
            "Wilcoxon disagrees on: "
            + ", ".join(
                f"{p} (t {p_phrase(r['p'])}, Wilcoxon {p_phrase(r['p_wilcoxon'])})"
                for p, r in disagree.iterrows()
            )
        )
    return "; ".join(parts)


def _legend(nonzero: np.ndarray, alpha: float, tested: int, family: str, points: int) -> str:
    text = f"± = {(1 - alpha) * 100:g} % CI of the mean (t interval)"
    if tested == 0:
        return text + "; no tests: fewer than two common seeds"
    over = (
        f"every pair of the {points} points ({plural(tested, 'test')})"
        if family == "pairs"
        else plural(tested, "comparison") + " with the best"
    )
    text += (
        f"; p = paired t-test against the best on the seeds both have, Holm-corrected over "
        f"{over}; it decides (worse when p < {alpha:g}); the interval of the difference is not "
        "adjusted, so one that excludes 0 can sit beside a tie"
    )
    if not _wilcoxon_can_reject(nonzero, alpha, tested).any():
        k = math.ceil(math.log2(2 * tested / alpha) + 1e-9)
        return text + f"; the Wilcoxon check cannot reject with so few seeds (it needs {k} that differ)"
    return text + "; Wilcoxon signed-rank = the same test without assuming normality, a check"
