"""Seed 004, Task 2: does the batch size (10, 20, 30, 40) change what the names LSTM learns?

    rnnstudy optimize studies/names_batch_size.py                          # 4 sizes × 3-10 seeds, 10 epochs each
    rnnstudy optimize studies/names_batch_size.py --epochs 1 --subset 2000  # a quick try

Same data and model as names_lstm.py, with the report's default configuration (hidden size
200, one LSTM layer). The table has the report's columns: the best training and validation
loss and accuracy over the epochs, and the test loss and accuracy after the last epoch;
curves.png of each trial has the loss and accuracy curves.
"""

import pandas as pd

from rnnstudy import Study

study = Study(
    dataset="names",
    model="char_classifier",
    optimizer="adam",
    search={"batch_size": [10, 20, 30, 40]},
    fixed={
        "names": "faker",
        "split_seed": 100,
        "max_length": 20,  # as in names_lstm.py
        "embedding_dim": 64,
        "units": 200,  # the report's train() defaults: hidden 200, one layer
        "layers": 1,
        "learning_rate": 0.01,
        "weight_decay": 0.01,
        "epochs": 10,  # batch 10 still rises at epoch 5 (docs/REPRODUCTION.md): fewer favour the large ones
    },
    repeats="adaptive",  # a race, 3 to 10 seeds: the report found "no trends"; one run per size could not tell
    objective="val_accuracy",
    description="Seed 004 Task 2: names -> language, char LSTM, batch size 10/20/30/40.",
)


def report(frame: pd.DataFrame) -> pd.DataFrame:
    """The report's per-experiment table, one row per batch size."""
    if frame.empty:
        return frame
    return pd.DataFrame(
        {
            "Batch-size": frame["batch_size"],
            "Best Training Loss": frame["best_loss"],
            "Best Training Accuracy": frame["best_accuracy"],
            "Best Validation Loss": frame["best_val_loss"],
            "Best Validation Accuracy": frame["best_val_accuracy"],
            "Test Loss": frame["test_loss"],
            "Test Accuracy": frame["test_accuracy"],
        }
    ).set_index("Batch-size")
