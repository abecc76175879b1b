"""Racing: spend seeds only on the points that could still be the best.

**The rule** (``--repeats adaptive``), one *look* per round once every point has ``min_repeats``
seeds (at least 2: one seed has no spread); at a look all points still racing have the same
seeds 0..n-1:

1. the leader is the best mean among them;
2. the spread is pooled over every racing point: the residual mean square of the two-way layout
   points x seeds (seeds are blocks, so whatever a seed does to every point cancels), with
   (k - 1)(n - 1) degrees of freedom for k points; each rival's distance to the leader is
   ``q = (leader's mean - rival's mean) / sqrt(MSE / n)``, Tukey's studentized range statistic;
3. a rival is **worse** and leaves the race when ``q`` exceeds the studentized range quantile
   ``q(1 - a_n; k, (k - 1)(n - 1))`` (:data:`scipy.stats.studentized_range`): Tukey's HSD for a
   randomised block design at the look's level ``a_n``;
4. a rival is a **tie** and leaves the race (futility) when even a difference ``FUTILITY`` standard
   errors above the observed one would not pass the last look's quantile with ``max_repeats``
   seeds: more seeds would almost surely not change its verdict;
5. the leader and the open rivals get the next seed; the race is over when no rival is open
   (the leader stops too) or the racing points have ``max_repeats`` seeds (who is still open is
   then a tie).

**The levels** (:func:`look_levels`) split alpha over the looks n = min .. max (Bonferroni):
one look gets alpha; two get alpha/2 each; more give the first look 40 %, the last 40 % and
share 20 % among the others. The first look is where a clearly worse point should leave (a
fast race), the last is where a small difference is found (power); the looks between cost
little alpha and drop what became clear.

**The error bound.** Call a point truly best when no point has a higher true mean. Under
normal scores whose paired differences have one variance (sphericity, Tukey's assumption),
Tukey's simultaneous intervals for every pair of the k racing points cover at level ``1 - a_n``,
and a truly best point is called worse only if the interval of its difference to the leader
misses; so a look calls some truly best point worse with probability at most ``a_n``, whatever
the other points' means (several tied at the top, some far below), and the race does with
probability at most ``sum(a_n) = alpha`` (treating each look's racing points as given). Futility
only stops tests, so it adds no error. Measured in ``benchmarks/racing.py`` (the table is in
``benchmarks/results-2026-12-07-racing-cpu.txt``) and at a small size in
``tests/test_statistics.py``.

The race keeps no state: each call works out from the scores which points are still in (the
ones with the most seeds) and finishes a round a resumed study left half done. A trial that
failed (NaN) counts as run; a look pools only the seeds on which every racing point has a
score. :func:`race_verdicts` runs whole races on simulated studies (many at once, numpy), with
the same looks as :func:`race_step`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache, cached_property

import numpy as np
import pandas as pd
from scipy import stats

from rnnstudy.errors import StatisticsError
from rnnstudy.stats._comparison import Comparison, _comparison, _pair_tests, _Scores, _scores, _summary, holm
from rnnstudy.stats._formatting import plural
from rnnstudy.stats._power import ALPHA

FUTILITY = 1.0  # standard errors of optimism granted to a rival before it settles as a tie
FIRST, LAST = 0.4, 0.4  # the first and the last look's shares of alpha (with three looks or more)
BEST, TIE, WORSE = 0, 1, 2  # the verdict codes of race_verdicts


@dataclass
class RaceStep:
    """What the race does next: run ``seed`` for ``points``; no points: the race is over."""

    points: list[Hashable]
    seed: int | None
    reason: str
    leader: Hashable | None = None
    build: Callable[[], Comparison] | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return not self.points

    @cached_property
    def comparison(self) -> Comparison | None:
        """Where the race stands (None in the first ``min_repeats`` rounds); when it is over, its
        result: each point's verdict and p as the look that decided it gave them (a point still
        racing: the latest look). After a race, report this, not :func:`compare` of the same
        scores, which would test the points again. Made when first asked for."""
        return self.build() if self.build else None


def check_race(min_repeats: int, max_repeats: int) -> None:
    """Raise StatisticsError unless 1 <= min_repeats <= max_repeats (whole numbers)."""
    for name, value in (("min_repeats", min_repeats), ("max_repeats", max_repeats)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise StatisticsError(f"{name} must be a whole number, not {value!r}")
    if min_repeats < 1:
        raise StatisticsError(
            f"min_repeats must be at least 1, not {min_repeats} (2 is the least that tests anything)"
        )
    if min_repeats > max_repeats:
        raise StatisticsError(f"min_repeats ({min_repeats}) must not exceed max_repeats ({max_repeats})")


def look_levels(min_repeats: int, max_repeats: int, alpha: float = ALPHA) -> dict[int, float]:
    """The level of each look, by its seeds: the looks n = max(min_repeats, 2) .. max_repeats
    share alpha (module docstring); none when max_repeats is 1."""
    looks = list(range(max(min_repeats, 2), max_repeats + 1))
    if len(looks) <= 2:
        return {n: alpha / len(looks) for n in looks}
    shares = {looks[0]: FIRST, looks[-1]: LAST}
    between = (1 - FIRST - LAST) / (len(looks) - 2)
    return {n: alpha * shares.get(n, between) for n in looks}


@cache
def _quantile(level: float, points: int, df: int) -> float:
    """The studentized range's 1 - level quantile (cached: scipy integrates it numerically)."""
    return float(stats.studentized_range.ppf(1 - level, points, df))


