"""The Keras backend of this process (TensorFlow, JAX or PyTorch): chosen, checked, started
quietly, on its share of the cores.

Keras reads ``KERAS_BACKEND`` once, at its first import, so a process runs one backend for
its whole life; worker processes get theirs through :func:`env` before they import Keras.

What differs by backend, and what rnnstudy does about it:

- start-up noise: TensorFlow's C++ side writes several lines to the stderr file descriptor
  before any logging setting applies; :func:`start` silences them (a user of the CLI should
  see rnnstudy's progress, not that). JAX and PyTorch start quietly.
- threads: :func:`env` gives each of several workers its share of the cores: TensorFlow's
  ``TF_NUM_*_THREADS``; PyTorch's ``OMP_NUM_THREADS`` (its intra-op pool); JAX has no setting
  for N threads (jax-ml/jax#1539), only XLA's single-threaded mode, used when the share is one
  core; with a larger share each JAX worker uses every core.
- TensorFlow on the other backends: Keras 3.15 imports it, when it is installed, to ask
  whether an object is a TensorFlow type: every ``Bidirectional`` layer does at construction,
  ``keras.utils.set_random_seed`` on every call (keras-team/keras#18455). Here that import
  took 3.3 s and 500 MiB of a JAX process (7 s and 885 MiB peak against 3.5 s and 387 MiB), so on JAX and PyTorch :func:`start` has those two
  Keras modules see TensorFlow only once something else has imported it (see
  :class:`_TensorFlowIfImported`). A plugin may still import TensorFlow (``tf.data``,
  ``StringLookup``); Keras then works with it as usual.
- determinism (``--deterministic``): :func:`env` sets :data:`DETERMINISTIC_ENV`, and
  :func:`start` turns the backend's deterministic ops on as Keras starts: TensorFlow's
  ``enable_op_determinism()``, PyTorch's ``use_deterministic_algorithms(True)`` (with the
  cuBLAS workspace its GPU kernels need). JAX on the CPU is deterministic already; on a GPU
  :func:`env` adds XLA's ``--xla_gpu_deterministic_ops``. :func:`deterministic` says whether
  it is on, for the trial to log.
- exit: :func:`exit_now` on every backend (none of them has anything to write at teardown).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from rnnstudy.errors import RnnstudyError

BACKENDS = ("tensorflow", "jax", "torch", "auto")
DEFAULT = "tensorflow"
EXTRAS = {"tensorflow": "", "jax": "jax", "torch": "torch"}  # the pip extra that installs each
MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
DETERMINISTIC_ENV = "RNNSTUDY_DETERMINISTIC"  # "1": deterministic ops, set by env(), applied by start()


class BackendError(RnnstudyError):
    """An unknown backend, one that is not installed, or a clash with Keras already imported."""


def check(name: str) -> str:
    """``name`` if this machine can run it; ``auto`` is always allowed.

    Raises:
        BackendError: an unknown backend, or one whose package is not installed.
    """
    if name not in BACKENDS:
        raise BackendError(f"backend {name!r} is not known; allowed: {', '.join(BACKENDS)}")
    if name != "auto" and not installed(name):
        extra = EXTRAS[name]
        how = f"pip install -e '.[{extra}]'" if extra else "pip install -e ."
        raise BackendError(f"backend {name!r} is not installed: {how}")
    return name


def installed(name: str) -> bool:
    """Whether the package of backend ``name`` can be imported here (without importing it)."""
    return importlib.util.find_spec(MODULES[name]) is not None


def current() -> str | None:
    """The backend Keras runs in this process; None before Keras is imported."""
    if "keras" not in sys.modules:
        return None
    import keras

    return keras.backend.backend()


def start(name: str | None = None) -> str:
    """Import Keras on backend ``name``, quietly; return the backend's name. Cheap after the first call.

    Args:
        name: one of :data:`BACKENDS` but ``auto`` (decide it first with :func:`choose`); None:
            ``$KERAS_BACKEND``, else TensorFlow.

    Raises:
        BackendError: ``name`` is unknown or not installed, or Keras already runs another backend
            in this process.
    """
    name = name or os.environ.get("KERAS_BACKEND") or DEFAULT
    if name == "auto":
        raise BackendError("backend 'auto' must be decided before Keras starts: call backend.choose")
    running = current()
    if running is not None:
        if running != name:
            raise BackendError(
                f"backend {name!r} asked for, but Keras already runs on {running!r} in this process: "
                "a process runs one backend; start a new one"
            )
        if name != "tensorflow":  # Keras imported by someone else first
            _tensorflow_only_if_imported()
        _determinism(name)
        return name
    check(name)
    os.environ["KERAS_BACKEND"] = name
    if name != "tensorflow":
        import keras  # noqa: F401

        _tensorflow_only_if_imported()
        _determinism(name)
        return name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()
        # its Python-side warnings (retracing of a feature-map probe, say) would break the progress lines
        tf.get_logger().setLevel("ERROR")
    _determinism(name)
    return name


def _determinism(name: str) -> None:
    """Deterministic ops on, when the environment asks (:func:`env`); before any model is built."""
    global _deterministic
    if os.environ.get(DETERMINISTIC_ENV) != "1":
        return
    if name == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif name == "torch":
        import torch

        torch.use_deterministic_algorithms(True)
    # jax: the CPU is deterministic; a GPU got XLA's flag from env() before jax was imported
    _deterministic = True


_deterministic = False  # turned on by start() (TensorFlow has no public call that asks)


def deterministic() -> bool:
    """Whether :func:`start` turned deterministic ops on in this process (what a trial logs)."""
    return _deterministic


class _TensorFlowIfImported:
    """Keras' lazy ``tensorflow`` module, ``available`` only once TensorFlow is imported.

    The two Keras modules given it ask ``tf.available and isinstance(obj, tf.TensorShape)``
    (serialization) and seed TensorFlow if it is available (``set_random_seed``). An object
    can only be a TensorFlow type, and TensorFlow only needs a seed, once it is imported:
    the answers are the same, without the import.
    """

    def __init__(self, lazy) -> None:
        self._lazy = lazy

    @property
    def available(self) -> bool:
        return "tensorflow" in sys.modules and self._lazy.available

    def __getattr__(self, name: str):
        return getattr(self._lazy, name)


def _tensorflow_only_if_imported() -> None:
    import importlib

    from keras.src.utils.module_utils import LazyModule

    for module_name in ("keras.src.saving.serialization_lib", "keras.src.utils.rng_utils"):
        module = importlib.import_module(module_name)
        if isinstance(getattr(module, "tf", None), LazyModule):  # another Keras: left as it is
            module.tf = _TensorFlowIfImported(module.tf)


@contextlib.contextmanager
def _stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def env(name: str, workers: int = 1, *, deterministic: bool = False) -> dict[str, str]:
    """What a worker process needs in its environment, before it imports Keras, to run backend
    ``name`` as one of ``workers`` processes sharing this machine's cores, with deterministic
    ops when ``deterministic``.

    A user's own settings of these variables win. Each backend sizes its thread pools to every
    core; several processes then fight over the cores, hence the shares.
    """
    check(name)
    if name == "auto":
        raise BackendError("backend 'auto' must be decided before workers start: call backend.choose")
    wanted = {"KERAS_BACKEND": name}
    if workers > 1:
        share = max(1, _cores() // workers)
        if name == "tensorflow":
            wanted |= {"TF_NUM_INTRAOP_THREADS": str(share), "TF_NUM_INTEROP_THREADS": str(share)}
        elif name == "torch":
            wanted |= {"OMP_NUM_THREADS": str(share)}  # torch.get_num_threads() follows it
        elif share == 1:  # jax: XLA has a single-threaded mode and no N-thread setting
            wanted |= {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
    if deterministic:
        wanted |= _deterministic_env(name, wanted.get("XLA_FLAGS"))
    kept = {k: v for k, v in wanted.items() if k not in os.environ}
    kept["KERAS_BACKEND"] = name  # the study's choice, over a stray variable of the shell
    if deterministic:  # asked for on the command line: over a stray variable too
        kept[DETERMINISTIC_ENV] = "1"
    return kept


def _deterministic_env(name: str, xla_flags: str | None) -> dict[str, str]:
    """The variables deterministic ops need before the backend is imported."""
    wanted = {DETERMINISTIC_ENV: "1"}
    if name == "torch" and gpu_visible():  # cuBLAS is deterministic only with a fixed workspace
        wanted["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
    if name == "jax" and gpu_visible():  # read once, when jax starts
        wanted["XLA_FLAGS"] = " ".join(filter(None, [xla_flags, "--xla_gpu_deterministic_ops=true"]))
    return wanted


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def choose(models: Iterable, *, gpu: bool | None = None, have_jax: bool | None = None) -> str:
    """The backend ``auto`` means for a study whose dry run built ``models``, on this machine.

    TensorFlow, on the evidence so far (2 CPU cores, no GPU, Keras 3.15.1):

    - whole trials through rnnstudy, seed 002's char-RNN grid (SimpleRNN / LSTM / GRU x 10, 20,
      30 characters, 2 epochs, 5,000 windows, one run each, measured 2026-12-01 with other jobs
      on the machine, two rounds in alternating order): TensorFlow 80.5 and 83.4 s, JAX 140.0
      and 83.0 s, PyTorch 376.0 and 336.4 s for the grid, best validation accuracy 0.246 /
      0.242 / 0.232 (the same in both rounds; see BENCHMARKS.md, "Keras backends"): JAX at best
      ties TensorFlow;
    - bare Keras fits of both workloads, 5 epochs, compilation included (BENCHMARKS.md): JAX
      took 1.60x TensorFlow's time on the char-RNN grid and 3.4x on the CNN grid; PyTorch
      7.5x and 6.3x;
    - per epoch after the first (the issue's measurement, not repeated here): JAX 1.3-1.7x
      faster than TensorFlow on the recurrent models, about 2x slower on the CNN. So JAX may
      win trials long enough to pay back its compilation: a rule for that needs the crossover
      measured first.

    Nothing was measured on a GPU. ``models``, ``gpu`` and ``have_jax`` are what a rule
    backed by new figures would look at.
    """
    return DEFAULT


def gpu_visible() -> bool:
    """Whether an NVIDIA GPU is visible to this process, asked of the driver, not of a framework
    (that would mean importing one before the backend is chosen)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def exit_now(code: int) -> None:
    """End the process at once with ``code``, once its output is flushed.

    TensorFlow's native teardown at interpreter exit takes over a second and writes nothing
    anyone needs; a process whose work is done and logged skips it. JAX and PyTorch keep
    nothing unwritten either (no persistent compilation cache is configured), so it is safe on
    every backend (tests/test_backends.py ends a fitted process of each this way).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
