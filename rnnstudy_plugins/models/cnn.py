"""Seed 003's CNN: two convolution + max-pool stages and a dense layer.

    Conv2D(c1, kernel1, valid, relu) -> MaxPool(2, 2)   "c1", "s1"
    Conv2D(c2, kernel2, valid, relu) -> MaxPool(2, 2)   "c2", "s2"
    Flatten -> [Dropout] -> Dense(dense_units, relu) -> [Dropout] -> Dense(classes, softmax)

With c1=90, c2=40 on 32×32×3 input it has 307,310 parameters, as the report's summary shows.
"""

from pathlib import Path

import keras
import keras_tuner
import numpy as np

FEATURE_LAYERS = ("c1", "s1", "c2", "s2")


class CNN(keras_tuner.HyperModel):
    """The channel counts, kernel sizes, dense units and dropout are hyperparameters."""

    def __init__(self, info: dict) -> None:
        super().__init__(name="cnn")
        self.input_shape = tuple(info["input_shape"])
        self.num_classes = int(info["num_classes"])

    def build(self, hp) -> keras.Model:
        c1 = hp.Int("c1", 1, 1024, default=50)
        c2 = hp.Int("c2", 1, 1024, default=60)
        kernel1 = hp.Int("kernel1", 1, 15, default=9)
        kernel2 = hp.Int("kernel2", 1, 15, default=5)
        dense_units = hp.Int("dense_units", 1, 8192, default=300)
        dropout = hp.Float("dropout", 0.0, 0.95, default=0.0)

        inputs = keras.Input(self.input_shape)
        x = keras.layers.Rescaling(1 / 255)(inputs)  # data stays uint8 in memory
        x = keras.layers.Conv2D(c1, kernel1, activation="relu", name="c1")(x)
        x = keras.layers.MaxPooling2D(2, 2, name="s1")(x)
        x = keras.layers.Conv2D(c2, kernel2, activation="relu", name="c2")(x)
        x = keras.layers.MaxPooling2D(2, 2, name="s2")(x)
        x = keras.layers.Flatten()(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
        x = keras.layers.Dense(dense_units, activation="relu")(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
        outputs = keras.layers.Dense(self.num_classes, activation="softmax", dtype="float32")(x)
        return keras.Model(inputs, outputs, name="cnn")

    def artifacts(self, model: keras.Model, data, directory: Path) -> None:
        """Feature maps of c1, s1, c2 and s2 for the first two test images (seed 003, Q1).

        Written as plain images, each channel a tile scaled on its own, without figures: a
        subplot per channel took seconds per trial, longer than an epoch of a small model.
        """
        import matplotlib.pyplot as plt

        probe = keras.Model(model.input, [model.get_layer(n).output for n in FEATURE_LAYERS])
        images = data.x_test[:2]
        # 2 images: eager; as NumPy float32 on every backend (a torch tensor has a grad, bf16 no NumPy dtype)
        outputs = [
            keras.ops.convert_to_numpy(keras.ops.cast(o, "float32")) for o in probe(images, training=False)
        ]
        for index, image in enumerate(images):
            grey = image.shape[-1] != 3
            plt.imsave(
                directory / f"feature_maps_image{index}_input.png",
                _upscaled(image.squeeze() if grey else image),
                cmap="gray" if grey else None,
            )
            for name, maps in zip(FEATURE_LAYERS, outputs):
                plt.imsave(
                    directory / f"feature_maps_image{index}_{name}.png", _mosaic(maps[index]), cmap="gray"
                )


def _mosaic(maps: np.ndarray, columns: int = 10) -> np.ndarray:
    """One tile per channel, ``columns`` to a row (5×10 for 50 channels), white between tiles."""
    height, width, channels = maps.shape
    rows = -(-channels // columns)
    low, high = maps.min(axis=(0, 1)), maps.max(axis=(0, 1))
    scaled = (maps - low) / np.where(high > low, high - low, 1)  # each channel on its own scale
    mosaic = np.ones((rows * (height + 1) - 1, columns * (width + 1) - 1), np.float32)
    for k in range(channels):
        top, left = (k // columns) * (height + 1), (k % columns) * (width + 1)
        mosaic[top : top + height, left : left + width] = scaled[..., k]
    return _upscaled(mosaic)


def _upscaled(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """Each pixel a ``factor``×``factor`` block, so that small maps are visible without zooming."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1)