@dataclass
class _Look:
    """One look of many studies at once (S studies, k points): what it decided."""

    leader: np.ndarray  # (S,) the row of the best mean among the racing points
    q: np.ndarray  # (S, k) studentized distance to the leader (NaN: not racing or untested)
    worse: np.ndarray  # (S, k) leaves the race as worse
    settled: np.ndarray  # (S, k) leaves the race as a tie (futility)
    points: np.ndarray  # (S,) the points whose range the quantile is of (every point that entered)
    df: np.ndarray  # (S,) degrees of freedom of the pooled spread (0: untested)

    def p(self) -> np.ndarray:
        """Each rival's p: the studentized range's tail beyond its q (Tukey's adjusted p)."""
        out = np.full(self.q.shape, np.nan)
        for s, i in zip(*np.nonzero(~np.isnan(self.q))):
            if i != self.leader[s]:
                out[s, i] = stats.studentized_range.sf(self.q[s, i], self.points[s], self.df[s])
        return out


def _look(
    values: np.ndarray,
    racing: np.ndarray,
    entered: np.ndarray,
    sign: float,
    level: float,
    last_level: float,
    max_repeats: int,
) -> _Look:
    """The look at which the ``racing`` points of each study have the seeds of ``values``
    (S x k x n, NaN: a failed trial): the leader, each rival's q, who leaves (module docstring).
    The quantile is the range's over the ``entered`` points of each study, not only the racing
    ones: the points still racing are the extremes the earlier looks left (ties near the leader
    settle first), and the range of a few chosen from many is the range of the many."""
    y = sign * values  # smaller is better from here on
    present = ~np.isnan(y)
    racing = racing & present.any(axis=2)  # a point whose every trial failed is out
    complete = np.all(present | ~racing[:, :, None], axis=1)  # seeds every racing point has
    used = racing[:, :, None] & complete[:, None, :]
    k, m = racing.sum(axis=1), complete.sum(axis=1)
    z = np.where(used, y, 0.0)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a study with nothing left to test
        own = np.where(racing, np.nanmean(np.where(present, y, np.nan), axis=2), np.inf)
        leader = np.argmin(own, axis=1)  # the best mean over each point's own seeds
        rows = z.sum(axis=2) / m[:, None]
        columns = z.sum(axis=1) / k[:, None]
        grand = z.sum(axis=(1, 2)) / (k * m)
        residuals = np.where(used, y - rows[:, :, None] - columns[:, None, :] + grand[:, None, None], 0.0)
        df = np.where(k >= 2, (k - 1) * np.maximum(m - 1, 0), 0)
        mse = (residuals**2).sum(axis=(1, 2)) / df
        gap = rows - rows[np.arange(len(y)), leader][:, None]
        scale = 1e-12 * (1.0 + np.abs(rows))
        gap = np.where(np.abs(gap) <= scale, 0.0, gap)  # rounding, not a difference
        mse = np.where(mse <= (scale.max(axis=1) ** 2), 0.0, mse)
        q = np.nan_to_num(gap / np.sqrt(mse / m)[:, None], nan=0.0)  # 0/0: identical points
    tested = df > 0
    q = np.where(racing & tested[:, None], q, np.nan)
    family = np.maximum(entered, k)
    critical = np.array([_quantile(level, f, d) if t else np.inf for f, d, t in zip(family, df, tested)])
    last = np.array(
        [
            _quantile(last_level, f, (a - 1) * (max_repeats - 1)) if t else 0.0
            for f, a, t in zip(family, k, tested)
        ]
    )
    rival = racing & tested[:, None] & (np.arange(y.shape[1]) != leader[:, None])
    worse = rival & (q > critical[:, None])
    # could a difference FUTILITY standard errors above this one pass the last look? if not, a tie
    reach = last * np.sqrt(m / max_repeats)
    final = y.shape[2] >= max_repeats
    settled = rival & ~worse & (not final) & (q + FUTILITY < reach[:, None])
    return _Look(leader, q, worse, settled, family, df)


