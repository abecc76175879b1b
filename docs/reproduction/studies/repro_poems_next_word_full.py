"""Seed 001 on all its training windows: studies/poems_next_word.py under a name of its own.

Every setting is the study's (30 epochs, all ~9,000 training windows); the command adds only
the seeds. The run with --subset 2000 (repro_poems_next_word.py) took 5 minutes on a quiet
machine, where the first queue's had taken about 50 s an epoch of the NumPy RNN under load, so
the whole data fits the 20 minutes the other studies had.
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

base = load_study(Path(__file__).parents[3] / "studies" / "poems_next_word.py")
study = base.variant(name="repro-poems-next-word-full")
report = base.report  # the seed's table: training time and final loss
