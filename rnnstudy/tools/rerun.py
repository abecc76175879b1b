"""Run one recorded trial again: ``rnnstudy rerun STUDY TRIAL``.

The trial is rebuilt from what it left behind, every hyperparameter value fixed (its seed
among them) as the trial had it, typed: the study's fixed values as the invocation that ran
it recorded them (rnnstudy.stores.provenance: the study file and that invocation's overrides), the point
Optuna enqueued and the values it suggested; for the plugins' defaults, the values its MLflow
run logged (whole from the run's params.json where MLflow's text was cut). The recorded study
also gives what is not a hyperparameter: the objective, its reduction and window,
test_every_epoch. A value the record keeps without its URL password (rnnstudy never stores
one) cannot be run again: one line names it, nothing is written.

It trains in this process as its worker did (rnnstudy.trial.runner): on the original's backend, with
its deterministic ops and its worker's thread settings, and without a pruner, so every epoch
runs. Before it starts it says in a few lines what differs from the original
(rnnstudy.stores.provenance.differences); at the end, whether its metrics are the same.

The new MLflow run lands in the study's experiment, nested under the original trial's run
and tagged ``rnnstudy.rerun_of`` with that run's id. It has neither the study's nor the
trial's tag, so the study's report does not count it as a trial; the Optuna study is only
read. An unknown study or trial, or a trial without a record: one line, nothing written.

A record holds code: the rerun runs the recorded study file (or unpickles the recorded
Study), and the plugins it names, in this process. Rerunning a trial trusts its MLflow store
as much as running the study file itself.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from typing import Any, TextIO

from rnnstudy._lazy import module
from rnnstudy.errors import Interrupted, RnnstudyError
from rnnstudy.keys import (
    FAIL_REASON_ATTR,
    MAX_PARAM_LENGTH,
    PARENT_RUN_ATTR,
    POINT_TAG,
    RUN_ATTR,
    RUN_NAME_TAG,
    param_value,
)
from rnnstudy.plugins.registry import default_registry
from rnnstudy.runtime import backend, devices
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy.stores import provenance
from rnnstudy.stores.mlflow_tracking import Tracker, default_tracking_uri
from rnnstudy.stores.optuna_internals import enqueued_point
from rnnstudy.stores.optuna_storage import default_storage_url, file_of, open_storage
from rnnstudy.trial.messages import EpochEnded
from rnnstudy.urls import redact, redacted

runner = module("rnnstudy.trial.runner")

TIMINGS = ("train_time_s", "inference_time_s", "inference_ms_per_sample")  # never the same twice
SHOWN = 4  # differing metrics named


class RerunError(RnnstudyError):
    """The trial cannot be run again: an unknown study or trial, or one without a record."""


def rerun(
    study: str,
    number: int,
    *,
    storage_url: str | None = None,
    tracking_uri: str | None = None,
    data_dir: str | None = None,
    out: TextIO | None = None,
) -> str:
    """Run trial ``number`` of the study named ``study`` again; return the new MLflow run's id.

    Args:
        storage_url: the study's Optuna storage (``--storage``); None: as ``rnnstudy optimize``.
        tracking_uri: its MLflow store (``--tracking-uri``); None: as ``rnnstudy optimize``.
        data_dir: the datasets' folder; None: the one the trial's invocation was given.

    Raises:
        RerunError: no such study or trial, or no record of the trial; nothing was written.
        rnnstudy.errors.Interrupted: Ctrl-C; the new run is marked KILLED.
    """

    out = out or sys.stdout
    trial, trials, parent_id = _trial(study, number, storage_url)
    tracker = Tracker(_existing(tracking_uri or default_tracking_uri(), "MLflow store", "--tracking-uri"))
    tracker.check()
    original = _run(tracker, study, trial)
    invocations = provenance.read(tracker, parent_id) if parent_id else []
    invocation = provenance.of_trial(invocations, trial)
    if invocation is None:
        raise RerunError(_no_record(study, number, invocations, trials))
    params = original.data.params

    # this process as the trial's worker was, then the trial rebuilt from its logged values
    name = params.get("keras_backend") or backend.DEFAULT
    device = _environment(invocation, params, name)
    backend.start(name)
    spec = invocation.study()
    facts = invocation.facts
    data_dir = data_dir or facts["options"]["data_dir"]
    values, doubts = _values(spec, trial, params, tracker.whole_params(original), data_dir)
    print(
        f"trial {number} of study {study!r} again, as {invocation.folder} of its parent run recorded it: "
        f"{redact(facts['command'] or 'no command line')} ({facts['started_utc']})",
        file=out,
    )
    differences = provenance.differences(invocation, params, device) + doubts
    if differences:
        print("what differs from the original:", *(f"  {line}" for line in differences), sep="\n", file=out)
    else:
        print("nothing differs from the original: packages, machine, device, rnnstudy, study file", file=out)
    on = "on" if backend.deterministic() else "off"
    print(f"seed {values.get('seed')}, backend {name}, deterministic ops {on}", file=out, flush=True)

    new_id = _train(tracker, spec, values, original, number, invocation, data_dir, out)
    print(_compared(tracker.client.get_run(new_id).data.metrics, original.data.metrics), file=out)
    print(
        f"MLflow run {new_id} in experiment {study!r}, nested under trial {number}'s run "
        f"{original.info.run_id} (rnnstudy report does not count it)",
        file=out,
        flush=True,
    )
    return new_id


def _trial(name: str, number: int, storage_url: str | None):
    """The Optuna trial, all the study's trials by number, and the study's parent run id."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage_url or default_storage_url()
    storage = open_storage(_existing(url, "Optuna storage", "--storage"))
    names = sorted(optuna.get_all_study_names(storage))
    if name not in names:
        raise RerunError(
            f"no study {name!r} in the Optuna storage {redact(url)}; studies there: {', '.join(names) or 'none'} "
            "(pass the study's --storage, or its study file)"
        )
    study = optuna.load_study(study_name=name, storage=storage)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        have = f"its trials are {_ranges(trials)}" if trials else "it has no trials yet"
        raise RerunError(f"study {name!r} has no trial {number}; {have}")
    return trials[number], trials, study.user_attrs.get(PARENT_RUN_ATTR)


