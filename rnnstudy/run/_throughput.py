"""How many worker processes train a study fastest on this machine's CPU cores (``--workers auto``).

Two processes on two cores are not twice one. A small model's steps do not keep two threads
busy, so two single-threaded processes often beat one process with both cores; a large or
memory-bound model may not. So the answer is measured, not guessed:

- :func:`measure` builds the study's first point in probe processes and times its training
  steps: one process with every core, then 2 (and 4, where there are that many cores) at once,
  each with its share of the cores (rnnstudy.runtime.backend.env);
- :func:`choose` takes the fastest count, but a count above one must beat one worker by
  ``MARGIN``: two workers must never be slower than one;
- :class:`Memory` keeps the speeds per model and machine in ``workers.json`` under
  ``$RNNSTUDY_CACHE_DIR`` (default ``~/.cache/rnnstudy``), so later studies of that model
  start with the answer.

Measuring costs a few seconds (each probe imports the backend and builds the model), so a
study without a remembered answer measures only when its estimate is at least
``MEASURE_AFTER_S``; a shorter one runs on one worker. With GPUs there is nothing to
measure: one worker per GPU (rnnstudy.runtime.devices.placement).
"""

from __future__ import annotations

import json
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnstudy.errors import RnnstudyError
from rnnstudy.run._pool import _main_hidden
from rnnstudy.runtime import backend, devices

MARGIN = 1.10  # a count above one wins only this much faster than one worker
MEASURE_AFTER_S = 300.0  # a study this long (one worker's estimate) pays for measuring
PROBE_STEPS = 10  # timed training steps per probe and round, after the first (tracing)
ROUNDS = 2  # each count is timed this many times, its best kept
PROBE_TIMEOUT_S = 180.0  # a probe that has not answered by then is given up (one worker, said why)
CACHE_ENV = "RNNSTUDY_CACHE_DIR"


def cache_path() -> Path:
    """Where the speeds are remembered."""
    root = (
        os.environ.get(CACHE_ENV)
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnnstudy"
    )
    return Path(root) / "workers.json"


def machine() -> str:
    """This machine as the memory knows it: its CPU and the cores this process may use."""
    return devices.describe(None)


def model_key(spec, backend_name: str) -> str:
    """What decides how a study's steps share the cores: its model and dataset plugins, batch
    size, precision and backend (the searched values aside: a study's points share the answer)."""
    fixed = spec.fixed
    parts = {
        "model": fixed.get("model") or spec.search.get("model"),
        "dataset": fixed.get("dataset") or spec.search.get("dataset"),
        "batch_size": fixed.get("batch_size"),
        "precision": fixed.get("precision"),
        "backend": backend_name,
    }
    return json.dumps(parts, sort_keys=True, default=str)


def choose(speeds: dict[int, float]) -> int:
    """The worker count to run: the fastest measured, where a count above one beats one worker's
    speed by ``MARGIN`` (1 when one worker was not measured)."""
    one = speeds.get(1)
    if not one:
        return 1
    faster = {n: s for n, s in speeds.items() if n == 1 or s >= MARGIN * one}
    return max(faster, key=lambda n: (faster[n], -n))


@dataclass(frozen=True)
class Remembered:
    """A model's measured speeds on a machine (steps per second, all processes together)."""

    speeds: dict[int, float]

    @property
    def workers(self) -> int:
        return choose(self.speeds)

    @property
    def efficiency(self) -> float | None:
        """The chosen count's throughput over that many times one worker's (for the estimate)."""
        n = self.workers
        return self.speeds[n] / (n * self.speeds[1]) if n > 1 and self.speeds.get(1) else None

    def line(self, where: str) -> str:
        n = self.workers
        if n == 1:
            others = ", ".join(
                f"{k} workers {s / self.speeds[1]:.2f}×" for k, s in sorted(self.speeds.items()) if k > 1
            )
            return f"workers auto: 1 ({where}: {others} one worker's speed, under the {MARGIN:.2f}× it takes)"
        return f"workers auto: {n} ({where}: {self.speeds[n] / self.speeds[1]:.2f}× one worker's speed)"


