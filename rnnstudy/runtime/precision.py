"""Numeric precision of a trial: the runner-level hyperparameter ``precision``.

- ``float32``: everything in float32.
- ``mixed_bfloat16``: Keras' mixed policy: layers compute in bfloat16 and keep float32
  weights, so optimizer updates stay exact.
- ``auto``: ``mixed_bfloat16`` where the hardware computes bfloat16 natively (a CPU with AMX
  or AVX512_BF16, a GPU of compute capability 8.0 or newer), else ``float32``; and ``float32``
  for a model with recurrent layers (see :func:`recurrent`).

The default is ``float32``: bf16 changes results (a diverging Adam run need not diverge), so
a study opts in with ``precision="auto"`` once benchmarks/compare.py shows no accuracy loss.

Every Keras backend takes the policy (tests/test_backends.py trains the CNN in mixed bfloat16
on TensorFlow, JAX and PyTorch). The hardware rule of ``auto`` was measured on TensorFlow
only (oneDNN's bf16 kernels); how fast JAX's and PyTorch's CPU kernels run bf16 was not.

Models should keep their output layer in float32 (``dtype="float32"``), as Keras' mixed
precision guide advises; the built-in ones do.
"""

from __future__ import annotations

import functools
from pathlib import Path

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo names of native bf16 units
GPU_BF16_CAPABILITY = (8, 0)  # Ampere and newer


def resolve(precision: str, *, cpu_flags: frozenset[str] | None = None, gpus: list | None = None) -> str:
    """The Keras dtype policy that ``precision`` means on this machine.

    Args:
        precision: one of :data:`PRECISIONS`.
        cpu_flags: the CPU's feature flags; read from ``/proc/cpuinfo`` when None.
        gpus: compute capabilities of the visible GPUs, e.g. ``[(8, 0)]``; asked of the
            running Keras backend (TensorFlow, JAX or PyTorch) when None.
    """
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if native_bf16(cpu_flags=cpu_flags, gpus=gpus) else "float32"


def native_bf16(*, cpu_flags: frozenset[str] | None = None, gpus: list | None = None) -> bool:
    """Whether the devices that train (every visible GPU, else the CPU) have bfloat16 units."""
    gpus = _gpu_capabilities() if gpus is None else gpus
    if gpus:
        return all(tuple(c) >= GPU_BF16_CAPABILITY for c in gpus)
    flags = _cpu_flags() if cpu_flags is None else cpu_flags
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def apply(precision: str) -> str:
    """Set Keras' global dtype policy for the models built next; return the policy's name."""
    import keras

    policy = resolve(precision)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def recurrent(model) -> bool:
    """Whether ``model`` has recurrent layers (SimpleRNN, LSTM, GRU, wrapped or nested).

    ``auto`` trains these in float32: in BENCHMARKS.md (an AVX512_BF16 CPU) bfloat16 made the
    char-RNN grid's fits slower (0.87×) and cost 0.6 points of its best accuracy.
    """
    import keras

    layers = list(getattr(model, "layers", []))
    while layers:
        layer = layers.pop()
        if isinstance(layer, keras.layers.RNN | keras.layers.Bidirectional):
            return True
        layers += getattr(layer, "layers", [])
    return False


@functools.cache
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no bf16 claimed without evidence
        return frozenset()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


@functools.cache
def _gpu_capabilities() -> tuple[tuple[int, int], ...]:
    """Compute capabilities of the GPUs the running Keras backend trains on (none: the CPU)."""
    import keras

    name = keras.backend.backend()
    if name == "jax":
        import jax

        # a CUDA device has compute_capability "9.0"; a CPU-only jaxlib lists no gpu devices
        devices = [d for d in jax.devices() if d.platform == "gpu"]
        return tuple(_capability(getattr(d, "compute_capability", "")) for d in devices)
    if name == "torch":
        import torch

        if not torch.cuda.is_available():
            return ()
        return tuple(tuple(torch.cuda.get_device_capability(i)) for i in range(torch.cuda.device_count()))
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        found.append(tuple(capability) if capability else (0, 0))
    return tuple(found)


def _capability(text: str) -> tuple[int, int]:
    """ "8.6" -> (8, 6); unknown -> (0, 0), so that no bf16 is claimed without evidence."""
    try:
        major, minor = str(text).split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)
