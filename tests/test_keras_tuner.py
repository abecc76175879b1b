"""Keras Tuner's documented hypermodel patterns, run unchanged on rnnstudy's ``hp``.

Each pattern of Keras Tuner's guide, in our own words: a build function with a loop of layers
and a log-sampled learning rate; a HyperModel whose ``fit`` tunes the batch size and shuffling;
a ``fit`` that preprocesses ``x``; conditional scopes for model selection; and the ready-made
``keras_tuner.applications`` hypermodels, ``tunable=False`` included. Models are really built
and trained (tiny arrays, one epoch).

``tuner_fit`` calls a hypermodel the way Keras Tuner's tuner does; ``rnnstudy_fit`` the way
rnnstudy's trial runner does (rnnstudy.plugins: one call for rnnstudy's own fit hooks and Keras
Tuner's alike).
"""

from __future__ import annotations

import copy

import keras
import keras_tuner
import numpy as np
import optuna
import pytest

from rnnstudy import plugins
from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy.spec.space import Float, Int

optuna.logging.set_verbosity(optuna.logging.WARNING)

RNG = np.random.default_rng(0)
X = RNG.random((64, 4)).astype("float32")
Y = (X.sum(axis=1) > 2).astype("int64")


class StepCounter(keras.callbacks.Callback):
    """Counts training steps: 64 samples in batches of 16 are 4 steps, of 32 are 2."""

    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


def tuner_fit(hypermodel, hp, *args, **kwargs):
    """Build and fit as Keras Tuner's tuner does (engine/tuner.py, ``run_trial`` and
    ``_build_and_fit_model``): the arguments given to ``search`` go on as they came, positional
    ones positional; ``callbacks`` is popped, deep-copied and extended with the tuner's own, and
    passed as a keyword; ``batch_size`` is passed only if the caller of ``search`` gave it; a
    None result is an error. Returns the model, the result and the tuner's step counter."""
    callbacks = copy.deepcopy(kwargs.pop("callbacks", []))
    counter = StepCounter()
    model = hypermodel.build(hp)
    result = hypermodel.fit(hp, model, *args, callbacks=[*callbacks, counter], **kwargs)
    assert result is not None, "Keras Tuner refuses a fit that returns None"
    return model, result, counter


def rnnstudy_fit(hypermodel, hp, model, **fit_args):
    """The trial runner's call: the hypermodel's hook adapted once (rnnstudy.plugins)."""
    return plugins.adapt(lambda info: hypermodel, {}).fit(hp, model, **fit_args)


# --- the guide's build function --------------------------------------------------------


