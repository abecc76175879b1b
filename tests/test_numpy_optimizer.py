import keras
import numpy as np
import pytest

from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins import optimizers
from rnnstudy_plugins.models.numpy_optimizer import NumpyOptimizer


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "sgd", "learning_rate": 0.1},
        {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.1},
        {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.5, "nesterov": True, "clipvalue": 0.3},
        {"optimizer": "rmsprop", "learning_rate": 0.01, "rho": 0.8, "clipnorm": 0.5},
        {"optimizer": "adam", "learning_rate": 0.01, "beta_1": 0.8, "weight_decay": 0.01},
    ],
)
def test_the_numpy_updates_match_the_keras_optimizer_the_same_settings_build(settings):
    hp = HyperParameters(fixed=settings)
    keras_optimizer = getattr(optimizers, settings["optimizer"])(hp)
    numpy_optimizer = NumpyOptimizer.from_values(hp.values | {"optimizer": settings["optimizer"]})
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4))
    variable = keras.Variable(start.astype("float32"))
    weights = {"w": start.copy()}
    for _ in range(4):
        grad = rng.normal(size=(3, 4))
        keras_optimizer.apply_gradients([(keras.ops.convert_to_tensor(grad.astype("float32")), variable)])
        numpy_optimizer.step(weights, {"w": grad})
    assert np.abs(weights["w"] - start).max() > 1e-3  # it moved
    np.testing.assert_allclose(weights["w"], variable.numpy(), rtol=1e-4, atol=1e-5)
