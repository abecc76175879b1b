"""The few private parts of Optuna that rnnstudy relies on, all here and nowhere else.

Why the public API is not enough:

- Exact grids need "take a waiting trial, or nothing". ``Study.ask()`` takes a waiting trial
  when there is one, but creates a new trial when none waits: with several workers (or
  machines) that is one trial more than the grid has, the duplicate a ``GridSampler`` makes.
  :func:`claim` therefore calls the step of ``ask()`` that only takes (``_pop_waiting_trial_id``),
  or, for a worker that takes only some trials (one backend's), does what that step does for
  those: the storage's WAITING → RUNNING move, which one caller wins.
- The point an enqueued trial was given lives in its ``fixed_params`` system attribute, which
  ``enqueue_trial`` writes and no public getter reads back.
- A trial claimed by one process (the driver) is run by another (its worker), whose RDB
  storage cache must have read it before it can write to it (:func:`trial_of`).
- The gRPC storage proxy (``rnnstudy storage-proxy``) must stop gracefully on a signal, which
  needs the server object: the public ``run_grpc_proxy_server`` only blocks until it ends.
  :func:`grpc_proxy_server` makes it as that function does.
- Writing to a trial that this process did not ``ask()`` for (a heartbeat from a worker
  thread; the reason a dead worker's trial failed, written by the driver) goes through the
  study's storage, for which Optuna has no public getter.

tests/test_optuna_internals.py fails when the pinned Optuna changes any of these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FIXED_PARAMS = "fixed_params"  # the system attribute Study.enqueue_trial writes


def claim(study, accept: Callable[[dict], bool] | None = None) -> tuple[int, int, dict | None] | None:
    """Take the oldest waiting trial: ``(trial_id, number, point)``, where point is what it was
    enqueued with (None when the sampler chooses); None when nothing waits. Atomic across
    processes and machines: the storage moves it from WAITING to RUNNING for one caller only.
    With ``accept``, only a trial whose point it accepts is taken (for a worker of one Keras
    backend, in a study that compares backends). The worker that runs it makes its
    ``optuna.Trial`` with :func:`trial_of`."""
    if accept is None:
        trial_id = study._pop_waiting_trial_id()
    else:
        trial_id = _pop_accepted(study, accept)
    if trial_id is None:
        return None
    frozen = study._storage.get_trial(trial_id)
    return trial_id, frozen.number, frozen.system_attrs.get(FIXED_PARAMS) or None


def trial_of(study, trial_id: int):
    """The ``optuna.Trial`` of a trial another process claimed (a worker's, claimed by its
    driver). An RDB storage's cache writes only to trials it has read, as ``ask()`` reads the
    study's trials before it takes one: so the study's trials are read first."""
    import optuna

    study._storage.get_all_trials(study._study_id, deepcopy=False)
    return optuna.Trial(study, trial_id)


def _pop_accepted(study, accept: Callable[[dict], bool]) -> int | None:
    """``Study._pop_waiting_trial_id`` for the waiting trials ``accept`` takes, as Optuna does it."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = study._storage
    for trial in storage.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.WAITING,)):
        if not accept(trial.system_attrs.get(FIXED_PARAMS) or {}):
            continue
        try:
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING):
                return trial._trial_id  # False: another process took it first
        except UpdateFinishedTrialError:
            continue
    return None


def enqueued_point(frozen) -> dict[str, Any] | None:
    """The values a trial was enqueued with (a grid point), or None."""
    return frozen.system_attrs.get(FIXED_PARAMS)


def trial_id(study, number: int) -> int:
    """The storage's id of the study's trial ``number``."""
    return study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)


def set_user_attr(study, number: int, key: str, value: Any) -> None:
    """Set a user attribute of any trial of the study, whoever runs it."""
    study._storage.set_trial_user_attr(trial_id(study, number), key, value)


def set_system_attr(study, number: int, key: str, value: Any) -> None:
    """Set a system attribute of any trial of the study (a heartbeat, from its own thread)."""
    study._storage.set_trial_system_attr(trial_id(study, number), key, value)


def grpc_proxy_server(storage, host: str, port: int, threads: int):
    """Optuna's gRPC storage proxy over ``storage``, not started: ``run_grpc_proxy_server``
    without its wait, so the caller can stop it (``server.stop(grace)``). The storage is
    wrapped in Optuna's cache, as that function's documentation asks."""
    from concurrent.futures import ThreadPoolExecutor

    import optuna
    from optuna.storages._grpc.server import make_server

    cached = optuna.storages.get_storage(storage)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rnnstudy-proxy")
    return make_server(cached, host, port, pool)


def frozen(trial):
    """The stored state of a running ``optuna.Trial`` (its intermediate values, say)."""
    return trial.storage.get_trial(trial._trial_id)


def set_intermediate_value(trial, step: int, value: float) -> None:
    """Store a running trial's value at ``step`` as ``Trial.report`` does, which Optuna refuses
    in a study of several objectives (rnnstudy.trial.pruning reports the primary's)."""
    trial.storage.set_trial_intermediate_value(trial._trial_id, step, value)