def build_model(hp):
    """The guide's build function: tuned depth, per-layer widths, dropout and learning rate."""
    model = keras.Sequential([keras.Input((4,))])
    for i in range(hp.Int("num_layers", 1, 3)):
        units = hp.Int(f"units_{i}", min_value=32, max_value=512, step=32)
        model.add(keras.layers.Dense(units, activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(2, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        run_eagerly=True,  # no graph tracing: a second faster per fit on these tiny arrays
    )
    return model


def _dense_units(model) -> list[int]:
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_the_build_function_takes_defaults_and_trains():
    hp = HyperParameters()
    model = build_model(hp)
    assert hp.values == {"num_layers": 1, "units_0": 32, "activation": "relu", "dropout": False, "lr": 1e-4}
    assert _dense_units(model) == [32, 2]
    history = model.fit(X[:8], Y[:8], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_the_build_function_follows_the_study_fixed_values_and_refuses_an_off_step_width():
    fixed = {"num_layers": 3, "units_1": 64, "units_2": 512, "dropout": True, "lr": 0.005}
    hp = HyperParameters(fixed=fixed)
    model = build_model(hp)
    assert _dense_units(model) == [32, 64, 512, 2]
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.005)
    with pytest.raises(SearchSpaceError, match=r"units_1=100 .*in steps of 32 from 32.*nearest: 96, 128"):
        build_model(HyperParameters(fixed={"num_layers": 2, "units_1": 100}))


def test_the_build_function_under_an_optuna_search():
    search = {"num_layers": Int(1, 3), "units_0": Int(32, 512, step=32), "lr": Float(1e-4, 1e-2, log=True)}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    layers_seen = set()
    for _ in range(6):
        trial = study.ask()
        hp = HyperParameters(trial=trial, search=search)
        model = build_model(hp)
        assert trial.params == {k: hp.values[k] for k in search}
        assert hp.values["units_0"] % 32 == 0 and 1e-4 <= hp.values["lr"] <= 1e-2
        assert len(_dense_units(model)) == hp.values["num_layers"] + 1
        layers_seen.add(hp.values["num_layers"])
        study.tell(trial, 0.0)
    assert len(layers_seen) > 1


# --- a HyperModel whose fit tunes the batch size -----------------------------------------


class BatchSizeTuned(keras_tuner.HyperModel):
    """The guide's fit override: batch size and shuffling are hyperparameters of fit."""

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(
            *args,
            batch_size=hp.Choice("batch_size", [16, 32]),
            shuffle=hp.Boolean("shuffle"),
            **kwargs,
        )


def test_a_fit_that_tunes_the_batch_size_runs_as_keras_tuner_calls_it():
    hp = HyperParameters(fixed={"batch_size": 32, "shuffle": True})
    _, history, counter = tuner_fit(
        BatchSizeTuned(), hp, X, Y, epochs=1, validation_data=(X[:8], Y[:8]), verbose=0
    )
    assert counter.steps == 2  # 64 samples in batches of 32
    assert {"batch_size": 32, "shuffle": True}.items() <= hp.values.items()
    assert "val_loss" in history.history
    with pytest.raises(SearchSpaceError, match=r"batch_size=8 \(the study fixes\).*one of 16, 32"):
        tuner_fit(BatchSizeTuned(), HyperParameters(fixed={"batch_size": 8}), X, Y, epochs=1, verbose=0)


def test_keras_tuner_passes_batch_size_twice_if_the_search_call_gave_it():
    with pytest.raises(TypeError, match="multiple values for keyword argument 'batch_size'"):
        tuner_fit(BatchSizeTuned(), HyperParameters(), X, Y, epochs=1, batch_size=8, verbose=0)


def _rnnstudy_hp(batch_size: int) -> HyperParameters:
    """An hp on which rnnstudy has declared its batch_size, as the trial runner does first."""
    hp = HyperParameters(fixed={"batch_size": batch_size})
    with hp.owned_by("rnnstudy"):
        hp.Int("batch_size", 1, 10**6, default=32)
    return hp


def _fit_once(hypermodel, hp, model, batch_size: int, counter: StepCounter) -> None:
    """One epoch on the 64 samples, as the trial runner calls the hook."""
    rnnstudy_fit(
        hypermodel,
        hp,
        model,
        x=X,
        y=Y,
        validation_data=(X[:8], Y[:8]),
        epochs=1,
        batch_size=batch_size,
        callbacks=[counter],
    )


@pytest.mark.parametrize("batch_size, steps", [(16, 4), (32, 2)])
def test_the_proposed_call_lets_a_fit_pick_the_batch_size_from_the_study(batch_size, steps):
    hp = _rnnstudy_hp(batch_size)
    hypermodel, counter = BatchSizeTuned(), StepCounter()
    model = hypermodel.build(hp)
    _fit_once(hypermodel, hp, model, batch_size, counter)
    assert counter.steps == steps


@pytest.mark.parametrize("batch_size, steps", [(8, 8), (64, 1)])
def test_the_proposed_call_applies_the_study_batch_size_to_a_fit_that_does_not_pick_one(batch_size, steps):
    class Plain(keras_tuner.HyperModel):  # Keras Tuner's own fit: model.fit(*args, **kwargs)
        def build(self, hp):
            return build_model(hp)

    hp, counter = _rnnstudy_hp(batch_size), StepCounter()
    hypermodel = Plain()
    model = hypermodel.build(hp)
    _fit_once(hypermodel, hp, model, batch_size, counter)
    assert counter.steps == steps
    assert "fit" not in vars(model)  # the default was only lent for the call


def test_the_proposed_call_gives_an_rnnstudy_hook_every_argument_by_keyword():
    seen = {}

    class Hooked:  # rnnstudy's convention (rnnstudy_plugins/models/numpy_rnn.py)
        def build(self, hp):
            return build_model(hp)

        def fit(self, hp, model, *, x, y, validation_data, epochs, batch_size, callbacks=(), verbose=0):
            seen.update(batch_size=batch_size, epochs=epochs, n=len(x))
            return model.fit(x, y, batch_size=batch_size, epochs=epochs, callbacks=callbacks, verbose=verbose)

    hp, counter = _rnnstudy_hp(16), StepCounter()
    model = Hooked().build(hp)
    _fit_once(Hooked(), hp, model, 16, counter)
    assert seen == {"batch_size": 16, "epochs": 1, "n": 64} and counter.steps == 4


# --- a fit that preprocesses x -----------------------------------------------------------


class Normalizing(keras_tuner.HyperModel):
    """The guide's preprocessing fit: whether to normalise x is a hyperparameter of fit."""

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, x, y, **kwargs):
        if hp.Boolean("normalize"):
            normalizer = keras.layers.Normalization()
            normalizer.adapt(x)
            x = normalizer(x)
        self.seen_x = keras.ops.convert_to_numpy(x)
        return model.fit(x, y, **kwargs)


@pytest.mark.parametrize("normalize", [False, True])
def test_a_fit_that_preprocesses_x_declares_its_hyperparameter_when_it_runs(normalize):
    hp = HyperParameters(fixed={"normalize": normalize})
    hypermodel = Normalizing()
    hypermodel.build(hp)
    assert "normalize" not in hp  # building alone does not reach a name declared in fit
    _, history, _ = tuner_fit(hypermodel, hp, X[:8] * 100, Y[:8], epochs=1, verbose=0)
    assert hp.values["normalize"] is normalize
    assert bool(abs(hypermodel.seen_x.mean()) < 1e-3) == normalize  # the data were as big as 100
    assert len(history.history["loss"]) == 1


# --- conditional scopes for model selection ----------------------------------------------


def build_selected(hp):
    """The guide's model selection: each branch's hyperparameters live in its scope."""
    inputs = keras.Input((4, 4, 1))
    model_type = hp.Choice("model_type", ["mlp", "cnn"])
    x = inputs
    with hp.conditional_scope("model_type", ["mlp"]):
        units = hp.Int("mlp_units", 8, 32, step=8)  # None unless the branch is taken
        if model_type == "mlp":
            x = keras.layers.Dense(units, activation="relu")(keras.layers.Flatten()(x))
    with hp.conditional_scope("model_type", ["cnn"]):
        filters = hp.Int("filters", 4, 16, step=4)
        if model_type == "cnn":
            x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(filters, 3, padding="same")(x))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    return model


