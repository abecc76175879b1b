"""Checkpoints: what a trial needs to continue exactly where it stopped.

A checkpoint holds the model's variables (weights, and the random seed generators of layers
such as Dropout), the optimizer's variables, the epoch, the metric history and the global
random generators that shuffle the data (Python's, NumPy's and, on PyTorch, torch's), so a
resumed trial ends with the metrics an uninterrupted one would have had.

Checkpoints are found by what the trial is, not by which Optuna trial ran it: a study that is
run again retries a killed configuration × seed as a new trial, which must find the old one's
checkpoint. The key is a digest of the study's name and the trial's hyperparameter values.
They live in an MLflow artifact repository that every machine of the study reaches: under the
experiment's artifact store by default, or in a folder the user gives (``--checkpoint-dir``).

Each checkpoint is a folder ``epoch-000010/`` with ``state.npz`` and, written after it, its
digest ``state.sha256``: a checkpoint cut off by a kill, or damaged later, has no digest or a
wrong one, and the one before it is used instead. The two newest are kept while the trial
runs; all go when it has ended for good (complete, pruned, diverged).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import pickle
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import numpy as np

from rnnstudy.durations import FORMS, DurationError, parse_duration
from rnnstudy.errors import RnnstudyError
from rnnstudy.urls import redact

DEFAULT_EVERY = "10m"  # of training: a kill loses at most this much, saving costs little
KEEP = 2  # checkpoints kept while a trial runs: the newest, and the one before in case it is damaged
NOT_IN_KEY = ("checkpoint_every", "artifacts")  # values that change nothing a checkpoint holds
STATE, DIGEST = "state.npz", "state.sha256"


class CheckpointError(RnnstudyError):
    """``checkpoint_every`` or the checkpoint folder is not usable."""


@dataclass(frozen=True)
class Every:
    """How often a trial saves a checkpoint: every ``epochs`` epochs, or every ``seconds`` of
    training (whichever the study gave)."""

    epochs: int | None = None
    seconds: float | None = None

    def due(self, epochs_since: int, seconds_since: float) -> bool:
        if self.epochs is not None:
            return epochs_since >= self.epochs
        return seconds_since >= self.seconds


def parse_every(value: Any) -> Every:
    """``checkpoint_every``: a whole number of epochs (5), or a duration of training ("10m")."""

    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise CheckpointError(
                f"checkpoint_every={value} must be >= 1 epoch, or a duration such as '10m'; "
                "e.g. --set checkpoint_every=5"
            )
        return Every(epochs=value)
    try:
        return Every(seconds=parse_duration(value))
    except DurationError:
        raise CheckpointError(
            f"checkpoint_every={value!r} is not allowed: give a number of epochs >= 1 (5) or a duration, "
            f"{FORMS}; e.g. --set checkpoint_every=30m"
        ) from None


def key(study: str, values: dict[str, Any]) -> str:
    """The checkpoint key of a trial: the same configuration × seed of the same study."""
    kept = {k: v for k, v in values.items() if k not in NOT_IN_KEY}
    text = json.dumps({"study": study, "values": kept}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def folder_root(path: str) -> str:
    """The artifact URI of a user's checkpoint folder (a path, or a ``file://`` URI), created
    and checked writable now, so that a wrong one is one line before anything of the study is
    written. Another URI (``s3://…``) is refused: read as a path, it would be a local folder
    that no other machine sees."""
    if path.startswith("file://"):
        path = url2pathname(urlsplit(path).path)
    elif "://" in path:
        raise CheckpointError(
            f"--checkpoint-dir {redact(path)!r} is a URI; it takes a folder that every machine of the "
            "study mounts (/scratch, NFS): for an object store, leave it out and give the study's MLflow "
            "experiment that artifact location (or an `mlflow server --serve-artifacts`)"
        )
    folder = Path(path).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rnnstudy-probe-"):
            pass
    except OSError as exc:
        raise CheckpointError(
            f"--checkpoint-dir {path!r} is not a writable folder ({exc.strerror or exc}); "
            "give a folder this user can write, or leave it out to keep checkpoints in the MLflow artifact store"
        ) from None
    return folder.as_uri()


@dataclass
class State:
    """A trial at the end of an epoch."""

    epoch: int  # epochs done
    rows: list[dict[str, float]]  # the metric history, one row per epoch
    model: list[np.ndarray]
    optimizer: list[np.ndarray]
    generators: dict[str, Any]  # the global random generators' states
    run_id: str  # the MLflow run that trained it
    train_seconds: float = 0.0  # training time of every attempt so far
    values: dict[str, Any] = field(default_factory=dict)


def capture(model, epoch: int, rows: list[dict], run_id: str, train_seconds: float, values: dict) -> State:
    """A copy of everything the trial needs to go on after ``epoch`` (host memory)."""
    return State(
        epoch=epoch,
        rows=[dict(r) for r in rows],
        model=[_numpy(v) for v in model.variables],
        optimizer=[_numpy(v) for v in model.optimizer.variables],
        generators=_generators(),
        run_id=run_id,
        train_seconds=train_seconds,
        values=dict(values),
    )


def restore(model, state: State) -> None:
    """Put ``state`` into a freshly built and compiled ``model``; the random generators are
    restored separately (:func:`set_generators`), once ``fit`` has begun, because Keras draws
    from them while it sets training up.

    Raises:
        ValueError: the checkpoint does not fit the model (another architecture).
    """
    model.optimizer.build(model.trainable_variables)
    pairs = [
        *_matched(model.variables, state.model),
        *_matched(model.optimizer.variables, state.optimizer),
    ]  # all checked before any is assigned: a mismatch leaves the model as built
    for variable, array in pairs:
        variable.assign(array)


def _matched(variables, arrays) -> list:
    if len(variables) != len(arrays):
        raise ValueError(f"{len(arrays)} saved variables for a model with {len(variables)}")
    for variable, array in zip(variables, arrays):
        if tuple(variable.shape) != array.shape:
            raise ValueError(
                f"{variable.path}: saved shape {array.shape}, the model's {tuple(variable.shape)}"
            )
    return list(zip(variables, arrays))


def set_generators(generators: dict[str, Any]) -> None:
    random.setstate(generators["python"])
    np.random.set_state(generators["numpy"])
    if "torch" in generators:
        import torch

        torch.set_rng_state(generators["torch"])


def _generators() -> dict[str, Any]:
    import keras

    states = {"python": random.getstate(), "numpy": np.random.get_state()}
    if keras.backend.backend() == "torch":  # torch shuffles the data with its own generator
        import torch

        states["torch"] = torch.get_rng_state()
    return states


def _numpy(variable) -> np.ndarray:
    array = np.asarray(variable.numpy())
    return array if array.dtype.kind in "biuf" else array.astype(np.float32)  # bfloat16 and the like


class Checkpoints:
    """The checkpoints of one trial: an MLflow artifact repository (``Tracker.repository``) at
    ``uri``, one folder per checkpoint."""

    def __init__(self, repository, uri: str, *, warn: Callable[[str], None] | None = None):
        self.repository = repository
        self.uri = uri
        self.warn = warn or (lambda text: None)

    def save(self, state: State) -> float:
        """Write ``state`` as the newest checkpoint, drop all but the :data:`KEEP` newest; return
        the seconds it took."""
        started = time.perf_counter()
        name = f"epoch-{state.epoch:06d}"
        with tempfile.TemporaryDirectory(prefix="rnnstudy-checkpoint-") as tmp:
            path = Path(tmp) / STATE
            path.write_bytes(_pack(state))
            self.repository.log_artifact(str(path), name)
            digest = Path(tmp) / DIGEST
            digest.write_text(_digest(path.read_bytes()))
            self.repository.log_artifact(str(digest), name)  # last: a checkpoint without it is partial
        for old in self._names()[:-KEEP]:
            self._delete(old)
        return time.perf_counter() - started

    def latest(self) -> State | None:
        """The newest checkpoint that is whole, or None; each damaged one is a warning line."""
        for name in reversed(self._names()):
            try:
                return self._load(name)
            except Exception as exc:  # any damage: the one before, else a fresh start
                self.warn(
                    f"warning: checkpoint {name} of {self.uri} is damaged ({type(exc).__name__}: {exc}); "
                    "using the one before, or starting at epoch 0"
                )
        return None

    def clear(self) -> None:
        """Remove every checkpoint of the trial (it has ended for good)."""
        for name in self._names():
            self._delete(name)
        with contextlib.suppress(Exception):
            self.repository.delete_artifacts()  # the trial's empty folder, where the store has folders

    def _names(self) -> list[str]:
        try:
            found = self.repository.list_artifacts()
        except Exception:  # nothing saved yet: some stores have no folder to list
            return []
        names = (Path(f.path).name for f in found if f.is_dir)
        return sorted(n for n in names if n.startswith("epoch-"))

    def _load(self, name: str) -> State:
        with tempfile.TemporaryDirectory(prefix="rnnstudy-checkpoint-") as tmp:
            local = Path(self.repository.download_artifacts(name, tmp))
            if not (local / DIGEST).exists():
                raise ValueError(f"no {DIGEST}: the save was cut off")
            data = (local / STATE).read_bytes()
            if _digest(data) != (local / DIGEST).read_text().strip():
                raise ValueError(f"{STATE} does not match its digest")
            return _unpack(data)

    def _delete(self, name: str) -> None:
        with contextlib.suppress(Exception):  # a store that cannot delete keeps an extra checkpoint
            self.repository.delete_artifacts(name)


def _pack(state: State) -> bytes:
    buffer = io.BytesIO()
    meta = {k: getattr(state, k) for k in ("epoch", "rows", "run_id", "train_seconds", "values")}
    np.savez(
        buffer,
        meta=np.frombuffer(json.dumps(meta, default=str).encode(), dtype=np.uint8),
        generators=np.frombuffer(pickle.dumps(state.generators), dtype=np.uint8),
        **{f"model_{i}": a for i, a in enumerate(state.model)},
        **{f"optimizer_{i}": a for i, a in enumerate(state.optimizer)},
    )
    return buffer.getvalue()


def _unpack(data: bytes) -> State:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        meta = json.loads(arrays["meta"].tobytes())
        count = {
            prefix: sum(k.startswith(prefix) for k in arrays.files) for prefix in ("model_", "optimizer_")
        }
        return State(
            model=[arrays[f"model_{i}"] for i in range(count["model_"])],
            optimizer=[arrays[f"optimizer_{i}"] for i in range(count["optimizer_"])],
            generators=pickle.loads(arrays["generators"].tobytes()),  # written by rnnstudy, read by it
            **meta,
        )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
