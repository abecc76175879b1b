"""Seed 003 Q2 as a trade-off at this machine's scale: repro_fashion_channels.py's 3 × 3 channel
grid on Fashion-MNIST with Adam, scored on validation accuracy (up) and parameters (down, exact).
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

study = load_study(Path(__file__).with_name("repro_fashion_channels.py")).variant(
    objective=["val_accuracy", "params"],
    repeats=3,  # a front is judged on paired seeds
    name="repro-fashion-channels-front",
    description="Seed 003 Q2 at a short scale, as a front: 3x3 channel grid on Fashion-MNIST, accuracy against parameters.",
)