@pytest.mark.parametrize(
    "model_type, active, inactive",
    [("mlp", {"mlp_units": 8}, "filters"), ("cnn", {"filters": 4}, "mlp_units")],
)
def test_conditional_scopes_leave_the_inactive_branch_out_of_values(model_type, active, inactive):
    hp = HyperParameters(fixed={"model_type": model_type})
    model = build_selected(hp)
    assert hp.values == {"model_type": model_type, **active}
    assert inactive not in hp
    with pytest.raises(ValueError, match="inactive"):
        hp[inactive]
    model.fit(X.reshape(16, 4, 4, 1)[:8], Y[:8], epochs=1, verbose=0)


def test_a_study_may_fix_a_name_of_the_branch_it_selects():
    hp = HyperParameters(fixed={"model_type": "cnn", "filters": 12, "mlp_units": 999})
    model = build_selected(hp)  # mlp_units is out of its range, but inactive: never taken
    assert [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)] == [12]
    assert "mlp_units" not in hp.values


# --- keras_tuner.applications ----------------------------------------------------------


def _layer_names(model) -> set[str]:
    return {layer.name for layer in model.layers}


def test_hyper_resnet_builds_from_the_study_values():
    hp = HyperParameters(fixed={"version": "v1", "conv3_depth": 4, "conv4_depth": 6})
    model = keras_tuner.applications.HyperResNet(input_shape=(32, 32, 3), classes=3).build(hp)
    assert "conv1_bn" in _layer_names(model) and "post_bn" not in _layer_names(model)  # v1, not v2
    assert model.output_shape == (None, 3)
    assert hp.values == {
        "version": "v1",
        "conv3_depth": 4,
        "conv4_depth": 6,
        "pooling": "avg",
        "optimizer": "adam",
        "learning_rate": 0.01,
    }


def test_hyper_xception_builds_and_checks_its_stepped_dropout():
    fixed = {"sep_num_filters": 128, "num_residual_blocks": 2, "conv2d_num_filters": 32}
    hp = HyperParameters(fixed=fixed)
    model = keras_tuner.applications.HyperXception(input_shape=(32, 32, 3), classes=2).build(hp)
    assert model.output_shape == (None, 2)
    assert hp.values["dropout_rate"] == 0.5 and hp.declared["dropout_rate"].step == 0.1
    with pytest.raises(SearchSpaceError, match=r"sep_num_filters=200 .*steps of 128 from 128"):
        keras_tuner.applications.HyperXception(input_shape=(32, 32, 3), classes=2).build(
            HyperParameters(fixed={**fixed, "sep_num_filters": 200})
        )


@pytest.mark.slow
def test_hyper_xception_trains_through_the_tuner_call():
    fixed = {"sep_num_filters": 128, "num_residual_blocks": 2, "conv2d_num_filters": 32}
    x = RNG.random((4, 32, 32, 3)).astype("float32")
    y = keras.utils.to_categorical([0, 1, 0, 1], 2)
    hypermodel = keras_tuner.applications.HyperXception(input_shape=(32, 32, 3), classes=2)
    _, history, counter = tuner_fit(
        hypermodel, HyperParameters(fixed=fixed), x, y, epochs=1, batch_size=4, verbose=0
    )
    assert counter.steps == 1 and np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("augment_layers", [0, 3])
