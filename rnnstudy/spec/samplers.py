"""The Optuna sampler and pruner a study names."""

from __future__ import annotations

from rnnstudy.spec.study import Study


def make_sampler(study: Study):
    """Grid studies enqueue their points, so their sampler is never asked for a value."""
    import optuna

    seed = int(study.fixed.get("seed", 0))
    return {
        "grid": lambda: optuna.samplers.RandomSampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=seed),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
    }[study.sampler]()


def make_pruner(study: Study):
    """Pruners see the (primary) objective metric after every epoch (an epoch is one step)."""
    import optuna

    epochs = int(study.fixed.get("epochs", 10))
    return {
        "none": lambda: optuna.pruners.NopPruner(),
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        "successive_halving": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 2)),
    }[study.pruner]()
