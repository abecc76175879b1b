"""A character-level classifier (seed 004, names → language).

    character ids -> Embedding(vocabulary, embedding_dim, padding masked)
                  -> layers × LSTM(units)      (the report's "hidden size")
                  -> Dense(classes, softmax)

Id 0 is padding: the mask keeps the LSTM's last state at a name's last real character.
"""

from __future__ import annotations

from pathlib import Path

import keras
import keras_tuner
import numpy as np

SHOWN = 30  # test names written to predictions.txt


class CharClassifier(keras_tuner.HyperModel):
    """The embedding size, hidden size and number of LSTM layers are hyperparameters."""

    def __init__(self, info: dict) -> None:
        super().__init__(name="char_classifier")
        self.input_shape = tuple(info["input_shape"])
        self.vocabulary_size = len(info["vocabulary"])
        self.num_classes = int(info["num_classes"])

    def build(self, hp) -> keras.Model:
        embedding_dim = hp.Int("embedding_dim", 1, 8192, default=64)
        units = hp.Int("units", 1, 8192, default=200)
        layers = hp.Int("layers", 1, 16, default=1)

        inputs = keras.Input(self.input_shape, dtype="int32")
        x = keras.layers.Embedding(self.vocabulary_size, embedding_dim, mask_zero=True, name="embedding")(
            inputs
        )
        for layer in range(layers):
            x = keras.layers.LSTM(units, return_sequences=layer < layers - 1, name=f"lstm_{layer + 1}")(x)
        outputs = keras.layers.Dense(self.num_classes, activation="softmax", dtype="float32", name="class")(x)
        return keras.Model(inputs, outputs, name="char_classifier")

    def artifacts(self, model: keras.Model, data, directory: Path) -> None:
        """confusion_matrix.csv over the test set, and predictions.txt for its first names."""
        import pandas as pd

        classes = list(data.info.get("class_names") or range(self.num_classes))
        probs = model.predict(data.x_test, verbose=0)
        predicted = probs.argmax(axis=1)
        counts = np.zeros((len(classes), len(classes)), dtype=int)
        np.add.at(counts, (data.y_test, predicted), 1)
        frame = pd.DataFrame(counts, index=classes, columns=classes)
        frame.index.name = "true \\ predicted"
        frame.to_csv(directory / "confusion_matrix.csv")

        vocabulary = data.info["vocabulary"]
        lines = ["name\ttrue\tpredicted (probability), top 3"]
        for row in range(min(SHOWN, len(data.y_test))):
            name = "".join(vocabulary[int(i)] for i in data.x_test[row])
            top = np.argsort(probs[row])[::-1][:3]
            guesses = ", ".join(f"{classes[k]} ({probs[row, k]:.2f})" for k in top)
            lines.append(f"{name}\t{classes[int(data.y_test[row])]}\t{guesses}")
        (directory / "predictions.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
