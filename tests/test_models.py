import keras
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy_plugins import optimizers
from rnnstudy_plugins.models.cnn import CNN

CIFAR = {"input_shape": (32, 32, 3), "num_classes": 10}


def test_the_seed_003_cnn_at_90_40_has_the_reports_307310_parameters():
    model = CNN(CIFAR).build(HyperParameters(fixed={"c1": 90, "c2": 40}))
    assert model.count_params() == 307_310
    assert [model.get_layer(n).output.shape[1:] for n in ("c1", "s1", "c2", "s2")] == [
        (24, 24, 90),
        (12, 12, 90),
        (8, 8, 40),
        (4, 4, 40),
    ]


def test_dropout_adds_layers_but_no_parameters():
    plain = CNN(CIFAR).build(HyperParameters(fixed={"c1": 90, "c2": 40}))
    dropped = CNN(CIFAR).build(HyperParameters(fixed={"c1": 90, "c2": 40, "dropout": 0.5}))
    assert dropped.count_params() == plain.count_params()
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in dropped.layers) == 2


@pytest.mark.parametrize(
    ("name", "cls"),
    [("sgd", keras.optimizers.SGD), ("rmsprop", keras.optimizers.RMSprop), ("adam", keras.optimizers.Adam)],
)
def test_optimizers_take_learning_rate_decay_and_clipping(name, cls):
    hp = HyperParameters(fixed={"learning_rate": 0.05, "weight_decay": 0.01, "clipnorm": 2.0})
    optimizer = getattr(optimizers, name)(hp)
    assert isinstance(optimizer, cls)
    assert float(optimizer.learning_rate) == pytest.approx(0.05)
    assert optimizer.weight_decay == pytest.approx(0.01) and optimizer.clipnorm == 2.0


def test_sgd_momentum_and_clipping_by_value():
    optimizer = optimizers.sgd(HyperParameters(fixed={"momentum": 0.1, "clipvalue": 0.5}))
    assert optimizer.momentum == pytest.approx(0.1) and optimizer.clipvalue == 0.5


def test_clipping_by_norm_and_value_at_once_is_refused():
    with pytest.raises(SearchSpaceError, match="clip by norm or by value, not both"):
        optimizers.adam(HyperParameters(fixed={"clipnorm": 1.0, "clipvalue": 1.0}))
