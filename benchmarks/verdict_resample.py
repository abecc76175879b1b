"""How often each way of comparing reaches the reference verdict, and at how many trials:
replayed on the reference's own scores (benchmarks/cache/verdict-reference-*.json, 12 real
seeds a point, trained by benchmarks/verdict.py).

One run of benchmarks/verdict.py is one draw: whether a method agreed with the reference
there is luck as much as skill. Here each replay takes the 12 seeds in a random order (the
seed numbers are arbitrary labels; a point keeps its own score on each seed, so pairs stay
paired) and gives each method the seeds it would ask for:

- the careful alternative: the first 5 seeds of every point, ``scipy.stats.ttest_rel`` of each
  point against the best mean, Holm-corrected, alpha 0.05;
- fixed repeats N: rnnstudy's comparison (rnnstudy.stats.compare) on the first N seeds;
- the race (rnnstudy.stats.race_step) between min_repeats and max_repeats.

Printed per workload and method: the share of replays whose verdict (the best point and the
set of points called worse) is the reference's, and the mean trials against the careful one's.

    python benchmarks/verdict_resample.py            # 400 replays a method
    python benchmarks/verdict_resample.py --replays 50
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from rnnstudy import stats

CACHE = Path(__file__).parent / "cache"
CAREFUL_SEEDS = 5


def holm(p: list[float]) -> np.ndarray:
    order = np.argsort(p)
    adjusted, running = np.empty(len(p)), 0.0
    for rank, k in enumerate(order):
        running = max(running, (len(p) - rank) * p[k])
        adjusted[k] = min(1.0, running)
    return adjusted


def careful(scores: dict[str, np.ndarray]):
    first = {point: s[:CAREFUL_SEEDS] for point, s in scores.items()}
    best = max(first, key=lambda point: first[point].mean())
    others = [point for point in first if point != best]
    p = holm([scipy_stats.ttest_rel(first[best], first[o]).pvalue for o in others])
    return (best, frozenset(o for o, q in zip(others, p) if q < 0.05)), CAREFUL_SEEDS * len(scores)


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["point", "seed", "value"])


def fixed(scores: dict[str, np.ndarray], repeats: int):
    rows = [(point, seed, s[seed]) for point, s in scores.items() for seed in range(repeats)]
    comparison = stats.compare(frame(rows), lower_is_better=False)
    return (comparison.best, frozenset(comparison.worse)), len(rows)


def race(scores: dict[str, np.ndarray], low: int, high: int):
    rows, points = [], list(scores)
    while not (step := stats.race_step(frame(rows), points, False, low, high)).done:
        rows += [(point, step.seed, scores[point][step.seed]) for point in step.points]
    worse = step.comparison.frame().query("verdict == 'worse'").index
    return (step.leader, frozenset(worse)), len(rows)


METHODS = {
    "careful alternative (5 seeds, t + Holm)": careful,
    "rnnstudy --repeats 5": lambda s: fixed(s, 5),
    "rnnstudy --repeats 8": lambda s: fixed(s, 8),
    "rnnstudy race 3-5": lambda s: race(s, 3, 5),
    "rnnstudy race 3-8": lambda s: race(s, 3, 8),
    "rnnstudy race 3-10 (adaptive)": lambda s: race(s, 3, 10),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replays", type=int, default=400)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for path in sorted(CACHE.glob("verdict-reference-*.json")):
        if path.stem.endswith("-quick"):
            continue
        known = json.loads(path.read_text())
        scores = {point: np.asarray(s) for point, s in known["scores"].items()}
        truth = (known["best"], frozenset(known["worse"]))
        seeds = len(next(iter(scores.values())))
        print(f"\n== {known['settings']['workload']['title']}: {len(scores)} points, {seeds} seeds a point")
        print(f"   reference: best {known['best']}; worse: {', '.join(known['worse']) or 'none'}")
        orders = [rng.permutation(seeds) for _ in range(args.replays)]
        base = CAREFUL_SEEDS * len(scores)
        print(f"   {'method':40s} {'same verdict':>12s} {'trials':>7s} {'× careful':>10s}")
        for name, method in METHODS.items():
            results = [method({p: s[order] for p, s in scores.items()}) for order in orders]
            agree = np.mean([verdict == truth for verdict, _ in results])
            trials = np.mean([n for _, n in results])
            print(f"   {name:40s} {agree:12.2f} {trials:7.1f} {trials / base:10.2f}")


if __name__ == "__main__":
    main()