class Memory:
    """The speeds measured per machine and model, in one JSON file. A file that cannot be read
    is as good as none: a study never stops for its cache."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()

    def _read(self) -> dict[str, Any]:
        try:
            found = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def get(self, model: str, where: str | None = None) -> Remembered | None:
        entry = self._read().get(where or machine(), {}).get(model)
        try:
            speeds = {int(n): float(s) for n, s in entry["speeds"].items()}
        except (TypeError, KeyError, ValueError, AttributeError):
            return None
        return Remembered(speeds) if speeds.get(1) else None

    def put(self, model: str, speeds: dict[int, float], where: str | None = None) -> Remembered:
        known = self._read()
        known.setdefault(where or machine(), {})[model] = {
            "speeds": {str(n): s for n, s in sorted(speeds.items())},
            "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(known, indent=1, sort_keys=True))
        partial.replace(self.path)  # whole or not at all: another study may read it now
        return Remembered(speeds)


class ProbeError(RnnstudyError):
    """The worker-count probe could not time the study's steps."""


@dataclass(frozen=True)
class Probe:
    """What a probe process builds and times: one point of the study, on its own share of cores."""

    study: bytes  # the Study, pickled (its overrides applied)
    point: dict | None
    data_dir: str | None
    env: dict[str, str]  # the backend's variables for its share of the cores
    steps: int = PROBE_STEPS


def counts_to_try(cores: int) -> list[int]:
    """1, and 2 and 4 where there are that many cores."""
    return [n for n in (1, 2, 4) if n <= cores]


def measure(
    spec, point: dict | None, backend_name: str, data_dir: str | None, cores: int
) -> dict[int, float]:
    """Steps per second of the study's ``point`` with each worker count (all probes together),
    timed in probe processes started together: they import and build side by side, then each
    count's probes time their steps while the others wait.

    Raises:
        ProbeError: a probe failed or did not answer within ``PROBE_TIMEOUT_S``.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # as the workers: TensorFlow is not fork-safe
    packed = pickle.dumps(spec)
    groups = {n: [] for n in counts_to_try(cores)}
    try:
        for n, group in groups.items():
            env = backend.env(backend_name, n)
            for _ in range(n):
                mine, theirs = context.Pipe(duplex=True)
                proc = context.Process(target=_probe, args=(Probe(packed, point, data_dir, env), theirs))
                with _main_hidden():
                    proc.start()
                theirs.close()
                group.append((proc, mine))
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        for _, pipe in (p for group in groups.values() for p in group):
            _answer(pipe, deadline)  # "ready": built and traced
        speeds: dict[int, float] = {}
        for _ in range(ROUNDS):  # 1, 2, 1, 2: a drift of the machine's load hits every count alike
            for n, group in groups.items():
                for _, pipe in group:
                    pipe.send("go")
                seconds = [_answer(pipe, deadline) for _, pipe in group]
                speeds[n] = max(speeds.get(n, 0.0), sum(1.0 / s for s in seconds))
        for _, pipe in (p for group in groups.values() for p in group):
            pipe.send("stop")
        return speeds
    finally:
        for proc, pipe in (p for group in groups.values() for p in group):
            pipe.close()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _answer(pipe, deadline: float):
    left = deadline - time.monotonic()
    if left <= 0 or not pipe.poll(left):
        raise ProbeError(f"a worker-count probe did not answer within {PROBE_TIMEOUT_S:.0f} s")
    try:
        kind, value = pipe.recv()
    except EOFError:
        raise ProbeError("a worker-count probe died before it answered") from None
    if kind == "error":
        raise ProbeError(f"a worker-count probe failed: {value}")
    return value


def _probe(probe: Probe, pipe) -> None:
    """Probe process: build the point on this share of the cores, say ready, time on "go"."""
    try:
        os.environ.update(probe.env)
        backend.start()
        from rnnstudy.plugins.registry import default_registry
        from rnnstudy.run._estimate import time_steps
        from rnnstudy.spec.hyperparameters import HyperParameters
        from rnnstudy.trial import runner

        spec = pickle.loads(probe.study)
        hp = HyperParameters(search=spec.spaces_for(probe.point), fixed=spec.fixed, point=probe.point)
        built = runner.build_trial(hp, default_registry(), probe.data_dir)
        batch = int(hp.values["batch_size"])
        time_steps(built.model, built.data.x_train, built.data.y_train, batch, steps=1)  # traced now
        pipe.send(("ready", None))
        while pipe.recv() == "go":
            step = time_steps(built.model, built.data.x_train, built.data.y_train, batch, steps=probe.steps)
            pipe.send(("seconds", step.train_s))
    except (EOFError, BrokenPipeError):  # the driver is gone
        pass
    except Exception as exc:
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()
        backend.exit_now(0)  # skip TensorFlow's slow teardown
