"""Seed 003 Q3 at this machine's scale: studies/fashion_optimizers.py scored over 5 epochs.

Every setting is the study's (90/40 CNN; SGD with momentum 0.1, RMSProp, Adam, SGD with
dropout 0.5; learning rate 0.001); the score is the mean test accuracy over the last 5 epochs
instead of the last 200, as the runs here are 8 epochs long.
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

base = load_study(Path(__file__).parents[3] / "studies" / "cifar_optimizers.py")
study = base.variant(
    dataset="fashion_mnist",
    window=5,
    name="repro-fashion-optimizers",
    description="Seed 003 Q3 at a short scale: optimizers and dropout on the 90/40 CNN, Fashion-MNIST.",
)
