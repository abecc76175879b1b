"""The front of several objectives over seeds, on fake grids whose truth is known.

A fake grid: each point's parameter count is known and deterministic (the same on every seed),
its accuracy is a known truth + a seed effect shared by every point of that seed + the point's
own Gaussian noise. The Monte Carlo studies use noise in units of the paired differences' sd,
as tests/test_statistics.py does; each draws from numpy's default_rng with a fixed seed, and
the assertions allow the binomial slack of the number of studies (scipy.stats.binom).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rnnstudy.errors import RnnstudyError
from rnnstudy.stats import Front, StatisticsError, holm, pareto

ALPHA = 0.05
OBJECTIVES = {"val_accuracy": False, "params": True}

# point: (params, true accuracy); u=48 is made from u=32's scores, below
GRID = {
    "u=8": (100, 0.70),
    "u=16": (400, 0.80),
    "u=32": (1600, 0.85),
    "u=64": (6400, 0.86),
    "u=64 lr=1": (6400, 0.60),  # as big as u=64, far worse: below every smaller point
    "u=32 drop": (1600, 0.78),  # below u=32 (same size) and u=16 (smaller), not below u=8
}
TRUE_FRONT = {"u=8", "u=16", "u=32", "u=64"}
NEAR = np.array([-0.004, 0.003, -0.002, 0.001, -0.003])  # u=48 - u=32 per seed: mean -0.001


def grid(seeds: int = 5, rng_seed: int = 0) -> pd.DataFrame:
    """The fake grid's scores; u=48 (more params than u=32) is u=32 plus NEAR: behind it by the
    means, well within the noise."""
    rng = np.random.default_rng(rng_seed)
    shared = rng.normal(0, 0.01, seeds)
    accuracy = {p: acc + shared + rng.normal(0, 0.003, seeds) for p, (_, acc) in GRID.items()}
    accuracy["u=48"] = accuracy["u=32"] + NEAR[:seeds]
    params = {p: size for p, (size, _) in GRID.items()} | {"u=48": 3600}
    return pd.DataFrame(
        [(p, s, accuracy[p][s], params[p]) for p in accuracy for s in range(seeds)],
        columns=["point", "seed", "val_accuracy", "params"],
    )


def plain_pareto_set(data: pd.DataFrame, objectives: dict[str, bool]) -> set:
    """The Pareto set of the means, by brute force."""
    means = data.groupby("point")[list(objectives)].mean()
    good = means * [-1.0 if lower else 1.0 for lower in objectives.values()]
    return {
        p
        for p in good.index
        if not any(
            (good.loc[q] >= good.loc[p]).all() and (good.loc[q] > good.loc[p]).any() for q in good.index
        )
    }


# --- the fake grid -------------------------------------------------------------------------


def test_the_grid_front_the_dominated_and_the_undecided():
    front = pareto(grid(), OBJECTIVES)
    assert isinstance(front, Front) and front.verified
    assert set(front.front) == TRUE_FRONT
    table = front.table
    assert set(table.loc["u=32 drop", "dominated_by"]) == {"u=16", "u=32"}  # u=8 is smaller but worse
    # every point no bigger and better dominates it, u=48 and u=32 drop included
    assert set(table.loc["u=64 lr=1", "dominated_by"]) == set(front.table.index) - {"u=64 lr=1"}
    assert front.dominated == ["u=32 drop", "u=64 lr=1"]
    # u=48 is behind u=32 by the means (more params, lower mean accuracy) but not significantly
    assert front.possibly == ["u=48"]
    assert table.loc["u=48", "behind"] == ("u=32",) and table.loc["u=48", "dominated_by"] == ()
    assert table.loc["u=48", "p"] >= ALPHA > table.loc["u=32 drop", "p"]
    assert front.levels == "front: u=64, u=32, u=16, u=8"  # best accuracy first
    assert front.exact == ["params"] and front.tested > 0


def test_the_table_has_mean_and_interval_per_objective():
    data = grid()
    table = pareto(data, OBJECTIVES).frame()
    assert list(table.columns) == [
        "n",
        "val_accuracy",
        "val_accuracy_low",
        "val_accuracy_high",
        "params",
        "params_low",
        "params_high",
        "status",
        "dominated_by",
        "behind",
        "p",
    ]
    u16 = data[data["point"] == "u=16"]["val_accuracy"]
    low, high = stats.t.interval(0.95, df=4, loc=u16.mean(), scale=stats.sem(u16))
    assert table.loc[
        "u=16", ["val_accuracy", "val_accuracy_low", "val_accuracy_high"]
    ].tolist() == pytest.approx([u16.mean(), low, high])
    assert (table["params_low"] == table["params"]).all() and (table["params_high"] == table["params"]).all()
    assert (table["n"] == 5).all() and table.attrs["objectives"] == OBJECTIVES


def test_the_verdict_in_words():
    front = pareto(grid(), OBJECTIVES)
    verdict, legend = front.lines()
    assert front.text() == f"{verdict}\n{legend}"
    assert verdict.startswith("front: u=64 (val_accuracy 0.86")
    assert "params 6400)" in verdict and "±" in verdict
    assert "possibly on the front (the seeds cannot tell at α=0.05): u=48 (behind u=32; p=" in verdict
    assert "dominated: u=32 drop (by u=16, u=32), u=64 lr=1 (by " in verdict
    assert "unverified" not in verdict
    assert "one-sided paired t-test" in legend and f"Holm-corrected over the {front.tested} tests" in legend
    assert "one value on every seed (params)" in legend and "at most 0.05" in legend


def test_directions_are_respected():
    data = grid()
    as_loss = data.assign(val_loss=1 - data["val_accuracy"]).drop(columns="val_accuracy")
    loss = pareto(as_loss, {"val_loss": True, "params": True})
    accuracy = pareto(data, OBJECTIVES)
    assert loss.front == accuracy.front and loss.dominated == accuracy.dominated
    # parameters wrongly counted as a gain: u=64 is biggest and best, so it dominates every point
    bigger = pareto(data, {"val_accuracy": False, "params": False})
    assert bigger.front == ["u=64"]
    assert set(bigger.dominated) == set(data["point"]) - {"u=64"}
    assert bigger.table.loc["u=64 lr=1", "dominated_by"] == ("u=64",)  # same size, far worse


def test_one_seed_is_the_plain_pareto_set_unverified():
    data = grid()
    first = data[data["seed"] == 0]
    front = pareto(first, OBJECTIVES)
    assert set(front.front) == plain_pareto_set(first, OBJECTIVES)
    assert not front.verified and front.tested == 0 and front.dominated == []
    assert set(front.possibly) == set(first["point"]) - set(front.front)  # the seeds cannot tell
    assert "front (unverified: one seed per point" in front.verdict
    assert "off it by the means: " in front.verdict and "--repeats 5" in front.verdict
    assert "no domination judged" in front.legend
    named = pareto(first, OBJECTIVES, verify_command="rnnstudy optimize s.py --repeats 5")
    assert named.verdict.endswith("verify with: rnnstudy optimize s.py --repeats 5")


def test_deterministic_objectives_need_no_test():
    """Two objectives that never vary over seeds: every domination is exact (no test, p 0)."""
    data = pd.DataFrame(
        [
            (p, s, params, flops)
            for p, params, flops in (("a", 10, 5), ("b", 20, 5), ("c", 5, 9))
            for s in (0, 1)
        ],
        columns=["point", "seed", "params", "flops"],
    )
    front = pareto(data, {"params": True, "flops": True})
    assert front.verified and front.tested == 0 and front.exact == ["params", "flops"]
    assert set(front.front) == {"a", "c"} and front.dominated == ["b"]
    assert front.table.loc["b", "dominated_by"] == ("a",) and front.table.loc["b", "p"] == 0
    apart = pareto(data[data["point"] != "b"], {"params": True, "flops": True})  # a trade-off, exactly
    assert apart.verified and set(apart.front) == {"a", "c"} and "unverified" not in apart.verdict


def test_a_point_without_a_score_on_an_objective_is_left_out():
    data = grid()
    data.loc[data["point"] == "u=8", "params"] = math.nan  # every u=8 trial failed to log it
    front = pareto(data, OBJECTIVES)
    assert front.left_out == ["u=8"] and "u=8" not in front.table.index
    assert "left out (no score on some objective): u=8" in front.verdict


# --- the error rate, measured --------------------------------------------------------------

NOISE = 2**-0.5  # each point's own noise: the paired differences have sd 1
SEED_EFFECT = 1.0


def simulate(truth, seeds: int, rng) -> np.ndarray:
    truth = np.asarray(truth, dtype=float)
    return truth[:, None] + rng.normal(0, SEED_EFFECT, seeds) + rng.normal(0, NOISE, (len(truth), seeds))


def long_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The scores of points x seeds matrices, one per objective."""
    k, n = next(iter(columns.values())).shape
    point, seed = np.repeat([f"p{i}" for i in range(k)], n), np.tile(np.arange(n), k)
    return pd.DataFrame({"point": point, "seed": seed} | {c: m.ravel() for c, m in columns.items()})


