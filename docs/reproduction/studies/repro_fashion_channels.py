"""Seed 003 Q2 at this machine's scale: the channel grid on Fashion-MNIST, 3 × 3 points, Adam.

The seed trains each model 1,000 epochs with plain SGD at learning rate 0.001; at the few epochs
that fit here such SGD has not started to learn (docs/repeats: 0.12-0.17 after 3 epochs), so
the channels could not be told apart. This variant trains with Adam at the same rate, on the
corner and middle values of the seed's grid (C1 10 / 50 / 90, C2 20 / 40 / 100), and scores a
model by its mean test accuracy over the last 2 epochs (the seed: the last 200 of 1,000).
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

base = load_study(Path(__file__).parents[3] / "studies" / "cifar_channels.py")
study = base.variant(
    dataset="fashion_mnist",
    optimizer="adam",
    search={"c1": [10, 50, 90], "c2": [20, 40, 100]},
    window=2,
    repeats=3,
    name="repro-fashion-channels",
    description="Seed 003 Q2 at a short scale: 3x3 channel grid on Fashion-MNIST, Adam.",
)