def test_hyper_image_augment_builds_both_of_its_modes(augment_layers):
    hp = HyperParameters(fixed={"factor_rotate": 0.1})
    hypermodel = keras_tuner.applications.HyperImageAugment(
        input_shape=(8, 8, 3), augment_layers=augment_layers
    )
    model = hypermodel.build(hp)
    assert model(np.zeros((2, 8, 8, 3), "float32")).shape == (2, 8, 8, 3)
    assert hp.values["factor_rotate"] == 0.1
    if augment_layers:  # RandAugment: how many layers is searched from 1, its default
        assert hp.values["augment_layers"] == 1
    else:  # each transform's factor on a 0.05 grid
        assert hp.declared["factor_rotate"].step == 0.05


def test_hyper_efficientnet_declarations_with_a_stand_in_backbone(monkeypatch):
    """Its backbones load ImageNet weights (a download); a tiny stand-in shows the rest works."""
    from keras_tuner.src.applications import efficientnet

    def tiny(include_top, input_tensor):
        inputs = keras.utils.get_source_inputs(input_tensor)  # as keras.applications do
        return keras.Model(inputs, keras.layers.Conv2D(4, 3, strides=16)(input_tensor))

    monkeypatch.setitem(efficientnet.EFFICIENTNET_MODELS, "B0", tiny)
    augment = keras_tuner.applications.HyperImageAugment(input_shape=(8, 8, 3), augment_layers=0)
    hp = HyperParameters(fixed={"top_dropout_rate": 0.4})
    model = keras_tuner.applications.HyperEfficientNet(
        input_shape=(8, 8, 3), classes=2, augmentation_model=augment
    ).build(hp)
    assert model.output_shape == (None, 2)
    assert {
        "version": "B0",
        "pooling": "avg",
        "top_dropout_rate": 0.4,
        "learning_rate": 0.01,
    }.items() <= hp.values.items()
    assert "factor_contrast" in hp.values  # the augmentation hypermodel built on the same hp


def test_a_hypermodel_that_is_not_tunable_builds_on_a_copy():
    """Keras Tuner's HyperModel(tunable=False) builds on ``hp.copy()``: its names are not added
    to the search space, and take the values given in advance (here, the study's) or defaults."""
    hp = HyperParameters(fixed={"version": "v1", "conv4_depth": 6})
    hypermodel = keras_tuner.applications.HyperResNet(input_shape=(32, 32, 3), classes=2, tunable=False)
    model = hypermodel.build(hp)
    assert "conv1_bn" in _layer_names(model)  # the study's version reached the copy
    assert hp.values == {} and hp.declared == {}  # and the original learned nothing
    with pytest.raises(SearchSpaceError, match=r"version='v9' \(the study fixes\)"):
        hypermodel.build(HyperParameters(fixed={"version": "v9"}))


# --- through the command: the study knows what the hypermodel's fit declares ------------------


@pytest.mark.parametrize("optimizer", [None, "adam"])
def test_a_hypermodel_that_compiles_itself_and_tunes_its_fit_runs_unchanged(
    optimizer, plugin_dist, make_study, workdir
):
    """The guide's pattern as a plugin (tests/conftest.py TunedFit): its fit's `shuffle` is fixed
    by the study and its `batch_size` searched, names the check learns by calling the hook on two
    samples; its own compile (SGD) stays unless the study names an optimizer plugin."""
    from click.testing import CliRunner

    from rnnstudy.cli import cli
    from rnnstudy.results import trials_frame
    from rnnstudy.stores.mlflow_tracking import Tracker

    named = f", optimizer={optimizer!r}" if optimizer else ""
    study = make_study(
        "from rnnstudy import Study\n"
        f"study = Study(dataset='tiny_images', model='tuned_fit'{named}, name='tuned',\n"
        "    search={'batch_size': [8, 16]}, fixed={'epochs': 1, 'shuffle': False})\n"
    )
    result = CliRunner().invoke(cli, ["optimize", str(study)])

    assert result.exit_code == 0, result.output
    assert "2 complete" in result.output
    frame = trials_frame(Tracker(), "tuned")
    assert sorted(frame["batch_size"]) == [8, 16] and list(frame["shuffle"]) == [False, False]
    assert set(frame["optimizer"]) == {"adam" if optimizer else "model.compile: SGD"}


def test_a_value_a_fit_does_not_allow_is_refused_before_anything_is_written(plugin_dist, make_study, workdir):
    from click.testing import CliRunner

    from rnnstudy.cli import cli

    study = make_study(
        "from rnnstudy import Study\n"
        "study = Study(dataset='tiny_images', model='tuned_fit', fixed={'epochs': 1, 'batch_size': 32})\n"
    )
    result = CliRunner().invoke(cli, ["optimize", str(study)])

    assert result.exit_code == 2, result.output
    assert "batch_size=32" in result.output and "[8, 16]" in result.output.replace("8, 16", "[8, 16]")
    assert not (workdir / "mlruns").exists()