def lenient_calls_b_dominated(acc: np.ndarray, cost: np.ndarray) -> bool:
    """The rule that assumes "at least as good" (A, row 0, dominates B, row 1, unless B is
    significantly better somewhere): two-sided paired t-tests, Holm over the two objectives."""
    p = holm([stats.ttest_rel(acc[0], acc[1]).pvalue, stats.ttest_rel(cost[0], cost[1]).pvalue])
    b_better = [
        p[0] < ALPHA and acc[1].mean() > acc[0].mean(),
        p[1] < ALPHA and cost[1].mean() < cost[0].mean(),
    ]
    a_better = [
        p[0] < ALPHA and acc[0].mean() > acc[1].mean(),
        p[1] < ALPHA and cost[0].mean() < cost[1].mean(),
    ]
    return not any(b_better) and any(a_better)


def test_a_point_truly_on_the_front_is_rarely_called_dominated():
    """At 5 seeds, how often is ANY point truly on the front called dominated? At or below alpha
    (within the slack of the studies) on three truths where every point is on the true front
    (a truly dominated one is there in the last, to be called or not):

    - five points equal on two noisy objectives;
    - a trade-off on two noisy objectives: each point 2 sd better on accuracy and 0.2 sd worse
      on cost than the one before;
    - params exact (100, 200, 400, 800), accuracy 0.3 sd better per doubling, and a point as big
      as the largest and 3 sd worse.

    And the lenient rule, on two points of the trade-off 3 sd and 0.2 sd apart, calls the one
    truly on the front dominated in most studies: why "at least as good" must be shown."""
    rng = np.random.default_rng(26)
    studies = 200
    slack = stats.binom.ppf(0.99, studies, ALPHA)
    noisy = {"acc": False, "cost": True}
    ladder = np.arange(4.0)
    truths = {
        "equal": (np.zeros(5), np.zeros(5), None, 5),
        "trade-off": (2.0 * ladder, 0.2 * ladder, None, 4),
        "exact params": (np.r_[0.3 * ladder, -3.0], None, np.r_[100, 200, 400, 800, 800], 4),
    }
    for name, (acc_truth, cost_truth, params, on_front) in truths.items():
        false_calls = 0
        for _ in range(studies):
            acc = simulate(acc_truth, 5, rng)
            if params is None:
                data, objectives = long_frame({"acc": acc, "cost": simulate(cost_truth, 5, rng)}), noisy
            else:
                exact = np.repeat(params[:, None], 5, axis=1).astype(float)
                data, objectives = long_frame({"acc": acc, "params": exact}), {"acc": False, "params": True}
            front = pareto(data, objectives)
            false_calls += bool(set(front.dominated) & {f"p{i}" for i in range(on_front)})
        assert false_calls <= slack, (name, false_calls / studies)

    strict = lenient = 0
    for _ in range(studies):
        acc, cost = simulate([0.0, -3.0], 5, rng), simulate([0.2, 0.0], 5, rng)  # p1 on the front
        strict += "p1" in pareto(long_frame({"acc": acc, "cost": cost}), noisy).dominated
        lenient += lenient_calls_b_dominated(acc, cost)
    assert strict <= slack and lenient / studies > 0.5, (strict, lenient)


