"""Seed 003 B Q1-Q4 at this machine's scale: studies/text_classification.py without dropout.

The conclusions tested here (word beats character, RNN beats CNN) need the four networks;
the Q5 dropout twins are left out so that three seeds of each fit the time.
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

base = load_study(Path(__file__).parents[3] / "studies" / "text_classification.py")
study = base.variant(
    points=[p for p in base.points if not p["dropout"]],
    name="repro-text-classification",
)
report = base.report  # test accuracy (last and best epoch) and running time per network
