"""How many seeds a paired comparison needs, and the default level and power of every test.

:func:`repeats_to_separate` says how many seeds per point a paired t-test needs to separate the
top two with power 0.8, at their observed mean difference and standard deviation of paired
differences (power from the noncentral t distribution, :data:`scipy.stats.nct`); like the
comparisons, it takes the winner's lucky margin at face value.

"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from rnnstudy.errors import StatisticsError
from rnnstudy.stats._formatting import number

ALPHA = 0.05
POWER = 0.8
MAX_REPEATS_SEARCHED = 10_000  # repeats_to_separate looks no further


def paired_power(effect: float, n: int | np.ndarray, alpha: float = ALPHA) -> float | np.ndarray:
    """Power of the two-sided paired t-test with n pairs at a standardised effect
    (mean difference / standard deviation of the differences), from the noncentral t."""
    n = np.asarray(n, dtype=float)
    df = n - 1
    critical = stats.t.isf(alpha / 2, df)
    noncentrality = abs(effect) * np.sqrt(n)
    with np.errstate(all="ignore"):
        upper = stats.nct.sf(critical, df, noncentrality)
        lower = stats.nct.cdf(-critical, df, noncentrality)
    # scipy's noncentral t returns NaN far in a tail at large df; there it is the normal's
    upper = np.where(np.isnan(upper), stats.norm.sf(critical - noncentrality), upper)
    lower = np.where(np.isnan(lower), stats.norm.cdf(-critical - noncentrality), lower)
    power = np.asarray(upper + lower)
    return float(power) if power.ndim == 0 else power


@dataclass(frozen=True)
class Separation:
    """How many seeds per point would separate two points (see :func:`repeats_to_separate`)."""

    n: int | None  # None: not within the search (or the difference is 0, or cannot be estimated)
    diff: float
    sd: float
    power: float
    alpha: float
    beyond: bool = False  # True: more than MAX_REPEATS_SEARCHED
    why: str = ""  # why there is no n, when there is none

    @property
    def effect(self) -> float:
        return abs(self.diff) / self.sd if self.sd > 0 else math.inf

    def text(self, first: Hashable = "the best", second: Hashable = "the runner-up") -> str:
        if self.why:
            return f"repeats to separate {first} from {second}: unknown, {self.why}"
        at = (
            f"power {self.power:g} at α={self.alpha:g}, paired t-test, at the observed difference "
            f"{number(abs(self.diff))} and sd of the paired differences {number(self.sd)}"
        )
        if self.beyond:
            return (
                f"separating {first} from {second} would take more than {MAX_REPEATS_SEARCHED:,} seeds ({at})"
            )
        return f"{self.n} seeds per point would separate {first} from {second} ({at})"


def repeats_to_separate(
    differences: Sequence[float] | None = None,
    *,
    diff: float | None = None,
    sd: float | None = None,
    alpha: float = ALPHA,
    power: float = POWER,
    cap: int = MAX_REPEATS_SEARCHED,
) -> Separation:
    """The least number of pairs (seeds per point) at which a two-sided paired t-test at ``alpha``
    detects the given mean difference with the given power, when the paired differences have
    standard deviation ``sd``. Give either the observed ``differences`` or ``diff`` and ``sd``.

    The search runs n = 2, 3, ... up to ``cap``; beyond it the answer is "more than cap".
    No spread and a non-zero difference: 2 (every test at n >= 2 separates them). A difference
    of exactly 0 can never be separated: n is None. It is uncorrected for multiple comparisons,
    and the observed difference between a winner and its runner-up tends to be an overestimate.
    """
    if differences is not None:
        d = np.asarray(differences, dtype=float)
        d = d[~np.isnan(d)]
        if len(d) < 2:
            return Separation(None, math.nan, math.nan, power, alpha, why="fewer than two common seeds")
        diff, sd = float(d.mean()), float(d.std(ddof=1))
    if diff is None or sd is None:
        raise StatisticsError("repeats_to_separate needs the differences, or diff and sd")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise StatisticsError(f"alpha and power must lie between 0 and 1, not {alpha} and {power}")
    if diff == 0:
        return Separation(None, diff, sd, power, alpha, why="the observed difference is 0")
    if sd == 0:
        return Separation(2, diff, sd, power, alpha)
    effect = diff / sd
    if paired_power(effect, cap, alpha) < power:
        return Separation(None, diff, sd, power, alpha, beyond=True)
    low, high = 1, cap  # power is increasing in n: power(low) < power <= power(high)
    while high - low > 1:
        middle = (low + high) // 2
        if paired_power(effect, middle, alpha) >= power:
            high = middle
        else:
            low = middle
    return Separation(high, diff, sd, power, alpha)
