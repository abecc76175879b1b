import math

import numpy as np
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins.datasets import char_text
from rnnstudy_plugins.models import generation
from rnnstudy_plugins.models.numpy_rnn import Network, NumpyRNN


def numerical_gradient(network, x, y, name, step=1e-6):
    weights = network.params[name]
    grad = np.zeros_like(weights)
    for index in np.ndindex(weights.shape):
        saved = weights[index]
        weights[index] = saved + step
        above = network.loss_and_gradients(x, y)[0]
        weights[index] = saved - step
        below = network.loss_and_gradients(x, y)[0]
        weights[index] = saved
        grad[index] = (above - below) / (2 * step)
    return grad


def test_backpropagation_through_time_matches_numerical_gradients():
    network = Network(vocabulary_size=6, units=5, seed=1)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 6, size=(4, 7)), rng.integers(0, 6, size=4)  # repeated tokens included
    _, grads, _ = network.loss_and_gradients(x, y)
    for name in network.params:
        expected = numerical_gradient(network, x, y, name)
        assert np.abs(grads[name] - expected).max() <= 1e-7 * max(1.0, np.abs(expected).max()), name


def tiny_text(tmp_path, **fixed):
    (tmp_path / "tiny.txt").write_text("abcdefgh" * 100)
    hp = HyperParameters(fixed={"corpus": "tiny", "sequence_length": 4, **fixed})
    return char_text.load(hp, data_dir=str(tmp_path))


def trial_hp(**fixed):
    """The hyperparameters as a trial has them: the runner's, the model's, then the optimizer's."""
    hp = HyperParameters(fixed=fixed)
    hp.Int("seed", 0, 100, default=0)
    hp.Choice("optimizer", ["adam", "sgd", "rmsprop", "lamb"], default="adam")
    return hp


class Recorder:
    """A callback as the runner gives it: set_model, then on_epoch_end with Keras-style logs."""

    def __init__(self, stop_after: int | None = None):
        self.logs, self.stop_after, self.model = [], stop_after, None

    def set_model(self, model):
        self.model = model

    def on_epoch_end(self, epoch, logs):
        self.logs.append(dict(logs))
        if self.stop_after is not None and epoch + 1 >= self.stop_after:
            self.model.stop_training = True


def fit(hypermodel, network, data, hp, epochs, callback):
    hypermodel.fit(
        hp,
        network,
        x=data.x_train,
        y=data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=16,
        callbacks=[callback],
    )


def test_it_learns_a_repeating_text_and_its_loss_falls(tmp_path):
    data = tiny_text(tmp_path)
    hypermodel = NumpyRNN(data.info)
    hp = trial_hp(units=16, learning_rate=0.01)
    network = hypermodel.build(hp)
    before = network.evaluate(data.x_val, data.y_val)
    recorder = Recorder()
    fit(hypermodel, network, data, hp, 8, recorder)
    losses = [row["loss"] for row in recorder.logs]
    assert losses[-1] < 0.2 * losses[0] and all(b < a for a, b in zip(losses, losses[1:]))
    after = network.evaluate(data.x_val, data.y_val)
    assert after["loss"] < 0.1 * before["loss"] and after["accuracy"] == 1.0
    logged = {f"{split}{name}" for split in ("", "val_") for name in ("loss", "accuracy", "perplexity")}
    assert set(recorder.logs[-1]) == logged
    assert recorder.logs[-1]["perplexity"] == pytest.approx(math.exp(recorder.logs[-1]["loss"]))


def test_fit_stops_when_a_callback_sets_stop_training(tmp_path):
    data = tiny_text(tmp_path)
    hypermodel = NumpyRNN(data.info)
    hp = trial_hp(units=4)
    recorder = Recorder(stop_after=2)
    fit(hypermodel, hypermodel.build(hp), data, hp, 10, recorder)
    assert len(recorder.logs) == 2


def test_it_clips_by_default_and_counts_its_weights(tmp_path):
    data = tiny_text(tmp_path)
    hp = trial_hp(units=4)
    network = NumpyRNN(data.info).build(hp)
    assert hp.values["clipvalue"] == 5.0  # declared by the model before the optimizer plugin
    vocabulary = len(data.info["vocabulary"])
    assert network.count_params() == vocabulary * 4 + 4 * 4 + 4 + 4 * vocabulary + vocabulary
    assert network.predict(data.x_test).shape == (len(data.y_test), vocabulary)


def test_an_optimizer_it_has_no_numpy_version_of_is_refused(tmp_path):
    data = tiny_text(tmp_path)
    hypermodel = NumpyRNN(data.info)
    hp = trial_hp(optimizer="lamb")
    with pytest.raises(SearchSpaceError, match=r"optimizer='lamb': the NumPy RNN has its own NumPy versions"):
        fit(hypermodel, hypermodel.build(hp), data, hp, 1, Recorder())


def test_it_writes_generated_text_and_its_weight_shapes(tmp_path):
    data = tiny_text(tmp_path)
    hypermodel = NumpyRNN(data.info)
    network = hypermodel.build(trial_hp(units=4))
    hypermodel.artifacts(network, data, tmp_path)
    assert (tmp_path / generation.FILE).read_text().count("## sample") == 6
    assert "W_hh: (4, 4)" in (tmp_path / "model_summary.txt").read_text()
