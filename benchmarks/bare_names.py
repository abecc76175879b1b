"""Seed 004 in bare Keras: which language is a surname? No rnnstudy code, only keras + numpy.

    python benchmarks/bare_names.py                        # Faker's surnames, seeds 0-4
    python benchmarks/bare_names.py --data tutorial --data-dir DIR   # DIR/*.txt, one language a file
    python benchmarks/bare_names.py --data tutorial --data-dir DIR --keep-duplicates

Written from the seed's description (character embedding -> LSTM -> classifier; split
80/10/10 % with seed 100; hidden size 200, one layer, batch 32, learning rate 0.01, weight decay
0.01, 10 epochs) and from the study's fixed values that the seed leaves open (Adam, embedding
64, names padded or cut to 20 characters). It prints, per seed, the last epoch's validation
accuracy and the test accuracy, then their mean with a 95 % t interval, and the accuracy of
always guessing the commonest language of the training split.

``--keep-duplicates`` keeps every line of the tutorial's files, as a script that reads them
with ``open(...).read().split("\\n")`` does (the tutorial's Arabic.txt has 2,000 lines and only
108 distinct names, so most test names were seen in training); by default a name is kept once
per language, as rnnstudy's ``names`` dataset does.
"""

import argparse
import importlib
import statistics
import time
import unicodedata
from pathlib import Path

import keras
import numpy as np

# the 12 tutorial languages Faker has in Latin script, and where their surnames are
FAKER = {
    "Chinese": ("zh_CN", "last_romanized_names"),
    "Czech": ("cs_CZ", "last_names"),
    "Dutch": ("nl_NL", "last_names"),
    "English": ("en_GB", "last_names"),
    "French": ("fr_FR", "last_names"),
    "German": ("de_DE", "last_names"),
    "Irish": ("ga_IE", "last_names"),
    "Italian": ("it_IT", "last_names"),
    "Japanese": ("ja_JP", "last_romanized_names"),
    "Polish": ("pl_PL", "unisex_last_names"),
    "Portuguese": ("pt_PT", "last_names"),
    "Spanish": ("es_ES", "last_names"),
}
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def ascii_name(name):
    """Accents dropped, as the PyTorch tutorial's unicodeToAscii does (é -> e)."""
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").strip()


def load_names(source, data_dir, keep_duplicates):
    """{language: [surname, ...]} from Faker or from the tutorial's Language.txt files."""
    if source == "faker":
        raw = {}
        for language, (locale, attribute) in FAKER.items():
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            raw[language] = list(getattr(provider, attribute))
    else:
        files = sorted(Path(data_dir).glob("*.txt"))
        raw = {p.stem: p.read_text(encoding="utf-8").splitlines() for p in files}
    by_language = {}
    for language, names in raw.items():
        names = [ascii_name(n) for n in names if ascii_name(n)]
        by_language[language] = names if keep_duplicates else list(dict.fromkeys(names))
    return by_language


def prepare(by_language, split_seed, max_length):
    """Shuffled with split_seed, cut 80/10/10 %, characters numbered from the training names."""
    languages = sorted(by_language)
    names = [n for lang in languages for n in by_language[lang]]
    labels = np.array([i for i, lang in enumerate(languages) for _ in by_language[lang]])
    rows = np.random.default_rng(split_seed).permutation(len(names))
    n_train, n_val = round(0.8 * len(names)), round(0.1 * len(names))
    parts = rows[:n_train], rows[n_train : n_train + n_val], rows[n_train + n_val :]

    # id 0 pads (and is masked), id 1 is a character never seen in training
    characters = sorted({c for r in parts[0] for c in names[r]})
    ids = {c: i + 2 for i, c in enumerate(characters)}

    def encode(part):
        x = np.zeros((len(part), max_length), dtype="int32")
        for row, r in enumerate(part):
            codes = [ids.get(c, 1) for c in names[r][:max_length]]
            x[row, : len(codes)] = codes
        return x, labels[part]

    train, val, test = (encode(p) for p in parts)
    seen = {names[r] for r in parts[0]}
    test_seen = np.mean([names[r] in seen for r in parts[2]])  # test names also in training
    return train, val, test, languages, len(characters) + 2, test_seen


