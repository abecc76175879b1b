import math

import keras
import numpy as np
import pytest

from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import char_text
from rnnstudy_plugins.metrics import Perplexity
from rnnstudy_plugins.models import generation
from rnnstudy_plugins.models.language_model import LanguageModel

SEED_002 = {"input_shape": (10,), "num_classes": 46, "separator": ""}


def build(info=SEED_002, **fixed):
    return LanguageModel(info).build(HyperParameters(fixed=fixed))


@pytest.mark.parametrize(("cell", "count"), [("gru", 110_894), ("simple_rnn", 44_718), ("lstm", 143_406)])
def test_seed_002_problem_1_models_have_the_derived_parameter_counts(cell, count):
    # Embedding(46, 128) -> one recurrent layer of 128 -> Dense(46); the GRU matches the report exactly
    model = build(cell=cell, embedding_dim=128, units=128)
    assert model.count_params() == count


def test_one_hot_input_has_no_embedding_weights():
    model = build(input_encoding="one_hot", cell="gru", units=128)
    assert model.count_params() == 3 * (46 * 128 + 128 * 128 + 2 * 128) + (128 * 46 + 46)
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)]


def test_the_adjusted_head_adds_two_normalised_dense_layers_with_dropout():
    model = build(head="adjusted", head_units_1=32, head_units_2=16, head_dropout=0.25, layers=2)
    dense = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == [32, 16, 46]
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 2
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.25, 0.25]
    assert sum(isinstance(layer, keras.layers.GRU) for layer in model.layers) == 2


def test_perplexity_is_the_exponential_of_the_mean_cross_entropy():
    probs = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]], dtype="float32")
    metric = Perplexity()
    metric.update_state(np.array([0, 2]), probs)
    assert float(metric.result()) == pytest.approx(math.exp(-(math.log(0.5) + math.log(0.1)) / 2), rel=1e-5)


def test_a_tiny_language_model_learns_and_writes_generated_text(tmp_path):
    (tmp_path / "tiny.txt").write_text("the cat sat on the mat. " * 60)
    data = char_text.load(
        HyperParameters(fixed={"corpus": "tiny", "sequence_length": 8}), data_dir=str(tmp_path)
    )
    hypermodel = LanguageModel(data.info)
    model = hypermodel.build(HyperParameters(fixed={"embedding_dim": 8, "units": 16}))
    # compiled as the trial runner does: accuracy and the model's own metrics
    model.compile("adam", data.info["loss"], metrics=["accuracy", *hypermodel.metrics()])
    history = model.fit(data.x_train, data.y_train, epochs=3, batch_size=32, verbose=0)
    assert history.history["perplexity"][-1] < history.history["perplexity"][0]
    result = model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)
    assert result["perplexity"] == pytest.approx(math.exp(result["loss"]), rel=1e-3)

    hypermodel.artifacts(model, data, tmp_path)
    text = (tmp_path / generation.FILE).read_text()
    assert text.count("## sample") == len(generation.TEMPERATURES) * generation.PROMPTS
    assert "temperature 0.5" in text and "temperature 1.0" in text
    samples = generation.samples(model.predict_on_batch, data, length=20)
    assert all(len(s["text"]) == 20 and set(s["text"]) <= set(data.info["vocabulary"]) for s in samples)
    assert samples[0]["prompt"] in text and samples[0]["text"] in text  # the file holds the samples
