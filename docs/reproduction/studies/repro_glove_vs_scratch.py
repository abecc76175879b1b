"""Seed 000 at this machine's scale: studies/glove_vs_scratch.py with three training sizes.

Every setting is the study's (20 epochs, RMSProp, GloVe 50d frozen or scratch, seeds paired);
only the sizes are fewer, 100 / 250 / 1,000, so that four seeds per cell fit the time
(docs/REPRODUCTION.md, "The scale").
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

base = load_study(Path(__file__).parents[3] / "studies" / "glove_vs_scratch.py")
study = base.variant(
    search={"train_samples": [100, 250, 1000], "embedding": ["scratch", "glove"]},
    repeats=4,
    name="repro-glove-vs-scratch",
)
report = base.report  # the seed's table and the crossover
