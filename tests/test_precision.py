"""The ``precision`` hyperparameter: what ``auto`` picks, and that a bf16 model still trains."""

import keras
import numpy as np
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.plugins.registry import Registry, default_registry
from rnnstudy.runtime import precision
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy.trial.runner import build_trial

AMD_ZEN4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
INTEL_SAPPHIRE_RAPIDS = frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
OLDER_CPU = frozenset({"avx2", "fma"})


@pytest.mark.parametrize(
    ("flags", "gpus", "expected"),
    [
        (AMD_ZEN4, [], "mixed_bfloat16"),
        (INTEL_SAPPHIRE_RAPIDS, [], "mixed_bfloat16"),
        (OLDER_CPU, [], "float32"),
        (frozenset(), [], "float32"),
        (OLDER_CPU, [(8, 0)], "mixed_bfloat16"),  # an A100 trains, whatever the CPU
        (OLDER_CPU, [(9, 0), (8, 6)], "mixed_bfloat16"),
        (AMD_ZEN4, [(7, 5)], "float32"),  # a T4 trains, and has no bf16 units
        (AMD_ZEN4, [(8, 0), (7, 0)], "float32"),  # one old GPU: not all of them can
    ],
)
def test_auto_picks_bfloat16_only_where_the_training_device_has_it(flags, gpus, expected):
    assert precision.resolve("auto", cpu_flags=flags, gpus=gpus) == expected


@pytest.mark.parametrize("explicit", ["float32", "mixed_bfloat16"])
def test_an_explicit_precision_is_kept_on_any_hardware(explicit):
    for flags in (AMD_ZEN4, OLDER_CPU):
        assert precision.resolve(explicit, cpu_flags=flags, gpus=[]) == explicit


def _built(plugin_dist, value):
    hp = HyperParameters(fixed={"dataset": "tiny_images", "model": "tiny_mlp", "precision": value})
    return build_trial(hp, default_registry(), None)


def test_a_mixed_bfloat16_model_computes_in_bfloat16_keeps_float32_weights_and_trains(plugin_dist):
    built = _built(plugin_dist, "mixed_bfloat16")
    data, model = built.data, built.model
    assert built.precision == "mixed_bfloat16"
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert {layer.compute_dtype for layer in dense} == {"bfloat16"}
    assert {w.dtype for w in model.trainable_weights} == {"float32"}  # updates stay exact

    before = model.evaluate(data.x_train, data.y_train, verbose=0, return_dict=True)["loss"]
    model.fit(data.x_train, data.y_train, epochs=8, batch_size=8, verbose=0)
    after = model.evaluate(data.x_train, data.y_train, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after) and after < before


def test_the_next_trial_gets_its_own_precision_not_the_last_ones(plugin_dist):
    _built(plugin_dist, "mixed_bfloat16")
    built = _built(plugin_dist, "float32")
    assert built.precision == "float32"
    assert {layer.compute_dtype for layer in built.model.layers if layer.weights} == {"float32"}


def test_an_unknown_precision_names_the_allowed_ones(plugin_dist):
    with pytest.raises(SearchSpaceError, match="precision='float16'.*mixed_bfloat16"):
        _built(plugin_dist, "float16")


def _gru(info):
    """A recurrent model over the image rows: 28 steps of 28 values."""

    def build_model(hp):
        inputs = keras.Input(info["input_shape"])
        x = keras.layers.Reshape((28, 28))(keras.layers.Rescaling(1 / 255)(inputs))
        x = keras.layers.GRU(hp.Int("units", 1, 8, default=4))(x)
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", dtype="float32")(x))

    return build_model


def test_recurrent_finds_rnn_layers_however_deep_they_sit():
    inputs = keras.Input((5, 3))
    plain = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    direct = keras.Model(inputs, keras.layers.GRU(2)(inputs))
    wrapped = keras.Model(inputs, keras.layers.Bidirectional(keras.layers.LSTM(2))(inputs))
    inner = keras.Sequential([keras.Input((5, 3)), keras.layers.SimpleRNN(2)])
    nested = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs)))

    assert not precision.recurrent(plain)
    assert precision.recurrent(direct) and precision.recurrent(wrapped) and precision.recurrent(nested)


def test_auto_trains_a_recurrent_model_in_float32_even_where_bf16_is_native(plugin_dist, monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda **_: True)  # as on this AVX512_BF16 CPU
    registry = Registry()  # the installed plugins, and this one
    registry.add("model", "tiny_gru", _gru)

    def built(model: str):
        fixed = {"dataset": "tiny_images", "model": model, "precision": "auto"}
        return build_trial(HyperParameters(fixed=fixed), registry, None)

    dense, gru = built("tiny_mlp"), built("tiny_gru")
    assert dense.precision == "mixed_bfloat16"
    assert gru.precision == "float32"
    assert {w.dtype for w in gru.model.weights} == {"float32"}
    assert {layer.compute_dtype for layer in gru.model.layers if layer.weights} == {"float32"}