def test_a_clear_domination_is_found():
    """The power side, 5 seeds: a ladder 4 sd apart on two noisy objectives (p0..p3, each better
    on accuracy and worse on cost than the one before) and p4, 4 sd worse than p2 on both. p2
    dominates it; so do p1 (as accurate, cheaper) and p3 (as costly, more accurate) in truth,
    but their equal objective cannot be shown at least as good: p4 is called dominated by p2
    alone in most studies."""
    rng = np.random.default_rng(27)
    studies, found = 100, 0
    for _ in range(studies):
        acc = simulate(np.r_[4.0 * np.arange(4.0), 8.0 - 4.0], 5, rng)
        cost = simulate(np.r_[4.0 * np.arange(4.0), 8.0 + 4.0], 5, rng)
        front = pareto(long_frame({"acc": acc, "cost": cost}), {"acc": False, "cost": True})
        found += front.table.loc["p4", "dominated_by"] == ("p2",)
    assert found / studies >= 0.8, found


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("objectives", "data", "message"),
    [
        (OBJECTIVES, grid().drop(columns="params"), "one per objective; missing: params"),
        ([("val_accuracy", False), ("val_accuracy", False)], grid(), "objective val_accuracy is given twice"),
        ({"val_accuracy": False}, grid(), r"two or more objectives, not 1 \(val_accuracy\)"),
        ({}, grid(), r"two or more objectives, not 0 \(none\)"),
        ({"val_accuracy": "max", "params": True}, grid(), "lower_is_better must be True or False, not 'max'"),
        ({"val_accuracy": False, "seed": True}, grid(), "cannot be named 'seed'"),
        (["val_accuracy", "params"], grid(), r"a \(name, lower_is_better\) pair, not 'val_accuracy'"),
        (OBJECTIVES, grid().assign(params="big"), "objective params: every value must be a number"),
        (OBJECTIVES, pd.concat([grid(), grid().head(1)]), "point u=8 has seed 0 more than once"),
        (OBJECTIVES, grid().assign(params=math.nan), "every point lacks a score on some objective"),
    ],
)
def test_bad_input(objectives, data, message):
    with pytest.raises(StatisticsError, match=message) as error:
        pareto(data, objectives)
    assert isinstance(error.value, RnnstudyError) and "\n" not in str(error.value)


def test_bad_alpha():
    with pytest.raises(StatisticsError, match="alpha must lie between 0 and 1, not 0"):
        pareto(grid(), OBJECTIVES, alpha=0)
