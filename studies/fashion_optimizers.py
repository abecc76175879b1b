"""Seed 003, Part A, Q3 offline: the optimizer comparison of cifar_optimizers.py on Fashion-MNIST.

    rnnstudy optimize studies/fashion_optimizers.py
    rnnstudy optimize studies/fashion_optimizers.py --epochs 2 --subset 2000   # a quick try

Every setting is cifar_optimizers.py's; only the data differs.
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

study = load_study(Path(__file__).with_name("cifar_optimizers.py")).variant(
    dataset="fashion_mnist",
    description="Seed 003 Q3 offline: optimizers and dropout on the 90/40 CNN, Fashion-MNIST.",
)
