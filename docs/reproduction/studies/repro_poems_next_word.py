"""Seed 001 at this machine's scale: studies/poems_next_word.py under a name of its own.

Every setting is the study's; the command adds --epochs and --subset. A first try at the
study's full data (--epochs 15) was stopped: under the machine's load one epoch of the NumPy
RNN over the ~9,000 training windows took about 50 s (logs/poems_next_word.txt), so its three
seeds alone would have taken over half an hour.
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

base = load_study(Path(__file__).parents[3] / "studies" / "poems_next_word.py")
study = base.variant(name="repro-poems-next-word")
report = base.report  # the seed's table: training time and final loss
