"""The statistics of repeated runs, on simulated studies whose truth is known.

A simulated study: every point's score on a seed is its true value + a seed effect shared by
every point of that seed + the point's own Gaussian noise (sd 1/sqrt(2), so that the paired
differences have sd 1: "2 sd" below means a true difference of twice that). Each test draws
its studies from numpy's default_rng with a fixed seed, so it is deterministic; the assertions
allow the binomial slack of the number of studies (scipy.stats.binom), not guessed margins.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import rnnstudy.stats as st
from rnnstudy.errors import RnnstudyError
from rnnstudy.stats import StatisticsError, compare, race_step

ALPHA = 0.05
NOISE = 2**-0.5  # each point's own noise: the paired differences have sd 1
SEED_EFFECT = 1.0  # shared by every point of a seed: pairing removes it


def simulate(truth, seeds: int, rng) -> np.ndarray:
    """A points x seeds matrix of scores."""
    truth = np.asarray(truth, dtype=float)
    shared = rng.normal(0, SEED_EFFECT, seeds)
    return truth[:, None] + shared[None, :] + rng.normal(0, NOISE, (len(truth), seeds))


def scores(values: np.ndarray, labels=None, ran: np.ndarray | None = None) -> pd.DataFrame:
    """The long frame (point, seed, value) of a points x seeds matrix; only ``ran`` cells."""
    k, n = values.shape
    labels = labels or [f"p{i}" for i in range(k)]
    ran = np.ones(values.shape, dtype=bool) if ran is None else ran
    rows, columns = np.nonzero(ran)
    return pd.DataFrame({"point": [labels[i] for i in rows], "seed": columns, "value": values[rows, columns]})


def frame(rows: dict[str, list[float]]) -> pd.DataFrame:
    """Scores from {point: [value per seed 0, 1, ...]} (None: that seed is missing)."""
    return pd.DataFrame(
        [(p, s, v) for p, values in rows.items() for s, v in enumerate(values) if v is not None],
        columns=["point", "seed", "value"],
    )


# --- what the statistics promise, measured -------------------------------------------------


def test_equal_points_are_rarely_called_worse():
    """20 equal points, 200 studies at n=5: how often is ANY of them called worse than the best?

    At or below alpha, within the slack of 200 studies, for the default (Friedman's test first,
    then Holm over the best's 19 comparisons) and for Holm over every pair ("pairs"). Without
    Friedman's gate the best's comparisons inherit its luck: the rate is far above alpha
    (measured about 17 %, the figure the module's docstring quotes).
    """
    rng = np.random.default_rng(20)
    studies = 200
    false_any = {"pairs": 0, "best": 0, "ungated": 0}
    for _ in range(studies):
        data = scores(simulate(np.zeros(20), 5, rng))
        for family in ("pairs", "best"):
            result = compare(data, lower_is_better=False, family=family, wilcoxon=False)
            false_any[family] += bool(result.worse)
            if family == "best":
                false_any["ungated"] += bool(len(result.table)) and bool(
                    ((result.table["p"] < ALPHA) & (result.table["diff"] < 0)).any()
                )
    slack = stats.binom.ppf(0.99, studies, ALPHA)  # 99 % of studies at rate alpha stay under this
    assert false_any["pairs"] <= slack, false_any
    assert false_any["best"] <= slack, false_any
    low, high = stats.binomtest(false_any["ungated"], studies).proportion_ci(0.99)
    assert low > ALPHA and low <= 0.17 <= high, false_any  # the gate is what keeps it at alpha


def test_a_two_sd_difference_is_found_at_ten_seeds():
    rng = np.random.default_rng(21)
    studies = 200
    found = 0
    for _ in range(studies):
        result = compare(scores(simulate([0.0, -2.0], 10, rng)), lower_is_better=False)
        found += result.worse == ["p1"] and result.best == "p0"
    assert found / studies >= 0.8, found


def test_repeats_to_separate_gives_the_power_it_claims():
    """At the n it returns, a brute-force Monte-Carlo of the paired t-test (scipy's ttest_rel,
    not the code under test) reaches power 0.8, and at n - 1 it does not."""
    separation = st.repeats_to_separate(diff=0.8, sd=1.0)
    n = separation.n
    assert n == 15  # the textbook figure for d = 0.8, alpha 0.05 two-sided, power 0.8
    rng = np.random.default_rng(22)
    runs = 20_000
    for size, below in ((n, False), (n - 1, True)):
        d = rng.normal(0.8, 1.0, (runs, size))
        rejected = int(np.sum(stats.ttest_rel(d, np.zeros_like(d), axis=1).pvalue < ALPHA))
        predicted = st.paired_power(0.8, size)
        low, high = stats.binomtest(rejected, runs).proportion_ci(0.999)
        assert low <= predicted <= high, (size, rejected / runs, predicted)
        assert (predicted < 0.8) == below
    observed = st.repeats_to_separate(np.array([0.1, 0.3, 0.2, 0.4]))  # mean 0.25, sd 0.129
    assert observed.n == st.repeats_to_separate(diff=0.25, sd=np.std([0.1, 0.3, 0.2, 0.4], ddof=1)).n == 5


def test_a_race_rarely_calls_a_truly_best_point_worse():
    """Whole races (race_verdicts, the looks of race_step), 3 to 5 seeds: with every point equal,
    and with the top half equal and the rest 2 sd below, some truly best point is called worse
    in at most alpha of the studies (within the binomial slack); without the range over every
    point that entered (the quantile of the racing points only), 25 equal points go far above."""
    rng = np.random.default_rng(23)
    studies = 600
    slack = stats.binom.ppf(0.99, studies, ALPHA)
    for truth in (np.zeros(2), np.zeros(6), np.zeros(25), np.r_[np.zeros(3), np.full(3, -2.0)]):
        values = np.stack([simulate(truth, 5, rng) for _ in range(studies)])
        verdicts, _ = st.race_verdicts(values, lower_is_better=False, min_repeats=3, max_repeats=5)
        best = truth == truth.max()
        assert np.sum((verdicts[:, best] == 2).any(axis=1)) <= slack, truth


def test_a_race_stops_clear_points_early_and_finds_real_differences():
    """One best and three points d sd below, 3 to 10 seeds: a 4 sd gap is found in nearly every
    study for under half the trials of full replication; a 2 sd gap in most."""
    rng = np.random.default_rng(24)
    studies = 400
    for d, power, trials in ((4.0, 0.97, 0.5), (2.0, 0.9, 0.8)):
        values = np.stack([simulate([0.0, -d, -d, -d], 10, rng) for _ in range(studies)])
        verdicts, seeds = st.race_verdicts(values, lower_is_better=False)
        assert np.mean(verdicts[:, 1:] == 2) >= power, d
        assert np.mean(verdicts[:, 0] == 0) >= power, d  # the true best leads
        assert seeds.sum() / values[..., :10].size <= trials, d


def test_race_step_plays_the_race_of_race_verdicts():
    """race_step round by round, seeing only the seeds it asks for, reaches race_verdicts'
    verdicts with the same trials; its comparison holds those verdicts."""
    truth = [0.0, -0.5, -3.0, -8.0]
    labels = [f"p{i}" for i in range(len(truth))]
    rng = np.random.default_rng(25)
    codes = {0: "best", 1: "tie", 2: "worse"}
    for _ in range(12):
        values = simulate(truth, 10, rng)
        verdicts, seeds = st.race_verdicts(values, lower_is_better=False)
        ran = np.zeros(values.shape, dtype=bool)
        while not (step := race_step(scores(values, ran=ran), labels, lower_is_better=False)).done:
            assert not ran[[labels.index(p) for p in step.points], step.seed].any()  # only new trials
            ran[[labels.index(p) for p in step.points], step.seed] = True
        assert (ran.sum(axis=1) == seeds[0]).all()
        table = step.comparison.table
        assert [table.loc[p, "verdict"] for p in labels] == [codes[int(v)] for v in verdicts[0]]


# --- the comparison: values a reader can check ---------------------------------------------


def test_summary_and_comparison_match_scipy():
    data = frame(
        {"a": [0.50, 0.52, 0.51, 0.53], "b": [0.55, 0.56, 0.555, 0.565], "c": [0.40, 0.41, 0.39, 0.42]}
    )
    result = compare(data, lower_is_better=False)
    table = result.frame()
    assert result.best == "b" and list(table.index) == ["b", "a", "c"]
    assert list(table.columns) == list(st.COLUMNS)
    a = np.array([0.50, 0.52, 0.51, 0.53])
    b = np.array([0.55, 0.56, 0.555, 0.565])
    row = table.loc["a"]
    assert (
        row["n"] == 4
        and row["mean"] == pytest.approx(a.mean())
        and row["std"] == pytest.approx(a.std(ddof=1))
    )
    interval = stats.ttest_1samp(a, 0).confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((interval.low, interval.high))
    paired = stats.ttest_rel(a, b)
    assert row["diff"] == pytest.approx((a - b).mean())
    assert (row["diff_low"], row["diff_high"]) == pytest.approx(tuple(paired.confidence_interval(0.95)))
    assert row["p_raw"] == pytest.approx(paired.pvalue)
    assert row["p_wilcoxon_raw"] == pytest.approx(stats.wilcoxon(a - b).pvalue)
    raw = table.loc[["a", "c"], "p_raw"].to_numpy()
    assert table.loc[["a", "c"], "p"].to_numpy() == pytest.approx(st.holm(raw))
    assert table.loc["b", "verdict"] == "best" and np.isnan(table.loc["b", "p"])


def test_holm_step_down_by_hand():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> kept monotone: 0.06
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = st.holm([0.2, math.nan, 0.01])  # NaN: not tested, not counted
    assert (
        adjusted[0] == pytest.approx(0.2) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)
    )
    assert st.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 0.8 * 2 capped at 1; then never lower
    assert len(st.holm([])) == 0


def test_the_verdict_in_words():
    data = frame(
        {
            "c1=90 c2=40": [0.560, 0.555, 0.562, 0.558, 0.561],
            "c1=70 c2=100": [0.561, 0.550, 0.559, 0.552, 0.560],
            "c1=90 c2=60": [0.556, 0.558, 0.561, 0.550, 0.562],
            "c1=10 c2=20": [0.500, 0.497, 0.503, 0.499, 0.502],
            "c1=30 c2=20": [0.510, 0.509, 0.514, 0.511, 0.512],
            "c1=50 c2=20": [0.520, 0.518, 0.524, 0.521, 0.522],
            "c1=10 c2=40": [0.505, 0.503, 0.509, 0.506, 0.507],
        }
    )
    result = compare(data, lower_is_better=False)
    assert result.verdict.startswith(
        "best: c1=90 c2=40 0.559 ± 0.003 (n=5); not distinguishable from it at α=0.05: "
    )
    assert result.ties == ["c1=90 c2=60", "c1=70 c2=100"]
    assert "c1=90 c2=60 (p=" in result.verdict and result.verdict.endswith("; all others worse")
    assert "± = 95 % CI of the mean" in result.legend
    assert "Wilcoxon check cannot reject with so few seeds (it needs 8 that differ)" in result.legend
    assert result.separation.n > 5 and "seeds per point would separate c1=90 c2=40 from" in result.text()

    few = compare(data[data.point.isin(["c1=90 c2=40", "c1=70 c2=100", "c1=10 c2=20"])], False)
    assert few.verdict.endswith("; worse: c1=10 c2=20 (p<0.001)")
    none = compare(data[data.point.isin(["c1=90 c2=40", "c1=70 c2=100"])], False)
    assert none.verdict.endswith("; no other point is worse")
    apart = compare(data[data.point.isin(["c1=90 c2=40", "c1=10 c2=20", "c1=30 c2=20"])], False)
    assert apart.verdict == "best: c1=90 c2=40 0.559 ± 0.003 (n=5); all 2 others worse at α=0.05"
    alone = compare(data[data.point == "c1=90 c2=40"], False)
    assert alone.verdict.endswith("; the only point") and alone.separation is None


def test_one_seed_per_point_is_unverified():
    data = frame({"a": [0.5], "b": [0.6], "c": [0.4]})
    command = "rnnstudy optimize studies/x.py --repeats 5"
    result = compare(data, lower_is_better=False, verify_command=command)
    assert not result.verified and result.best == "b"
    assert result.verdict == (
        "best: b 0.6 (n=1); ranking unverified (one seed per point, so no difference can be tested); "
        f"verify with: {command}"
    )
    assert set(result.table["verdict"]) == {"best", "tie"} and result.table["p"].isna().all()
    assert result.table.loc["b", ["ci_low", "ci_high", "std"]].isna().all()
    assert "more seeds" in compare(data, lower_is_better=False).verdict  # no command: how, in words
    assert result.lines() == [result.verdict, result.legend]  # no repeats figure from one seed


def test_equal_values_tie():
    data = frame({"a": [0.5, 0.6, 0.7], "b": [0.5, 0.6, 0.7], "c": [0.5, 0.6, 0.7]})
    result = compare(data, lower_is_better=False)
    assert result.best == "a"  # equal means: the first
    assert result.ties == ["b", "c"]
    row = result.table.loc["b"]
    assert (row["diff"], row["diff_low"], row["diff_high"], row["p"], row["p_wilcoxon"]) == (0, 0, 0, 1, 1)
    assert result.separation.n is None and "the observed difference is 0" in result.text()
    flat = compare(frame({"a": [0.5, 0.5], "b": [0.4, 0.4]}), lower_is_better=False)
    assert flat.table.loc["a", "ci_low"] == flat.table.loc["a", "ci_high"] == 0.5  # no spread
    assert flat.worse == ["b"] and flat.table.loc["b", "p"] == 0  # always 0.1 apart: separated
    assert flat.separation.n == 2


def test_a_missing_seed_pairs_on_the_common_seeds():
    data = frame({"a": [0.60, 0.62, 0.61, 0.63, 0.64], "b": [0.50, None, 0.52, 0.51, 0.55]})
    result = compare(data, lower_is_better=False)
    row = result.table.loc["b"]
    assert row["n"] == 4 and row["pairs"] == 4
    a, b = np.array([0.60, 0.61, 0.63, 0.64]), np.array([0.50, 0.52, 0.51, 0.55])
    assert row["diff"] == pytest.approx((b - a).mean())
    assert row["p_raw"] == pytest.approx(stats.ttest_rel(b, a).pvalue)
    failed = frame({"a": [0.60, 0.62, 0.61], "b": [0.50, math.nan, 0.52], "c": [math.nan, math.nan]})
    result = compare(failed, lower_is_better=False)  # NaN: a failed trial, no score
    assert result.table.loc["b", "n"] == 2 and "c" not in result.table.index


def test_lower_is_better():
    data = frame(
        {"loss a": [1.0, 1.1, 0.9, 1.05], "loss b": [0.5, 0.6, 0.45, 0.55], "loss c": [0.52, 0.58, 0.5, 0.56]}
    )
    result = compare(data, lower_is_better=True)
    assert result.best == "loss b" and list(result.table.index) == ["loss b", "loss c", "loss a"]
    assert result.worse == ["loss a"] and result.table.loc["loss a", "diff"] > 0
    assert result.ties == ["loss c"]
    assert compare(data, lower_is_better=False).best == "loss a"


def test_wilcoxon_flags_an_outlier_seed():
    """13 seeds where the point beats the best by 1 and one seed where it loses by 42: the
    outlier makes its mean worse but the t-test cannot call it (p 0.5); Wilcoxon, on ranks,
    says the point is different (p 0.01): flagged."""
    n = 14
    best = np.linspace(0.0, 1.0, n)
    d = np.r_[-1.0 + np.linspace(-0.2, 0.2, n - 1), 3.0 * n]
    data = frame({"best": list(best), "other": list(best + d)})
    result = compare(data, lower_is_better=True)
    assert result.best == "best" and result.ties == ["other"]
    assert result.disagreements == ["other"]
    assert "Wilcoxon disagrees on: other (t p=0.51, Wilcoxon p=0.01)" in result.verdict
    assert "Wilcoxon signed-rank = the same test without assuming normality" in result.legend


def test_the_best_can_be_named():
    data = frame({"a": [0.5, 0.6, 0.7], "b": [0.55, 0.61, 0.72]})
    assert compare(data, False).best == "b"
    named = compare(data, False, best="a")
    assert named.best == "a" and named.table.loc["b", "diff"] > 0
    with pytest.raises(StatisticsError, match="best point z has no scores"):
        compare(data, False, best="z")


def test_family_pairs_counts_every_pair():
    data = frame({p: list(np.arange(4) + k * 0.1) for k, p in enumerate("abcd")})
    result = compare(data, lower_is_better=False, family="pairs")
    assert result.tested == 6 and "every pair of the 4 points (6 tests)" in result.legend


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pd.DataFrame({"point": ["a"], "value": [1.0]}), "missing: seed"),
        (
            pd.DataFrame({"point": ["a", "a"], "seed": [0, 0], "value": [1.0, 2.0]}),
            "point a has seed 0 more than once",
        ),
        (pd.DataFrame({"point": ["a"], "seed": [0.5], "value": [1.0]}), "whole number"),
        (
            pd.DataFrame({"point": ["a"], "seed": [0], "value": ["x"]}),
            "whole number and every value a number",
        ),
        (pd.DataFrame({"point": ["a"], "seed": [0], "value": [math.nan]}), "every value is missing"),
    ],
)
def test_bad_scores(data, message):
    with pytest.raises(StatisticsError, match=message) as error:
        compare(data, lower_is_better=False)
    assert isinstance(error.value, RnnstudyError) and "\n" not in str(error.value)


def test_bad_settings():
    data = frame({"a": [1.0, 2.0]})
    with pytest.raises(StatisticsError, match="alpha must lie between 0 and 1"):
        compare(data, False, alpha=1.5)
    with pytest.raises(StatisticsError, match="family must be one of best, pairs"):
        compare(data, False, family="all")
    with pytest.raises(StatisticsError, match="needs the differences"):
        st.repeats_to_separate()


def test_repeats_to_separate_limits():
    assert st.repeats_to_separate(diff=1.0, sd=1.0).n == 10
    assert st.repeats_to_separate(diff=-1.0, sd=1.0).n == 10  # the sign does not matter
    assert st.repeats_to_separate(diff=1.0, sd=0.0).n == 2
    zero = st.repeats_to_separate(diff=0.0, sd=1.0)
    assert zero.n is None and "the observed difference is 0" in zero.text()
    tiny = st.repeats_to_separate(diff=0.001, sd=1.0)
    assert tiny.n is None and tiny.beyond and "more than 10,000 seeds" in tiny.text("a", "b")
    assert st.repeats_to_separate([0.3]).why == "fewer than two common seeds"
    assert st.repeats_to_separate(diff=0.03, sd=1.0).n == 8723  # far out: nct's NaN tails handled


# --- racing --------------------------------------------------------------------------------


def _race(values, labels, **settings):
    """Run a race to its end on a points x seeds matrix; the steps taken and what ran."""
    ran = np.zeros(values.shape, dtype=bool)
    steps = []
    while not (
        step := race_step(scores(values, labels, ran), labels, lower_is_better=False, **settings)
    ).done:
        steps.append(step)
        ran[[labels.index(p) for p in step.points], step.seed] = True
    return steps, step, ran


def test_race_rounds_and_reasons():
    """A near tie and two far points: the far ones are worse and the near one settles as a tie
    at the first look (3 seeds): more seeds would not separate it, so the race stops there."""
    labels = ["best", "near", "far", "farther"]
    values = simulate([0.0, 0.0, -8.0, -12.0], 10, np.random.default_rng(30))
    values[1] = values[0] + np.tile([0.5, -0.5], 5) - 0.01  # near: never told apart from best
    steps, end, ran = _race(values, labels)
    assert [s.seed for s in steps] == [0, 1, 2] and all(s.points == labels for s in steps)
    assert steps[0].reason == "every point gets 3 seeds first: adding seed 0 to 4 points"
    assert steps[0].comparison is None
    assert end.done and end.seed is None and (ran.sum(axis=1) == 3).all()
    assert end.reason == (
        f"the race is over: {end.leader} leads; 2 points worse, 1 point settled as a tie "
        "(more seeds would not separate it)"
    )
    result = end.comparison
    assert set(result.ties) == {"best", "near"} - {result.best}
    assert set(result.worse) == {"far", "farther"}
    assert (result.table.loc[["far", "farther"], "p"] < 0.02).all()  # the first look's level
    assert "p = the race's test against the leader" in result.legend and "3 seeds 0.02" in result.legend
    assert "paired t-test" not in result.legend


def test_race_ends_when_every_rival_is_worse():
    labels = ["a", "b", "c"]
    values = simulate([0.0, -20.0, -25.0], 10, np.random.default_rng(31))
    steps, end, ran = _race(values, labels)
    assert end.reason == "the race is over: a leads; every other point is worse"
    assert ran.sum() < values.size / 2
    assert end.comparison.best == "a" and end.comparison.worse == ["b", "c"]


def test_race_finishes_a_resumed_round():
    labels = ["a", "b", "c"]
    values = simulate([0.0, -1.5, -2.0], 10, np.random.default_rng(32))
    ran = np.zeros(values.shape, dtype=bool)
    ran[:, :4] = True  # seeds 0-3 for everyone: nothing is decided, so all get seed 4 ...
    whole = race_step(scores(values, labels, ran), labels, lower_is_better=False)
    assert whole.seed == 4 and set(whole.points) == set(labels)
    ran[labels.index(whole.leader), 4] = True  # ... but the study stopped after the leader's
    step = race_step(scores(values, labels, ran), labels, lower_is_better=False)
    assert step.seed == 4 and set(step.points) == set(labels) - {whole.leader}
    assert step.reason.startswith("finishing the round of seed 4: 2 points that tied with the leader")


def test_a_failed_trial_counts_as_run():
    labels = ["a", "b"]
    values = simulate([0.0, -0.1], 10, np.random.default_rng(33))
    values[1, 1] = math.nan  # seed 1 of b failed
    ran = np.zeros(values.shape, dtype=bool)
    ran[:, :3] = True
    step = race_step(scores(values, labels, ran), labels, lower_is_better=False)
    assert step.seed == 3 and set(step.points) == {"a", "b"}  # not seed 1 again


def test_race_with_one_seed_first():
    labels = ["a", "b"]
    values = simulate([0.0, -0.1], 4, np.random.default_rng(34))
    first = race_step(scores(values, labels, np.zeros((2, 4), dtype=bool)), labels, False, min_repeats=1)
    assert first.seed == 0 and first.points == labels
    ran = np.zeros((2, 4), dtype=bool)
    ran[:, 0] = True
    second = race_step(scores(values, labels, ran), labels, False, min_repeats=1, max_repeats=4)
    assert second.seed == 1 and set(second.points) == {"a", "b"}  # one seed tests nothing: all tie


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_repeats": 0}, r"min_repeats must be at least 1, not 0 \(2 is the least that tests anything\)"),
        ({"min_repeats": 5, "max_repeats": 4}, r"min_repeats \(5\) must not exceed max_repeats \(4\)"),
        ({"min_repeats": 2.5}, "min_repeats must be a whole number, not 2.5"),
        ({"max_repeats": True}, "max_repeats must be a whole number"),
        ({"alpha": 1.5}, "alpha must lie between 0 and 1"),
    ],
)
def test_bad_race_settings(settings, message):
    with pytest.raises(StatisticsError, match=message):
        race_step(frame({"a": [1.0]}), ["a"], False, **settings)


def test_bad_race_points():
    with pytest.raises(StatisticsError, match="scores for points outside the race: z"):
        race_step(frame({"a": [1.0], "z": [2.0]}), ["a"], False)
    with pytest.raises(StatisticsError, match="at least one point"):
        race_step(frame({}), [], False)
    start = race_step(pd.DataFrame(columns=["point", "seed", "value"]), ["a", "b"], False)
    assert start.points == ["a", "b"] and start.seed == 0  # nothing run yet


def test_formatting():
    assert st.mean_pm(0.5593, 0.5553, 0.5633) == "0.559 ± 0.004"
    assert st.mean_pm(0.5593, 0.5581, 0.5605) == "0.5593 ± 0.0012"  # two digits for a leading 1
    assert st.mean_pm(12.34, math.nan, math.nan) == "12.34"
    assert st.format_p(0.2134) == "0.21" and st.format_p(0.0042) == "0.004" and st.format_p(1e-5) == "<0.001"
    assert st.format_p(math.nan) == "untested"
