"""Seed 002, Problem 1 as a trade-off: RNN, LSTM or GRU, and how much context, for the training
time they cost?

    rnnstudy optimize studies/char_cells_front.py                          # 9 models × 3 seeds, 20 epochs
    rnnstudy optimize studies/char_cells_front.py --epochs 1 --subset 2000  # a quick try

char_prediction.py's grid and training, scored on two objectives: the best validation accuracy
(up) and the training time in seconds (``train_s``, down; measured, so it is tested over the
seeds like the accuracy). Time depends on the machine and on what else runs: judge a front
from one machine, with one worker (--workers 1) for the times to be comparable.
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

study = load_study(Path(__file__).with_name("char_prediction.py")).variant(
    objective=["val_accuracy", "train_s"],
    repeats=3,  # a front is judged on paired seeds; a race ranks one objective only
    description="Seed 002 Problem 1: SimpleRNN / LSTM / GRU x sequence length, the front of accuracy and training time.",
)
