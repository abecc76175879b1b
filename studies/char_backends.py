"""Seed 002's char-RNN grid on each Keras backend, side by side in one study.

    rnnstudy optimize studies/char_backends.py --epochs 2 --subset 5000 --set artifacts=False

The same models as studies/char_prediction.py, with the backend searched like any other
hyperparameter: each trial trains in a worker process of its backend, and the report's table
has one row per backend × cell × sequence length (BENCHMARKS.md, "Keras backends").
"""

from rnnstudy import Study

study = Study(
    dataset="char_text",
    model="language_model",
    optimizer="adam",
    search={
        "backend": ["tensorflow", "jax", "torch"],
        "cell": ["simple_rnn", "lstm", "gru"],
        "sequence_length": [10, 20, 30],
    },
    fixed={
        "corpus": "sonnets",
        "input_encoding": "embedding",
        "embedding_dim": 128,
        "units": 128,
        "epochs": 20,
        "batch_size": 128,
        "learning_rate": 0.001,
    },
    objective="val_accuracy",
    description="Seed 002's char-RNN grid on TensorFlow, JAX and PyTorch in one study.",
)