def _existing(url: str, what: str, option: str) -> str:
    """``url``, if its file is there (opening a journal or SQLite URL would create it)."""

    path = file_of(url)
    if path is not None and not path.is_file():
        raise RerunError(f"no {what} at {path}: pass the {option} the study ran with")
    return url


def _run(tracker, study: str, trial):
    """The trial's MLflow run, with the values it logged."""
    from mlflow.exceptions import MlflowException

    state = trial.state.name
    run_id = trial.user_attrs.get(RUN_ATTR)
    if run_id is None:
        raise RerunError(
            f"trial {trial.number} of study {study!r} has no MLflow run (state {state}): it never ran"
        )
    try:
        run = tracker.client.get_run(run_id)
    except MlflowException:
        raise RerunError(
            f"trial {trial.number}'s MLflow run {run_id} is not in {redact(tracker.uri)}: "
            "pass the --tracking-uri the study logged to"
        ) from None
    if not run.data.params:
        reason = trial.user_attrs.get(FAIL_REASON_ATTR) or trial.system_attrs.get(FAIL_REASON_ATTR) or ""
        raise RerunError(
            f"trial {trial.number} of study {study!r} logged no hyperparameters (state {state}"
            f"{': ' + reason if reason else ''}): there is nothing to rebuild it from"
        )
    return run


def _no_record(study: str, number: int, invocations: list, trials: dict) -> str:
    if not invocations:
        return (
            f"study {study!r} has no record of how it was run (the record/ folder of its parent run): it ran "
            f"before rnnstudy kept one, so trial {number} cannot be rebuilt; a new run of the study "
            "(a resume too) records itself, and the trials it runs can be rerun"
        )
    first = invocations[0]
    since = [
        n for n, t in trials.items() if t.datetime_start and t.datetime_start.timestamp() >= first.started
    ]
    can = f"trials {_ranges(since)} can" if since else "trials run from now on can"
    return (
        f"trial {number} of study {study!r} has no record: it ran before the study's first recorded "
        f"invocation ({first.folder}, {first.facts['started_utc']}); {can} be rerun"
    )


def _environment(invocation: provenance.Invocation, params: dict[str, str], name: str) -> str:
    """Give this process the environment the trial's worker had, before Keras starts; return
    the device the rerun trains on."""
    facts = invocation.facts
    env = dict(facts.get("worker_env") or {})
    if env.get("KERAS_BACKEND") != name:  # backend auto: the env came with the go, after the record
        env = backend.env(name, facts["options"]["workers"] or 1)
    env.pop(backend.DETERMINISTIC_ENV, None)
    os.environ.pop(backend.DETERMINISTIC_ENV, None)  # as the original, whatever the shell says
    if params.get("deterministic") == "True":
        env[backend.DETERMINISTIC_ENV] = "1"
    gpus = devices.visible_gpus()  # the first GPU, as a worker would have one
    env.update(devices.worker_env(gpus[0] if gpus else None, name))
    os.environ.update(env)
    return devices.current_device()


