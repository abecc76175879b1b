"""Built-in optimizers: SGD with momentum, RMSProp and Adam (seed 003, Q3).

Each is a function ``build(hp) -> keras.optimizers.Optimizer`` and shares the learning rate,
weight decay and gradient clipping hyperparameters; 0 switches decay and clipping off.
"""

import keras

from rnnstudy.errors import SearchSpaceError


def _common(hp, default_learning_rate: float) -> dict:
    learning_rate = hp.Float("learning_rate", 1e-7, 10.0, sampling="log", default=default_learning_rate)
    weight_decay = hp.Float("weight_decay", 0.0, 1.0, default=0.0)
    clipnorm = hp.Float("clipnorm", 0.0, 1e6, default=0.0)
    clipvalue = hp.Float("clipvalue", 0.0, 1e6, default=0.0)
    if clipnorm and clipvalue:
        raise SearchSpaceError(
            f"clipnorm={clipnorm} and clipvalue={clipvalue}: clip by norm or by value, not both; "
            "set one of them to 0"
        )
    return {
        "learning_rate": learning_rate,
        "weight_decay": weight_decay or None,
        "clipnorm": clipnorm or None,
        "clipvalue": clipvalue or None,
    }


def sgd(hp) -> keras.optimizers.Optimizer:
    """Mini-batch gradient descent, with momentum when ``momentum`` > 0."""
    momentum = hp.Float("momentum", 0.0, 0.999, default=0.0)
    nesterov = hp.Boolean("nesterov", default=False)
    return keras.optimizers.SGD(momentum=momentum, nesterov=nesterov, **_common(hp, 0.01))


def rmsprop(hp) -> keras.optimizers.Optimizer:
    """RMSProp: gradients scaled by a running average of their magnitude."""
    rho = hp.Float("rho", 0.0, 0.999, default=0.9)
    return keras.optimizers.RMSprop(rho=rho, **_common(hp, 0.001))


def adam(hp) -> keras.optimizers.Optimizer:
    """Adam: adaptive first and second moments."""
    beta_1 = hp.Float("beta_1", 0.0, 0.999, default=0.9)
    beta_2 = hp.Float("beta_2", 0.0, 0.9999, default=0.999)
    return keras.optimizers.Adam(beta_1=beta_1, beta_2=beta_2, **_common(hp, 0.001))