def build(vocabulary, classes, args):
    """Embedding (padding masked) -> LSTM(hidden) x layers -> softmax over the languages."""
    inputs = keras.Input((args.max_length,), dtype="int32")
    x = keras.layers.Embedding(vocabulary, args.embedding_dim, mask_zero=True)(inputs)
    for layer in range(args.layers):
        x = keras.layers.LSTM(args.hidden, return_sequences=layer < args.layers - 1)(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    # Keras' Adam applies weight decay decoupled from the gradient (AdamW's way)
    optimizer = keras.optimizers.Adam(learning_rate=args.learning_rate, weight_decay=args.weight_decay)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def mean_ci(values):
    """Mean and the half-width of its 95 % t interval."""
    if len(values) < 2:
        return values[0], float("nan")
    return statistics.mean(values), T_975[len(values) - 1] * statistics.stdev(values) / len(values) ** 0.5


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["faker", "tutorial"], default="faker")
    parser.add_argument("--data-dir", help="folder of the tutorial's Language.txt files")
    parser.add_argument("--keep-duplicates", action="store_true")
    parser.add_argument("--seeds", type=int, default=5, help="training seeds 0 .. N-1")
    parser.add_argument("--split-seed", type=int, default=100)
    parser.add_argument("--max-length", type=int, default=20)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-samples", type=int, default=0, help="0: the whole training split")
    parser.add_argument("--curve", action="store_true", help="also print validation accuracy per epoch")
    args = parser.parse_args()

    by_language = load_names(args.data, args.data_dir, args.keep_duplicates)
    train, val, test, languages, vocabulary, test_seen = prepare(
        by_language, args.split_seed, args.max_length
    )
    counts = {lang: len(by_language[lang]) for lang in languages}
    total = sum(counts.values())
    print(
        f"data: {args.data}{' (duplicates kept)' if args.keep_duplicates else ''}, {len(languages)} languages, "
        f"{total} names; split {len(train[1])}/{len(val[1])}/{len(test[1])}; {vocabulary} character ids"
    )
    print(
        "names per language: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    )
    commonest = np.bincount(train[1]).argmax()
    print(
        f"majority-class baseline (always {languages[commonest]}): "
        f"all names {max(counts.values()) / total:.4f}, test {np.mean(test[1] == commonest):.4f}"
    )
    print(f"test names that also occur in the training split: {test_seen:.4f}")

    val_scores, test_scores = [], []
    for seed in range(args.seeds):
        x_train, y_train = train
        if args.train_samples:  # a random part of the training names, drawn from the run's seed
            rows = np.random.default_rng(seed).permutation(len(y_train))[: args.train_samples]
            x_train, y_train = x_train[rows], y_train[rows]
        keras.utils.set_random_seed(seed)  # weights, shuffling: one seed per run
        model = build(vocabulary, len(languages), args)
        start = time.perf_counter()
        history = model.fit(
            x_train, y_train, validation_data=val, epochs=args.epochs, batch_size=args.batch_size, verbose=0
        )
        seconds = time.perf_counter() - start
        _, test_accuracy = model.evaluate(*test, verbose=0)
        if args.curve:
            print("  val acc by epoch: " + " ".join(f"{v:.4f}" for v in history.history["val_accuracy"]))
        val_scores.append(history.history["val_accuracy"][-1])
        test_scores.append(test_accuracy)
        print(
            f"seed {seed}: train acc {history.history['accuracy'][-1]:.4f}  val acc {val_scores[-1]:.4f}  "
            f"test acc {test_accuracy:.4f}  ({seconds:.1f} s)",
            flush=True,
        )

    for name, scores in (("validation", val_scores), ("test", test_scores)):
        mean, half = mean_ci(scores)
        print(f"{name} accuracy, last epoch: {mean:.4f} ± {half:.4f} (95 % CI, n={len(scores)})")


if __name__ == "__main__":
    main()
