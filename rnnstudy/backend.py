"""TensorFlow, started once per process without its start-up noise, on its share of the cores.

TensorFlow's C++ side writes several lines to the stderr file descriptor before any logging
setting applies; a user of the CLI should see rnnstudy's progress, not that.
"""

from __future__ import annotations

import contextlib
import os
import sys


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


def start() -> None:
    """Import TensorFlow and Keras and find the devices, quietly; cheap after the first call."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()
        # its Python-side warnings (retracing of a feature-map probe, say) would break the progress lines
        tf.get_logger().setLevel("ERROR")


def thread_env(workers: int) -> dict[str, str]:
    """TensorFlow's thread counts for one of ``workers`` processes sharing this machine's cores.

    Each TensorFlow process sizes its thread pools to every core; several of them then fight
    over the cores. A user's own ``TF_NUM_*_THREADS`` settings win.
    """
    if workers <= 1:
        return {}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    share = str(max(1, cores // workers))
    wanted = {"TF_NUM_INTRAOP_THREADS": share, "TF_NUM_INTEROP_THREADS": share}
    return {k: v for k, v in wanted.items() if k not in os.environ}


def exit_now(code: int) -> None:
    """End the process at once with ``code``, once its output is flushed.

    TensorFlow's native teardown at interpreter exit takes over a second and writes nothing
    anyone needs; a process whose work is done and logged skips it.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
