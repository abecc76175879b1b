import keras
import numpy as np

from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import names
from rnnstudy_plugins.models.char_classifier import CharClassifier

# two "languages" a character tells apart: names of x and y, names of z and w
LANGUAGES = {
    "Xish": ["x" * n + "y" * m for n in range(1, 8) for m in range(1, 6)],
    "Zish": ["z" * n + "w" * m for n in range(1, 8) for m in range(1, 6)],
}


def tiny_names(tmp_path):
    for language, surnames in LANGUAGES.items():
        (tmp_path / f"{language}.txt").write_text("\n".join(surnames))
    return names.load(HyperParameters(fixed={"names": "tutorial"}), data_dir=str(tmp_path))


def test_embedding_lstm_layers_and_classes_follow_the_hyperparameters(tmp_path):
    data = tiny_names(tmp_path)
    model = CharClassifier(data.info).build(
        HyperParameters(fixed={"embedding_dim": 4, "units": 6, "layers": 2})
    )
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.units for layer in lstms] == [6, 6]
    vocabulary = len(data.info["vocabulary"])
    assert model.count_params() == vocabulary * 4 + 4 * (4 * 6 + 6 * 6 + 6) + 4 * (6 * 6 * 2 + 6) + 6 * 2 + 2
    assert model.get_layer("embedding").mask_zero  # padding does not reach the LSTM


def test_it_learns_tiny_names_and_writes_a_confusion_matrix_and_predictions(tmp_path):
    data = tiny_names(tmp_path)
    keras.utils.set_random_seed(0)
    hypermodel = CharClassifier(data.info)
    model = hypermodel.build(HyperParameters(fixed={"embedding_dim": 4, "units": 8}))
    model.compile(keras.optimizers.Adam(0.05), data.info["loss"], metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, epochs=8, batch_size=8, verbose=0)
    assert model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)["accuracy"] == 1.0

    hypermodel.artifacts(model, data, tmp_path)
    matrix = np.loadtxt(tmp_path / "confusion_matrix.csv", delimiter=",", skiprows=1, usecols=(1, 2))
    assert matrix.sum() == len(data.y_test) and np.trace(matrix) == len(data.y_test)
    lines = (tmp_path / "predictions.txt").read_text().splitlines()
    assert len(lines) == 1 + len(data.y_test)
    name, true, guesses = lines[1].split("\t")
    assert guesses.startswith(true) and set(name) <= set("xyzw")
