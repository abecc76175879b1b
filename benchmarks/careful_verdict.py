"""The careful alternative to rnnstudy's verdict, as a user would write it by hand.

    python benchmarks/careful_verdict.py cnn [--quick] [--seeds 5] [--out DIR]

Every grid point × seed 0..N-1 through Optuna's GridSampler, each trial logged to MLflow
(SQLite) by optuna-integration's MLflowCallback; then every point against the best with a
paired t-test over the seeds (scipy.stats.ttest_rel), Holm-corrected by hand at alpha 0.05:
a point is worse when its corrected p < alpha, else it ties with the best. Seed k fixes what
rnnstudy's repeat k fixes (the training subset and the initial weights), so both train the
same trials. Writes DIR/verdict.json: the trials, the best point and the points called worse.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

from scipy import stats

ALPHA = 0.05


def verdict(scores: dict[str, list[float]], alpha: float = ALPHA) -> tuple[str, list[str]]:
    """The best point (highest mean) and the points a Holm-corrected paired t-test calls worse.

    ``scores`` maps each point to its values in seed order (the same seeds for every point)."""
    best = max(scores, key=lambda p: statistics.mean(scores[p]))
    others = sorted((stats.ttest_rel(scores[p], scores[best]).pvalue, p) for p in scores if p != best)
    worse, m = [], len(others)
    for k, (p, point) in enumerate(others):  # Holm: the k-th smallest p against alpha / (m - k)
        if not p * (m - k) < alpha:  # a NaN p (identical scores) stops here too
            break
        worse.append(point)
    return best, sorted(worse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", help="cnn or charrnn (benchmarks/verdict.py's settings)")
    parser.add_argument("--quick", action="store_true", help="the tiny settings of verdict.py --quick")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()

    from rnnstudy.runtime import backend

    backend.start("tensorflow")  # quiet TensorFlow, as rnnstudy's workers start it
    import optuna
    from compare import _data, _fit, _model  # rnnstudy's plugins, sliced as its runner slices them
    from optuna_integration import MLflowCallback
    from verdict import label, workload

    work = workload(args.workload, args.quick)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tracking = MLflowCallback(tracking_uri=f"sqlite:///{args.out}/mlflow.db", metric_name="val_accuracy")

    def objective(trial) -> float:
        point = {name: trial.suggest_categorical(name, values) for name, values in work.grid.items()}
        seeded = replace(work, fixed={**work.fixed, "seed": trial.suggest_categorical("seed", seeds)})
        data = _data(seeded, point)
        history, _, _ = _fit(seeded, _model(seeded, point, data.info), data)
        return max(history.history["val_accuracy"])  # the best epoch, as rnnstudy's objective

    seeds = list(range(args.seeds))
    grid = {**work.grid, "seed": seeds}
    study = optuna.create_study(
        study_name=f"careful-{work.name}",
        direction="maximize",
        sampler=optuna.samplers.GridSampler(grid, seed=0),
    )
    study.optimize(objective, callbacks=[tracking])  # the grid sampler stops when the grid is done

    scores: dict[str, list[float]] = {}
    for trial in sorted(study.trials, key=lambda t: t.params["seed"]):
        scores.setdefault(label({n: trial.params[n] for n in work.grid}), []).append(trial.value)
    best, worse = verdict(scores)
    print(f"best {best}; worse: {', '.join(worse) or 'none'}; ties: the others (Holm, alpha {ALPHA})")
    trials = [{"params": t.params, "objective": t.value} for t in study.trials]
    (args.out / "verdict.json").write_text(json.dumps({"trials": trials, "best": best, "worse": worse}))


if __name__ == "__main__":
    main()
