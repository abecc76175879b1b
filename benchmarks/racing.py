"""Monte Carlo of the race (``--repeats adaptive``) on synthetic studies with known truth.

A study: every point's score on a seed is its true value + a seed effect shared by every point
(sd 1) + the point's own noise (sd 1/sqrt(2)), so the paired differences have sd 1 ("2 sd"
below means a true difference of twice that). Each race sees only the seeds it asks for
(rnnstudy.stats.race_verdicts, the same looks as race_step). The old rule (two-sided paired
t-tests against the leader, Holm over the rivals, alpha/(max-min) per look, alpha at the last)
runs beside it, vectorised here.

Printed: the family-wise rate of calling a truly best point worse (all points equal, and half
of them 2 sd below), the power against a 1, 2 and 4 sd difference, and the trials as a fraction
of full replication at max_repeats.

    python benchmarks/racing.py            # the full table (about 10 minutes on one core)
    python benchmarks/racing.py --quick    # every path, small (about a minute)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from rnnstudy.stats import race_verdicts
from rnnstudy.stats._racing import WORSE

ALPHA = 0.05
NOISE = 2**-0.5


def simulate(truth, studies: int, seeds: int, rng) -> np.ndarray:
    truth = np.asarray(truth, dtype=float)
    shared = rng.normal(0, 1, (studies, 1, seeds))
    return truth[None, :, None] + shared + rng.normal(0, NOISE, (studies, len(truth), seeds))


def old_rule(values: np.ndarray, min_repeats: int, max_repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """The rule this one replaced (higher is better): verdicts (WORSE or not) and seeds run."""
    studies, k, _ = values.shape
    looks = max_repeats - min_repeats
    racing = np.ones((studies, k), dtype=bool)
    worse = np.zeros((studies, k), dtype=bool)
    seeds = np.full((studies, k), min_repeats)
    for n in range(max(min_repeats, 2), max_repeats + 1):
        seeds[racing] = n
        level = ALPHA if n >= max_repeats or looks < 1 else ALPHA / looks
        v = values[:, :, :n]
        leader = np.argmax(np.where(racing, v.mean(axis=2), -np.inf), axis=1)
        best = v[np.arange(studies), leader][:, None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            p = stats.ttest_rel(v, np.broadcast_to(best, v.shape), axis=2).pvalue
        rival = racing & (np.arange(k) != leader[:, None])
        p = np.where(rival, p, np.nan)
        adjusted = np.full(p.shape, np.nan)  # Holm over each study's rivals
        m = rival.sum(axis=1)
        order = np.argsort(np.where(rival, p, np.inf), axis=1)
        ranked = np.take_along_axis(p, order, axis=1)
        steps = np.maximum.accumulate(np.nan_to_num((m[:, None] - np.arange(k)) * ranked, nan=0), axis=1)
        np.put_along_axis(adjusted, order, np.minimum(steps, 1), axis=1)
        dropped = rival & (adjusted < level)
        worse |= dropped
        racing &= ~dropped
        ties = racing & (np.arange(k) != leader[:, None])
        racing[~ties.any(axis=1) | (n >= max_repeats)] = False
    return np.where(worse, WORSE, 1), seeds


def run(rule: str, truth, min_repeats: int, max_repeats: int, studies: int, rng):
    values = simulate(truth, studies, max_repeats, rng)
    if rule == "new":
        return race_verdicts(values, lower_is_better=False, min_repeats=min_repeats, max_repeats=max_repeats)
    return old_rule(values, min_repeats, max_repeats)


def fwer(verdicts: np.ndarray, truth) -> float:
    best = np.flatnonzero(np.asarray(truth) == max(truth))
    return float(np.mean((verdicts[:, best] == WORSE).any(axis=1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small: every path in about a minute")
    parser.add_argument("--studies", type=int, default=None)
    args = parser.parse_args()
    studies = args.studies or (400 if args.quick else 4000)
    configs = (
        [(2, 3), (3, 5), (3, 10)] if args.quick else [(2, 3), (3, 3), (3, 4), (3, 5), (3, 6), (3, 8), (3, 10)]
    )
    sizes = [2, 6, 25] if args.quick else [2, 3, 4, 6, 10, 25]
    rng = np.random.default_rng(2026_12_07)
    start = time.time()
    print(f"racing Monte Carlo: {studies} studies per cell, alpha {ALPHA}, paired differences sd 1")
    print("\nFWER: share of studies calling some truly best point worse (new / old rule)")
    print("  equal: every point equal; half: the top half equal, the rest 2 sd below")
    print(f"{'min-max':>8} {'k':>3} {'equal new':>10} {'old':>6} {'half new':>9} {'old':>6}")
    worst = {"new": (0.0, ""), "old": (0.0, "")}
    for low, high in configs:
        for k in sizes:
            cells = []
            for truth in (np.zeros(k), np.where(np.arange(k) < max(k // 2, 1), 0.0, -2.0)):
                for rule in ("new", "old"):
                    rate = fwer(run(rule, truth, low, high, studies, rng)[0], truth)
                    cells.append(rate)
                    if rate > worst[rule][0]:
                        worst[rule] = (rate, f"{low}-{high} seeds, k={k}")
            print(
                f"{low:>4}-{high:<3} {k:>3} {cells[0]:>10.3f} {cells[1]:>6.3f} {cells[2]:>9.3f} {cells[3]:>6.3f}"
            )
    for rule, (rate, where) in worst.items():
        print(f"worst FWER, {rule} rule: {rate:.3f} ({where})")

    print(
        "\npower: share of studies calling the point d sd below the best worse; trials: of full replication"
    )
    print(f"{'min-max':>8} {'k':>3} {'d':>3} {'power new':>10} {'old':>6} {'trials new':>11} {'old':>6}")
    for low, high in [(3, 5), (3, 10)] if args.quick else [(3, 5), (3, 6), (3, 10)]:
        for k in (2, 4):
            for d in (1, 2, 4):
                truth = np.r_[0.0, np.full(k - 1, -float(d))]
                cells = []
                for rule in ("new", "old"):
                    verdicts, seeds = run(rule, truth, low, high, studies, rng)
                    cells += [np.mean(verdicts[:, 1] == WORSE), seeds.sum(axis=1).mean() / (high * k)]
                print(
                    f"{low:>4}-{high:<3} {k:>3} {d:>3} {cells[0]:>10.3f} {cells[2]:>6.3f} {cells[1]:>11.2f} {cells[3]:>6.2f}"
                )

    print("\ntrials as a fraction of full replication")
    models = {
        "6 equal points": np.zeros(6),
        "6 levels 0.70 0.70 0.69 0.66 0.60 0.55, point sd 0.01": (
            np.array([0.70, 0.70, 0.69, 0.66, 0.60, 0.55]) / (0.01 * 2**0.5)
        ),
        "CNN-like: 0, -2, -15, -17 sd": np.array([0.0, -2.0, -15.0, -17.0]),
    }
    print(f"{'model':<55} {'min-max':>8} {'trials new':>11} {'old':>6}")
    for name, truth in models.items():
        for low, high in [(3, 5), (3, 10)]:
            cells = [
                run(rule, truth, low, high, studies, rng)[1].sum(axis=1).mean() / (high * len(truth))
                for rule in ("new", "old")
            ]
            print(f"{name:<55} {low:>4}-{high:<3} {cells[0]:>11.2f} {cells[1]:>6.2f}")
    print(f"\n{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