def race_verdicts(
    values: np.ndarray,
    lower_is_better: bool,
    min_repeats: int = 3,
    max_repeats: int = 10,
    alpha: float = ALPHA,
) -> tuple[np.ndarray, np.ndarray]:
    """Whole races on studies known in full (studies x points x seeds, at least ``max_repeats``
    seeds), each seeing only the seeds the race would give it; the same looks as :func:`race_step`.

    Returns each point's verdict (:data:`BEST`, :data:`TIE`, :data:`WORSE`) and its seeds run.
    """
    check_race(min_repeats, max_repeats)
    values = np.asarray(values, dtype=float)
    values = values[None] if values.ndim == 2 else values
    if values.shape[2] < max_repeats:
        raise StatisticsError(f"race_verdicts needs {max_repeats} seeds per point, not {values.shape[2]}")
    studies, k = values.shape[:2]
    sign = 1.0 if lower_is_better else -1.0
    levels = look_levels(min_repeats, max_repeats, alpha)
    verdicts = np.full((studies, k), TIE)
    seeds = np.full((studies, k), min_repeats)
    racing = np.ones((studies, k), dtype=bool)
    entered = np.full(studies, k)
    if not levels:  # one seed per point: nothing is tested, the best mean leads
        verdicts[np.arange(studies), np.argmin(sign * values[:, :, 0], axis=1)] = BEST
        return verdicts, seeds
    for n, level in levels.items():
        seeds[racing] = n
        look = _look(values[:, :, :n], racing, entered, sign, level, levels[max_repeats], max_repeats)
        verdicts[look.worse] = WORSE
        racing &= ~(look.worse | look.settled)
        rivals = racing & (np.arange(k) != look.leader[:, None])
        ending = racing.any(axis=1) & (~rivals.any(axis=1) | (n >= max_repeats))
        verdicts[np.flatnonzero(ending), look.leader[ending]] = BEST
        racing[ending] = False
    return verdicts, seeds


