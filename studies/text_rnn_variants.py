"""Seed 003, Part B, Q6: the char and word GRUs changed — vanilla RNN, LSTM, two layers, clipping.

    rnnstudy optimize studies/text_rnn_variants.py                            # 10 variants × 3-10 seeds, 100 epochs
    rnnstudy optimize studies/text_rnn_variants.py --epochs 1 --subset 1000   # a quick try
    rnnstudy optimize studies/text_rnn_variants.py --set dataset=text_csv --data-dir FOLDER

Offline the texts are WordNet's noun definitions in its 15 largest topics
(apt-get install -y wordnet-base). The report compares test accuracy and running time.
"""

import pandas as pd

from rnnstudy import Study
from rnnstudy.results import per_model

VARIANTS = [
    {"cell": "gru"},  # the Q3/Q4 baseline
    {"cell": "simple_rnn"},  # Q6 a(i): a vanilla RNN
    {"cell": "lstm"},  # Q6 a(ii)
    {"cell": "gru", "layers": 2},  # Q6 b: two GRU layers
    {"cell": "gru", "clipnorm": 2.0},  # Q6 c: gradients clipped at 2
]

study = Study(
    dataset="wordnet_topics",
    model="text_rnn",
    optimizer="adam",  # as the assignment trains its RNNs
    points=[{**variant, "level": level} for level in ("char", "word") for variant in VARIANTS],
    fixed={
        "learning_rate": 0.01,  # the assignment's rate
        "max_length": 100,  # characters or words per text, as in the assignment
        "train_samples": 5600,  # the assignment's training set: 400 texts per topic
        "epochs": 100,  # the report's RNN budget
        "batch_size": 128,
    },
    repeats="adaptive",  # a race, 3 to 10 seeds: "clipping does nothing" needs more than one run to say
    objective="val_accuracy",
    test_every_epoch=True,  # the report compares test accuracy curves
    description="Seed 003 B Q6: GRU vs vanilla RNN vs LSTM, two layers, gradient clipping at 2.",
)


def label(row) -> str:
    name = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "vanilla RNN"}[row["cell"]]
    extras = [f"{row['layers']} layers" if row.get("layers", 1) > 1 else ""]
    extras.append(f"clip {row['clipnorm']:g}" if row.get("clipnorm") else "")
    return " ".join([row["level"], name, *filter(None, extras)])


def report(frame: pd.DataFrame):
    """Test accuracy (last epoch and best epoch) and running time per variant, as in Q6."""
    return per_model(frame, label)
