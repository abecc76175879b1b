"""The majority-class baselines that seeds 000 and 001's sections quote, from the data plugins.

    python docs/reproduction/baselines.py

Rotten Tomatoes (seed 000): each split's size and share of "fresh", and the test accuracy of
always answering the training split's commoner class. The sonnets (seed 001, the study's
fixed settings): the commonest next word of the training windows and its share of the
validation and test windows, what always answering it scores.
"""

import numpy as np

from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import poems, sentiment


def main():
    corpus = sentiment._rotten_tomatoes(sentiment._locate_rt(None))
    for name, (_, labels) in zip(("train", "validation", "test"), (corpus.train, corpus.val, corpus.test)):
        print(f"Rotten Tomatoes {name}: {len(labels):,} snippets, {np.mean(labels):.3f} fresh")
    commoner = int(np.mean(corpus.train[1]) >= 0.5)
    print(f"  always '{corpus.classes[commoner]}': test accuracy {np.mean(corpus.test[1] == commoner):.3f}")

    hp = HyperParameters(fixed={"poem_count": 100, "sequence_length": 5, "split_seed": 0})
    data = poems.load(hp)
    top = int(np.bincount(data.y_train).argmax())
    word = data.info["vocabulary"][top] if "vocabulary" in data.info else top
    print(
        f"sonnets: {len(data.y_train):,} / {len(data.y_val):,} / {len(data.y_test):,} windows, {data.info['num_classes']:,} words"
    )
    print(
        f"  always {word!r}: validation accuracy {np.mean(data.y_val == top):.4f}, "
        f"test accuracy {np.mean(data.y_test == top):.4f}"
    )


if __name__ == "__main__":
    main()
