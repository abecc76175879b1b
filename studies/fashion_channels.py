"""Seed 003, Part A, Q2 offline: the channel grid of cifar_channels.py on Fashion-MNIST.

    rnnstudy optimize studies/fashion_channels.py
    rnnstudy optimize studies/fashion_channels.py --epochs 2 --subset 2000 --trials 3   # a quick try

CIFAR-10 needs a download; Fashion-MNIST comes from Debian (apt-get install dataset-fashion-mnist).
Its 28×28×1 images go through the same network: every setting is cifar_channels.py's.
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

study = load_study(Path(__file__).with_name("cifar_channels.py")).variant(
    dataset="fashion_mnist",
    description="Seed 003 Q2 offline: CNN channel grid on Fashion-MNIST, mean test accuracy of the last 200 epochs.",
)