def _values(spec, trial, params: dict[str, str], whole: dict[str, Any], data_dir: str | None):
    """The trial's hyperparameter values, checked by building the trial once (a plugin, its
    data or a range gone since: one line, before anything is written); and a line for each
    value that may not be the original's.

    The values are typed ones, as the trial had them: what the recorded study fixes (its
    invocation's overrides too), the point Optuna enqueued and what it suggested. Only the rest,
    the plugins' defaults, comes from the run's logged text, whole from its params.json where
    MLflow's was cut. A value whose URL password was redacted cannot be run again: one line.
    """
    import keras

    given = {**spec.fixed, **(enqueued_point(trial) or {}), **trial.params}
    for name, value in given.items():
        if redacted(value):
            raise RerunError(
                f"trial {trial.number}'s {name} cannot be run again: its value held a URL password, which "
                f"rnnstudy never stores ({redact(str(value))[:200]}); let the study file read that URL from the "
                "environment (os.environ[...]) instead, and a rerun where it is set gets it"
            )
    logged = {k: whole[k] if k in whole else param_value(v) for k, v in params.items() if k not in given}
    unreadable = {  # a default logged without its password, or cut: the plugin's own now
        k: "without its URL password" if redacted(v) else f"cut at {MAX_PARAM_LENGTH} characters"
        for k, v in logged.items()
        if redacted(v) or (k not in whole and len(params[k]) >= MAX_PARAM_LENGTH)
    }
    logged = {k: v for k, v in logged.items() if k not in unreadable}
    if str(logged.get("optimizer", "")).startswith("model.compile"):  # the model compiled itself
        del logged["optimizer"]
    # the other logged params (sizes, packages) are never declared
    hp = HyperParameters(fixed={**logged, **given})
    runner.declare_fit(runner.build_trial(hp, default_registry(), data_dir), hp)
    keras.backend.clear_session()
    lines = [
        f"{k}: not logged by the original, {v!r} now (new in its plugin?)"
        for k, v in hp.values.items()
        if k not in params
    ]
    lines += [
        f"{k}: the original's value was logged {unreadable[k]}, and its plugin's default now differs from it: "
        f"{redact(repr(v))[:200]}"
        for k, v in hp.values.items()
        if k in unreadable and redact(str(v))[:MAX_PARAM_LENGTH] != params[k]
    ]
    return dict(hp.values), lines


def _train(tracker, spec, values, original, number: int, invocation, data_dir, out) -> str:
    """Train the rebuilt trial into a new run nested under the original's; return its id."""
    from optuna.trial import FixedTrial

    fixed = dataclasses.replace(
        spec, search={}, points=None, fixed=values, sampler="grid", trials=None, repeats=1, pruner="none"
    )
    run_name = f"rerun of {original.data.tags.get(RUN_NAME_TAG, f'trial-{number:03d}')}"
    description = (
        f"trial {number} run again by `rnnstudy rerun` from {invocation.folder} of the study's parent "
        f"run; the original run: {original.info.run_id}"
    )
    new_id = tracker.start_rerun(
        original.info.experiment_id, original.info.run_id, number, run_name, description
    )

    def show(message) -> None:
        if isinstance(message, EpochEnded) and spec.primary in message.logs:
            value = message.logs[spec.primary]
            print(f"epoch {message.epoch}/{message.epochs}: {spec.primary} {value:.6g}", file=out, flush=True)

    trial_runner = runner.TrialRunner(
        fixed,
        default_registry(),
        tracker,
        original.info.experiment_id,
        original.info.run_id,
        data_dir,
        send=show,
        checkpoints=False,  # the study's checkpoints of this configuration are its own trials'
    )
    status = "FAILED"
    try:
        trial_runner.train(FixedTrial({}, number=number), None, new_id)
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise Interrupted(f"interrupted: the rerun's MLflow run {new_id} is marked KILLED") from None
    except runner.TrialFailed as exc:
        raise RerunError(
            f"the rerun of trial {number} failed: {exc}; its MLflow run {new_id} is marked FAILED"
        ) from None
    finally:
        # the runner named the run as a trial of no point: the rerun's own name and the original's point
        tags = {RUN_NAME_TAG: run_name, POINT_TAG: original.data.tags.get(POINT_TAG, "")}
        tracker.set_tags(new_id, tags, wait=False)
        tracker.finish(new_id, status)
    return new_id


def _compared(rerun: dict[str, float], original: dict[str, float]) -> str:
    """One line: whether the rerun's last metric values are the original's (timings aside)."""
    names = sorted((set(rerun) | set(original)) - set(TIMINGS))
    differ = [n for n in names if not _same(rerun.get(n), original.get(n))]
    objective = f"objective {rerun.get('objective', math.nan):.6g} (the original's {original.get('objective', math.nan):.6g})"
    if not differ:
        return f"metrics: all {len(names)} the same as the original's (timings aside); {objective}"
    shown = ", ".join(
        f"{n} {rerun.get(n, math.nan):.6g} (original {original.get(n, math.nan):.6g})" for n in differ[:SHOWN]
    )
    more = f" and {len(differ) - SHOWN} more" if len(differ) > SHOWN else ""
    return f"metrics: {len(differ)} of {len(names)} differ from the original's (timings aside): {shown}{more}; {objective}"


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


def _ranges(numbers) -> str:
    """Trial numbers as people read them: ``0–7`` or ``0–3, 5, 8–9``."""
    ordered, parts = sorted(numbers), []
    start = previous = ordered[0]
    for n in [*ordered[1:], None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        parts.append(str(start) if start == previous else f"{start}–{previous}")
        start = previous = n
    return ", ".join(parts)
