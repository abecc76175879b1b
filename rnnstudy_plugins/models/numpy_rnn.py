"""A recurrent network written from scratch in NumPy: seed 001's baseline. No Keras at all.

    h_t  = tanh(x_t W_xh + h_{t-1} W_hh + b_h)      x_t: the one-hot vector of token t
    p    = softmax(h_T W_hy + b_y)                  the next token after the window

``x_t W_xh`` is a row lookup, ``W_xh[token]``: the one-hot product without the zeros. Training
is backpropagation through time over the whole window, gradient clipping (``clipvalue``,
5 by default as in Karpathy's min-char-rnn, or ``clipnorm``), and the trial's optimizer
(sgd, rmsprop or adam) in NumPy. The plugin follows the runner's non-Keras protocol: a
``fit`` hook that drives the epoch callbacks, and ``evaluate``, ``predict``,
``count_params`` and ``stop_training`` on the network; its ``train_on_batch`` and
``test_on_batch`` let the study's time be estimated before it starts (rnnstudy.run._estimate).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rnnstudy_plugins.models import generation
from rnnstudy_plugins.models.numpy_optimizer import NumpyOptimizer


class Network:
    """The weights, the forward pass and its gradients."""

    def __init__(self, vocabulary_size: int, units: int, seed: int = 0, settings: dict | None = None) -> None:
        rng = np.random.default_rng(seed)
        bound = 1 / math.sqrt(units)  # PyTorch's nn.RNN initialisation

        def uniform(*shape):
            return rng.uniform(-bound, bound, size=shape)

        self.params = {
            "W_xh": uniform(vocabulary_size, units),
            "W_hh": uniform(units, units),
            "b_h": np.zeros(units),
            "W_hy": uniform(units, vocabulary_size),
            "b_y": np.zeros(vocabulary_size),
        }
        self.stop_training = False
        # the trial's hyperparameter values: the optimizer plugin declares its own after the
        # model is built, so the optimizer is made from them at the first training step
        self.settings = {} if settings is None else settings
        self.optimizer: NumpyOptimizer | None = None

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Next-token probabilities (batch, vocabulary) and every hidden state (time + 1, batch, units)."""
        p = self.params
        batch, steps = x.shape
        hidden = np.zeros((steps + 1, batch, p["W_hh"].shape[0]))
        for t in range(steps):
            hidden[t + 1] = np.tanh(p["W_xh"][x[:, t]] + hidden[t] @ p["W_hh"] + p["b_h"])
        logits = hidden[steps] @ p["W_hy"] + p["b_y"]
        logits -= logits.max(axis=1, keepdims=True)  # stable softmax
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True), hidden

    def loss_and_gradients(self, x: np.ndarray, y: np.ndarray):
        """Mean cross-entropy of the batch, its gradient for every weight (BPTT), and the probabilities."""
        p = self.params
        probs, hidden = self._forward(x)
        rows = np.arange(len(y))
        loss = float(-np.mean(np.log(np.maximum(probs[rows, y], 1e-300))))

        grads = {name: np.zeros_like(value) for name, value in p.items()}
        d_logits = probs.copy()
        d_logits[rows, y] -= 1
        d_logits /= len(y)
        grads["W_hy"] = hidden[-1].T @ d_logits
        grads["b_y"] = d_logits.sum(axis=0)
        d_hidden = d_logits @ p["W_hy"].T
        for t in reversed(range(x.shape[1])):  # back through time
            d_pre = d_hidden * (1 - hidden[t + 1] ** 2)  # through tanh
            np.add.at(grads["W_xh"], x[:, t], d_pre)
            grads["W_hh"] += hidden[t].T @ d_pre
            grads["b_h"] += d_pre.sum(axis=0)
            d_hidden = d_pre @ p["W_hh"].T
        return loss, grads, probs

    def train_on_batch(self, x, y) -> dict[str, float]:
        """One optimizer step on a batch; the batch's loss and accuracy before the step, as Keras'
        ``train_on_batch(return_dict=True)``."""
        if self.optimizer is None:
            self.optimizer = NumpyOptimizer.from_values(self.settings)
        x, y = np.asarray(x), np.asarray(y)
        loss, grads, probs = self.loss_and_gradients(x, y)
        self.optimizer.step(self.params, grads)
        return {"loss": loss, "accuracy": float(np.mean(probs.argmax(axis=1) == y))}

    def test_on_batch(self, x, y) -> dict[str, float]:
        return self.evaluate(x, y, batch_size=len(y))

    def predict(self, x, batch_size: int | None = None, verbose: int = 0) -> np.ndarray:
        size = batch_size or 1024
        x = np.asarray(x)
        return np.concatenate([self._forward(x[i : i + size])[0] for i in range(0, len(x), size)])

    def evaluate(self, x, y, batch_size: int | None = None, verbose: int = 0, return_dict: bool = True):
        """Loss, accuracy and perplexity over ``x``, as Keras' ``evaluate(return_dict=True)``."""
        probs = self.predict(x, batch_size)
        y = np.asarray(y)
        loss = float(-np.mean(np.log(np.maximum(probs[np.arange(len(y)), y], 1e-300))))
        result = {
            "loss": loss,
            "accuracy": float(np.mean(probs.argmax(axis=1) == y)),
            "perplexity": _exp(loss),
        }
        return result if return_dict else list(result.values())


class NumpyRNN:
    """The plugin: builds a :class:`Network` and trains it like the Keras models are trained."""

    def __init__(self, info: dict) -> None:
        self.vocabulary_size = int(info["num_classes"])
        self.separator = info.get("separator", " ")

    def build(self, hp) -> Network:
        units = hp.Int("units", 1, 8192, default=128)
        # declared before the optimizer plugin does, so the NumPy RNN clips by default
        hp.Float("clipvalue", 0.0, 1e6, default=5.0)
        return Network(self.vocabulary_size, units, seed=hp.get("seed"), settings=hp.values)

    def fit(self, hp, model: Network, *, x, y, validation_data, epochs, batch_size, callbacks=(), verbose=0):
        """Mini-batch training; after each epoch the callbacks get Keras-style logs."""
        model.optimizer = NumpyOptimizer.from_values(hp.values)  # a fresh one: each fit starts anew
        rng = np.random.default_rng(hp.values.get("seed", 0))
        x, y = np.asarray(x), np.asarray(y)
        for callback in callbacks:
            callback.set_model(model)
        model.stop_training = False
        for epoch in range(epochs):
            total_loss = correct = 0.0
            order = rng.permutation(len(y))
            for start in range(0, len(y), batch_size):
                rows = order[start : start + batch_size]
                step = model.train_on_batch(x[rows], y[rows])
                total_loss += step["loss"] * len(rows)
                correct += step["accuracy"] * len(rows)
            mean_loss = total_loss / len(y)
            logs = {"loss": mean_loss, "accuracy": correct / len(y), "perplexity": _exp(mean_loss)}
            val = model.evaluate(*validation_data, batch_size=batch_size)
            logs.update({f"val_{k}": v for k, v in val.items()})
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if model.stop_training:
                break

    def artifacts(self, model: Network, data, directory: Path) -> None:
        """generated_text.txt, and the weight shapes (Keras models get a summary instead)."""
        length = 300 if self.separator == "" else 40
        generation.write(model.predict, data, directory, length=length)
        lines = [f"{name}: {value.shape}" for name, value in model.params.items()]
        lines.append(f"total: {model.count_params():,} parameters (float64)")
        (Path(directory) / "model_summary.txt").write_text("\n".join(lines) + "\n")


def _exp(loss: float) -> float:
    return math.exp(loss) if loss < 700 else math.inf
