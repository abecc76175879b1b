"""The built-in optimizers again, in NumPy, for the NumPy RNN.

Same names, hyperparameters and update rules as Keras' SGD, RMSprop and Adam that
``rnnstudy_plugins.optimizers`` builds (epsilon 1e-7, decoupled weight decay, ``clipnorm`` per
variable, ``clipvalue`` per element), so a trial's logged optimizer settings mean the same
for a NumPy model as for a Keras one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnstudy.errors import SearchSpaceError

EPSILON = 1e-7  # Keras' default for RMSprop and Adam
RULES = ("sgd", "rmsprop", "adam")


class NumpyOptimizer:
    """Updates a dict of NumPy arrays in place from a dict of their gradients."""

    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        if name not in RULES:
            raise SearchSpaceError(
                f"optimizer={name!r}: the NumPy RNN has its own NumPy versions of {', '.join(RULES)} only; "
                "choose one of those for it"
            )
        self.name = name
        self.settings = settings
        self.slots: dict[str, dict[str, np.ndarray]] = {}
        self.iterations = 0

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> NumpyOptimizer:
        """The optimizer a trial's hyperparameter values describe (the optimizer plugin declared them)."""
        return cls(values["optimizer"], values)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        s = self.settings
        lr = s.get("learning_rate", 0.001)
        self.iterations += 1
        for name, grad in grads.items():
            grad = _clipped(grad, s.get("clipnorm") or 0.0, s.get("clipvalue") or 0.0)
            weights = params[name]
            if s.get("weight_decay"):
                weights -= weights * s["weight_decay"] * lr
            slots = self.slots.setdefault(name, {})
            weights += getattr(self, f"_{self.name}")(grad, slots, lr)

    def _sgd(self, grad, slots, lr):
        momentum = self.settings.get("momentum", 0.0)
        if not momentum:
            return -lr * grad
        velocity = slots.setdefault("velocity", np.zeros_like(grad))
        velocity *= momentum
        velocity -= lr * grad
        return momentum * velocity - lr * grad if self.settings.get("nesterov") else velocity.copy()

    def _rmsprop(self, grad, slots, lr):
        rho = self.settings.get("rho", 0.9)
        average = slots.setdefault("average", np.zeros_like(grad))
        average *= rho
        average += (1 - rho) * grad**2
        return -lr * grad / (np.sqrt(average) + EPSILON)

    def _adam(self, grad, slots, lr):
        beta_1, beta_2 = self.settings.get("beta_1", 0.9), self.settings.get("beta_2", 0.999)
        m = slots.setdefault("m", np.zeros_like(grad))
        v = slots.setdefault("v", np.zeros_like(grad))
        m += (1 - beta_1) * (grad - m)
        v += (1 - beta_2) * (grad**2 - v)
        t = self.iterations
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        return -alpha * m / (np.sqrt(v) + EPSILON)


def _clipped(grad: np.ndarray, clipnorm: float, clipvalue: float) -> np.ndarray:
    """Gradient clipping as Keras does it: by this variable's norm, or element by element."""
    if clipnorm:
        norm = np.sqrt(np.sum(grad**2))
        if norm > clipnorm:
            grad = grad * (clipnorm / norm)
    if clipvalue:
        grad = np.clip(grad, -clipvalue, clipvalue)
    return grad