def race_step(
    scores: pd.DataFrame,
    points: Iterable[Hashable],
    lower_is_better: bool,
    min_repeats: int = 3,
    max_repeats: int = 10,
    alpha: float = ALPHA,
) -> RaceStep:
    """The race's next round: which points get which seed, and why (the rule: module docstring).

    Args:
        scores: what has run so far (point, seed, value), seeds numbered from 0 as the race
            gives them; a trial that ran and failed is a row whose value is NaN (a point with no
            row for a seed the race gave it gets the seed again: a resumed round).
        points: every point of the study, run or not.
    """
    check_race(min_repeats, max_repeats)
    if not 0 < alpha < 1:
        raise StatisticsError(f"alpha must lie between 0 and 1, not {alpha}")
    points = list(dict.fromkeys(points))
    if not points:
        raise StatisticsError("the race needs at least one point")
    matrix = _scores(scores, points)
    if len(matrix.labels) > len(points):
        outside = ", ".join(str(p) for p in matrix.labels[len(points) :])
        raise StatisticsError(f"scores for points outside the race: {outside}")
    run = [set(matrix.seeds[matrix.ran[i]].tolist()) for i in range(len(points))]
    counts = np.array([_first_missing(seeds) for seeds in run])  # seeds 0..count-1, given in order
    first = int(counts.min())
    if first < min_repeats:
        chosen = [p for p, seeds in zip(points, run) if first not in seeds]
        reason = (
            f"every point gets {plural(min_repeats, 'seed')} first: "
            f"adding seed {first} to {plural(len(chosen), 'point')}"
        )
        return RaceStep(chosen, first, reason)

    race = _Race(matrix, counts, 1.0 if lower_is_better else -1.0, min_repeats, max_repeats, alpha)
    top = int(counts.max())
    behind = np.flatnonzero(counts == top - 1)
    if top > min_repeats and len(behind) and top - 1 < max_repeats:
        # a round that did not finish (a resumed race): who was open when the leaders got seed top-1?
        leader, open_ = race.open_after(top - 1)
        owed = [i for i in behind if i in open_]
        if owed:
            chosen = [points[i] for i in owed]
            reason = (
                f"finishing the round of seed {top - 1}: {plural(len(chosen), 'point')} that tied "
                f"with the leader ({points[leader]}) did not get it yet"
            )
            return RaceStep(chosen, top - 1, reason, points[leader])

    leader, open_ = race.open_after(top)
    if leader is None:
        return RaceStep([], None, "the race is over: every trial failed")
    name = points[leader]
    tied = [i for i in open_ if i != leader]

    def result() -> Comparison:
        return race.result(points, top)

    if not tied or top >= max_repeats:
        verb = "ties" if len(tied) == 1 else "tie"
        why = (
            f"{plural(len(tied), 'point')} still {verb} with it at {top} seeds" if tied else race.settled(top)
        )
        return RaceStep([], None, f"the race is over: {name} leads; {why}", name, result)
    verb, to = ("ties", "it") if len(tied) == 1 else ("tie", "them")
    reason = (
        f"{plural(len(tied), 'point')} still {verb} with the leader ({name}): "
        f"adding seed {top} to {to} and the leader"
    )
    return RaceStep([name] + [points[i] for i in tied], top, reason, name, result)


@dataclass
class _Race:
    """One study's race replayed from its scores: a point with c seeds raced at every look
    n <= c, and the look at c (or the latest) decided it."""

    matrix: _Scores
    counts: np.ndarray
    sign: float
    min_repeats: int
    max_repeats: int
    alpha: float

    @cached_property
    def levels(self) -> dict[int, float]:
        return look_levels(self.min_repeats, self.max_repeats, self.alpha)

    def look(self, n: int) -> _Look | None:
        """The look at n seeds (None: no look then, e.g. at 1 seed, or no racing point has a score)."""
        if n not in self.levels:
            return None
        scored = ~np.all(np.isnan(self.matrix.values), axis=1)
        racing = (self.counts >= n) & scored
        if not racing.any():
            return None
        values = self.matrix.values[:, self.matrix.seeds < n]
        return _look(
            values[None],
            racing[None],
            np.array([np.count_nonzero(scored)]),
            self.sign,
            self.levels[n],
            self.levels[self.max_repeats],
            self.max_repeats,
        )

    def open_after(self, n: int) -> tuple[int | None, list[int]]:
        """The leader at n seeds and the points the look left racing (the leader among them);
        with no look at n (one seed), every point with a score is open."""
        scored = (self.counts >= n) & ~np.all(np.isnan(self.matrix.values[:, self.matrix.seeds < n]), axis=1)
        if not scored.any():
            return None, []
        look = self.look(n)
        if look is None:
            means = np.full(len(scored), np.inf)
            means[scored] = self.sign * np.nanmean(self.matrix.values[scored], axis=1)
            return int(np.argmin(means)), [int(i) for i in np.flatnonzero(scored)]
        gone = look.worse[0] | look.settled[0]
        return int(look.leader[0]), [int(i) for i in np.flatnonzero(scored & ~gone)]

    def decided(self, top: int) -> tuple[np.ndarray, np.ndarray]:
        """Each point's verdict and p as the look that decided it gave them: a point with fewer
        seeds than ``top`` the look at its seeds (it left there), the others the look at ``top``."""
        rows = len(self.counts)
        verdict, p = np.full(rows, "tie", dtype=object), np.full(rows, np.nan)
        for c in sorted({int(c) for c in self.counts}):
            look = self.look(min(c, top))
            if look is None:
                continue
            members = np.flatnonzero(self.counts == c if c < top else self.counts >= top)
            p[members] = look.p()[0, members]
            verdict[members] = np.where(look.worse[0, members], "worse", "tie")
        return verdict, p

    def settled(self, top: int) -> str:
        """Why no rival is open at ``top``: all worse, or some settled as ties by futility."""
        verdict, _ = self.decided(top)
        leader, _ = self.open_after(top)
        scored = ~np.all(np.isnan(self.matrix.values), axis=1)
        ties = int(np.sum((verdict == "tie") & scored)) - 1  # the leader is not a tie
        if not ties:
            return "every other point is worse"
        worse = int(np.sum((verdict == "worse") & scored))
        return (
            f"{plural(worse, 'point')} worse, {plural(ties, 'point')} settled as a tie "
            "(more seeds would not separate it)"
        )

    def result(self, points: list[Hashable], top: int) -> Comparison:
        """Every point against the race's leader: its verdict and p as the race decided them, its
        difference to the leader (and Wilcoxon's check) on the seeds they share."""
        verdict, p = self.decided(top)
        leader, _ = self.open_after(top)
        rows = np.flatnonzero(~np.all(np.isnan(self.matrix.values), axis=1))
        labels, values = [points[r] for r in rows], self.matrix.values[rows]
        b = int(np.flatnonzero(rows == leader)[0])
        others = np.array([k for k in range(len(rows)) if k != b], dtype=int)
        pairs = _pair_tests(values, others, np.full(len(others), b), self.alpha, wilcoxon=True)
        tests = {name: _spread(column, others, len(rows)) for name, column in pairs.items()}
        tests["pairs"][b], tests["diff"][b], tests["nonzero"][b] = np.sum(~np.isnan(values[b])), 0.0, 0
        tests["p_wilcoxon"] = holm(tests["p_wilcoxon_raw"])
        tests["p"], tests["verdict"] = p[rows], verdict[rows]
        tests["verdict"][b] = "best"
        tested = int(np.count_nonzero(~np.isnan(tests["p"])))
        level = self.levels.get(top, self.alpha)
        shown = ", ".join(f"{n} seeds {a:.2g}" for n, a in self.levels.items())
        legend = (
            f"± = {(1 - self.alpha) * 100:g} % CI of the mean (t interval); p = the race's test against "
            "the leader (Tukey's studentized range, the spread pooled over the points racing at the "
            f"look that decided the point); a look calls a point worse when p is below its level "
            f"({shown}); a tie that left early did so because more seeds would not have separated it"
        )
        sign = self.sign
        summary = _summary(values, self.alpha)
        made = _comparison(
            labels, values, summary, tests, tested, b, sign, self.alpha, "best", None, "", level
        )
        return replace(made, legend=legend)  # the paired t-test's legend does not describe the race


def _spread(column: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, np.nan)
    out[rows] = column
    return out


def _first_missing(seeds: set[int]) -> int:
    k = 0
    while k in seeds:
        k += 1
    return k
