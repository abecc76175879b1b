"""The Optuna driver: check a study, set up its storage and MLflow runs, and run its trials in
worker processes.

Everything the user can get wrong is checked by a dry run before anything is written: the
study file, the plugin names, the data, every hyperparameter and range. Then, under a lock
that every process of the study respects (several may start at once, on several machines),
the driver marks the trials of dead workers failed and enqueues what is still to run: each
grid point without a trial exactly once, or the sampled trials the budget lacks. Workers
claim waiting trials through the storage. Running the same command again resumes: finished
trials are kept and only the rest runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from rnnstudy import faults, results
from rnnstudy.errors import Exit, Interrupted, RnnstudyError, Stopped, StorageError
from rnnstudy.keys import BEST_TRIAL_TAG, PARENT_RUN_ATTR, STORAGE_TAG, TRACKING_ATTR
from rnnstudy.plugins.registry import default_registry
from rnnstudy.run import _estimate as estimate
from rnnstudy.run import _progress as progress_bar
from rnnstudy.run import _supervisor as supervisor
from rnnstudy.run import _worker as worker
from rnnstudy.run import preflight
from rnnstudy.run._planner import Plan, plan, trial_key
from rnnstudy.run._pool import Pool
from rnnstudy.run._supervisor import Supervisor
from rnnstudy.run.preflight import RunOptions
from rnnstudy.runtime import backend, devices
from rnnstudy.spec.samplers import make_pruner, make_sampler
from rnnstudy.spec.study import Study
from rnnstudy.stores import heartbeat, optuna_internals, provenance
from rnnstudy.stores.heartbeat import stale
from rnnstudy.stores.mlflow_tracking import Tracker
from rnnstudy.stores.optuna_internals import enqueued_point
from rnnstudy.stores.optuna_storage import file_of, open_storage, study_lock
from rnnstudy.stores.outcome import DONE_STATES, Ending, Outcome, end_trial
from rnnstudy.trial.messages import Assignment, TrialEnded
from rnnstudy.urls import redact

STOP_SECONDS = 60  # how long interrupted workers get to end their trials
OBJECTIVES_ATTR = "objectives"  # the Optuna study's objectives, in its directions' order


@dataclass(frozen=True)
class Finished:
    """What one ``optimize`` left: the Optuna study, and how many of the trials it ran failed
    with nothing run in their place (the same command runs them again)."""

    study: Any
    failed: int = 0
    report_failed: bool = False  # said on stderr: ``rnnstudy report`` makes it again

    @property
    def exit_code(self) -> Exit:
        return Exit.TRIALS_FAILED if self.failed or self.report_failed else Exit.DONE


@dataclass
class Session:
    """This invocation's hold on one study: its storage, its MLflow runs, what it should run."""

    spec: Study
    points: list[dict[str, Any]] | None
    storage_url: str
    storage: Any
    tracker: Any
    study: Any = None
    experiment_id: str = ""
    parent_id: str = ""
    first: int = 0  # the number of this invocation's first trial

    def lock(self):

        return study_lock(self.storage_url, self.storage, self.spec.name)

    def end(self, number: int, ending: Ending) -> None:
        """End a trial that its worker could not end (it died, or was stopped first)."""
        trial = self.study.get_trials(deepcopy=False)[number]
        if trial.state.is_finished():
            return
        runs = self.tracker.unfailed_trial_runs(self.experiment_id, self.parent_id, number)
        end_trial(self.study, number, ending, tracker=self.tracker, run_ids=runs)

    def replan(self, held: set[int] = frozenset()) -> Plan:
        """Recover stale trials, except ``held`` (this driver's workers' own, which it ends
        itself, with the death named), and enqueue what has no trial yet."""
        with self.lock():
            recover(self, held)
            return plan(self.study, self.spec, self.points, self.first)


def optimize(study_path: str | Study, options: RunOptions, *, out: TextIO | None = None, table: bool = True):
    """Run a study file, or a Study object (with a name), to the end of its budget; return what
    it left (:class:`Finished`: the Optuna study, this run's failed trials, the exit code).
    ``table=False`` leaves the closing report out of ``out``.

    Raises:
        RnnstudyError: the input is wrong (nothing written), or the study itself is (a trial said so).
        Stopped: no progress was possible; nothing is left RUNNING.
        Interrupted: Ctrl-C or SIGTERM; the running trials were ended, and the same call resumes.
    """

    out = out or sys.stdout
    flight = preflight.resolve(study_path, options)  # one line on bad input, before anything else
    spec, options, gpus, storage_url = flight.spec, flight.options, flight.gpus, flight.storage_url
    pool = Pool(flight.worker_config(), gpus=gpus, backend=flight.wanted, searched=flight.searched_envs())
    for _ in range(min(options.workers, preflight.most_trials(spec))):
        pool.start()  # they get ready while the study is checked and set up
    known = flight.check_backend
    if gpus:  # the check builds and times its models on the first GPU, beside the workers
        os.environ.update(devices.memory_env(known))
        print(preflight.placement_line(gpus, options), file=out, flush=True)
    backend.start(known)  # auto's check builds under the default; a search's, under one of its own
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        # check everything before anything is written
        models: list = []
        # the time estimate: a few steps of each distinct model, all of them under --budget
        timer = estimate.Timer(share=None if flight.budget_s is not None else estimate.TIMING_SHARE)
        points = preflight.validate(
            spec, default_registry(), options.data_dir, out, models=models, timer=timer
        )
        # a study over its --budget is refused here
        estimated, cost = preflight.estimate_line(flight, timer, points, models)
        storage, tracker = _open_stores(storage_url, pool.config.tracking_uri)
        flight = preflight.auto_workers(flight, timer, points, out)  # once the stores are reached
        if flight.options.workers != options.workers:  # measured: the pool starts again on that count
            pool.close()
            options = flight.options
            pool = Pool(
                flight.worker_config(), gpus=gpus, backend=flight.wanted, searched=flight.searched_envs()
            )
            for _ in range(min(options.workers, preflight.most_trials(spec))):
                pool.start()
            estimated, cost = preflight.estimate_line(flight, timer, points, models)
        session = Session(spec, points, storage_url, storage, tracker)

        # set up under the study's lock: processes started together enqueue each point once
        with session.lock():
            session.study = _open_study(session)
            session.experiment_id, session.parent_id = _parent_run(session)
            provenance.write(
                session, options, env=pool.config.env, packed=flight.packed
            )  # for rnnstudy rerun
            lost = recover(session)
            session.first = len(session.study.get_trials(deepcopy=False))  # this run's trials come after
            planned = plan(session.study, spec, points, session.first)
            waiting = _waiting_points(session.study)  # before this run's workers claim any
        to_run = planned.waiting
        go = {"experiment_id": session.experiment_id, "parent_run_id": session.parent_id}
        if flight.wanted == "auto":
            chosen = backend.choose(models)
            go["env"] = backend.env(chosen, options.workers, deterministic=options.deterministic)
            print(f"backend auto: {chosen} (rnnstudy.runtime.backend.choose)", file=out, flush=True)
        pool.go(go, min(options.workers, to_run))  # the workers not needed are killed
    except BaseException:
        pool.close()  # the check or the set-up failed: every worker goes
        raise
    study = session.study
    print(estimated, file=out, flush=True)
    print(
        f"study {spec.name!r}: {to_run} trial(s) to run, {_count(study, DONE_STATES)} already done"
        f"{_running_elsewhere(study)}{f', {lost} of dead workers marked failed' if lost else ''}; "
        f"MLflow experiment {spec.name!r} at {redact(session.tracker.uri)}",
        file=out,
        flush=True,
    )
    if planned.reason:
        print(planned.reason, file=out, flush=True)

    # run: worker processes claim the waiting trials
    status = "FINISHED"
    try:
        if to_run:
            _run_workers(
                session, pool, to_run, options.workers, options.command, out, cost=cost, pending=waiting
            )
    except Interrupted:
        status = "KILLED"
        raise
    except (RnnstudyError, Stopped):
        status = "FAILED"
        raise
    finally:
        pool.close()
        _close_parent(session, status)

    # report: counts, then the study's table from what MLflow logged
    counts = ", ".join(
        f"{_count(study, (state,))} {state.lower()}" for state in ("COMPLETE", "PRUNED", "FAIL")
    )
    failed = _failed_here(study, session.first)
    report = _report(spec, study, session)
    print(f"\n{spec.name}: {counts}{_running_elsewhere(study)}", file=out, flush=True)
    if table and report is not None:
        print(report, file=out, flush=True)
    if failed:
        print(
            f"{failed} trial(s) of this run failed (their reasons are in the table's runs and the trials' "
            "fail_reason); the same command runs them again",
            file=out,
            flush=True,
        )
    return Finished(study, failed, report_failed=report is None)


def _report(spec: Study, study, session: Session) -> str | None:
    """The closing report (rnnstudy.results.publish); None, said on stderr, when it fails: the
    trials are kept, and ``rnnstudy report`` makes it again."""

    try:
        faults.point("report")
        return results.publish(spec, study, session.tracker, session.parent_id)
    except Exception as exc:
        print(
            f"warning: the closing report failed ({type(exc).__name__}: {exc}); every trial is kept: "
            f"`rnnstudy report {spec.name}` makes it again",
            file=sys.stderr,
            flush=True,
        )
        return None


def _failed_here(study, first: int) -> int:
    """This run's failed trials (numbered from ``first``) whose configuration × seed no
    trial completed or pruned after all."""
    ran = {trial_key(t) for t in study.get_trials(deepcopy=False) if t.state.name in DONE_STATES}
    return sum(
        t.state.name == "FAIL" and trial_key(t) not in ran for t in study.get_trials(deepcopy=False)[first:]
    )


def _open_stores(storage_url: str, tracking_uri: str):
    """The Optuna storage and the MLflow tracker, each checked. A server is reached before any
    local file is made (a journal, an SQLite database): a store that cannot be reached is one
    line, with nothing left behind."""

    def tracker() -> Tracker:
        made = Tracker(tracking_uri)
        made.check()
        return made

    if file_of(tracking_uri) is None:  # a tracking server: first
        served = tracker()
        return open_storage(storage_url), served
    storage = open_storage(storage_url)
    return storage, tracker()


def _backend_to_start(session: Session, pool: Pool) -> str | None:
    """Which backend a new worker runs, where the study compares backends: of those with
    trials waiting, the one fewest workers run (None: the pool's choice)."""
    if not pool.searched:
        return None
    wanted = {p.get("backend") for p in _waiting_points(session.study)} & set(pool.searched)
    running = list(pool.backends.values())
    return min(sorted(wanted), key=running.count) if wanted else None


def _waiting_points(study) -> list[dict]:
    """The values the study's waiting trials were enqueued with (a sampled one's: none)."""
    from optuna.trial import TrialState

    return [enqueued_point(t) or {} for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))]


def _open_study(session: Session):
    """The Optuna study, created on first use and found again on resume."""
    import optuna

    spec = session.spec
    study = optuna.create_study(
        study_name=spec.name,
        storage=session.storage,
        directions=list(spec.objectives.values()),
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
        load_if_exists=True,
    )
    found = [d.name.lower() for d in study.directions]
    if found != list(spec.objectives.values()):
        raise RnnstudyError(
            f"study {spec.name!r} already exists with direction(s) {', '.join(found)}; the file says "
            f"{', '.join(spec.objectives.values())}: rename the study or use another --storage"
        )
    named = study.user_attrs.get(OBJECTIVES_ATTR)  # several objectives: their order is the values'
    if named is None and spec.several:
        study.set_user_attr(OBJECTIVES_ATTR, list(spec.objectives))
    elif named is not None and named != list(spec.objectives):
        raise RnnstudyError(
            f"study {spec.name!r} already exists with the objective(s) {', '.join(named)}; the file "
            f"says {', '.join(spec.objectives)}: rename the study or use another --storage"
        )
    return study


def _parent_run(session: Session) -> tuple[str, str]:
    """The study's MLflow experiment and parent run, created once, reopened on resume."""
    spec, study, tracker = session.spec, session.study, session.tracker
    parent_id = study.user_attrs.get(PARENT_RUN_ATTR)
    if parent_id is not None and not tracker.has_run(parent_id):  # before anything is written
        started_with = study.user_attrs.get(TRACKING_ATTR, "another MLflow store")
        raise StorageError(
            f"study {spec.name!r} was started with the MLflow tracking URI {started_with}, and "
            f"{redact(tracker.uri)} has not its runs (no parent run {parent_id}); give every command "
            f"of the study that --tracking-uri (or $MLFLOW_TRACKING_URI)"
        )
    experiment_id = tracker.experiment(spec.name)
    if parent_id is None:
        parent_id = tracker.parent_run(experiment_id, spec.name, None, spec.description)
        study.set_user_attr(PARENT_RUN_ATTR, parent_id)
        study.set_user_attr(TRACKING_ATTR, redact(tracker.uri))
        tracker.log_params(parent_id, _spec_params(spec))
        tracker.set_tags(parent_id, {STORAGE_TAG: redact(session.storage_url)})
    else:
        tracker.parent_run(experiment_id, spec.name, parent_id, spec.description)
    return experiment_id, parent_id


def recover(session: Session, held: set[int] = frozenset()) -> int:
    """Mark failed the trials whose worker is gone (see rnnstudy.stores.heartbeat), but those in
    ``held``, so that their points run again; return how many. Call under the study's lock."""

    lost = [(trial, reason) for trial, reason in stale(session.study) if trial.number not in held]
    for trial, reason in lost:
        session.end(trial.number, Ending(Outcome.LOST, reason=reason))
    return len(lost)


def _run_workers(
    session: Session, pool: Pool, to_run: int, workers: int, command, out, *, cost=None, pending=None
) -> None:
    """Keep up to ``workers`` processes busy while trials wait; show their progress.

    The pool's workers are already at work. The supervisor decides what a worker's message or
    end means (rnnstudy.run._supervisor); this loop only carries its actions out. Ctrl-C (or
    SIGTERM, as a cluster scheduler sends) stops every worker; each ends its running trial.
    The time left weighs each trial by ``cost``, its estimated seconds by its values (None: all
    alike), starting from ``pending``, the waiting trials' values.
    """

    spec = session.spec
    progress = progress_bar.make(
        to_run,
        spec.primary,
        spec.direction,
        workers=workers,
        best=best_trial(session.study),
        out=out,
        cost=cost,
        pending=pending,
    )
    # a race, or a sampled configuration's other seeds, is planned as results come in
    boss = Supervisor(
        workers,
        replan_after_trials=spec.racing or (spec.repeated and spec.sampler != "grid"),
        check_every=heartbeat.interval(),  # another command's machine may vanish
    )

    last_words = ""  # of the worker whose death stopped the study

    def carry_out(actions: list[supervisor.Action]) -> None:
        for action in actions:
            if isinstance(action, supervisor.Assign):
                _assign(session, pool, boss, action.pid)
            elif isinstance(action, supervisor.Dismiss):
                pool.send(action.pid, None)
            elif isinstance(action, supervisor.LoseTrial):
                session.end(action.trial, Ending(Outcome.LOST, reason=action.reason))
                progress.handle(TrialEnded(action.trial, Outcome.LOST, reason=action.reason))
            elif isinstance(action, supervisor.InterruptTrial):
                session.end(action.trial, Ending(Outcome.INTERRUPTED, reason=worker.INTERRUPTED))
            elif isinstance(action, supervisor.Replan):
                planned = session.replan(set(boss.running.values()))
                progress.replanned(planned.waiting + planned.running, _waiting_points(session.study))
                if planned.reason:
                    progress.note(planned.reason)
            elif isinstance(action, supervisor.LookForStale):
                if any(t.number not in boss.running.values() for t, _ in stale(session.study)):
                    carry_out([supervisor.Replan()])
            elif isinstance(action, supervisor.StartWorker) and _count(session.study, ("WAITING",)):
                pool.start(_backend_to_start(session, pool))
            elif isinstance(action, supervisor.InterruptWorkers):
                pool.interrupt()

    def receive(timeout: float) -> None:
        for message in pool.messages(timeout):
            progress.handle(message)
            carry_out(boss.on_message(message))

    with _signals_interrupt() as received:
        try:
            while pool.procs:
                receive(0.3)
                carry_out(boss.on_tick(time.monotonic()))
                pool.show_stderr()
                ended = pool.ended(boss.exiting)
                if ended:
                    receive(0.05)  # what they sent last comes before their end is judged
                for proc in ended:
                    was_stopped = boss.stopped
                    carry_out(boss.on_worker_end(proc.pid, proc.exitcode, len(pool.procs)))
                    if boss.stopped and not was_stopped:
                        last_words = pool.last_words(proc.pid)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup
            pool.stop(STOP_SECONDS)
            receive(0.2)
            carry_out(boss.on_interrupt())
            progress.close()
            resume = f": {redact(command)}" if command else ""
            raise Interrupted(
                f"interrupted: {_count(session.study, DONE_STATES)} trial(s) done, the running ones "
                f"ended; to resume, run the same command again{resume}",
                signal=received[0] if received else signal.SIGINT,
            ) from None
    progress.close()
    if boss.fatal:
        raise RnnstudyError(boss.fatal)
    if boss.stopped:
        words = f"; its last words: {' | '.join(last_words.splitlines())}" if last_words else ""
        raise Stopped(f"stopped: {boss.stopped}{redact(words)}")


def _assign(session: Session, pool: Pool, boss: Supervisor, pid: int) -> None:
    """Claim a waiting trial for worker ``pid`` (one of its backend, where the study compares
    backends) and send it; the supervisor holds it as that worker's from the claim on, and the
    first heartbeat names the worker, so no death after the claim can leave it RUNNING."""
    chosen = pool.backends.get(pid)
    accept = (lambda point: point.get("backend") == chosen) if pool.searched and chosen else None
    claimed = optuna_internals.claim(session.study, accept)
    if claimed is None:
        pool.send(pid, None)
        return
    trial_id, number, point = claimed
    boss.assigned(pid, number)
    heartbeat.beat(session.study, number, pid)
    pool.send(pid, Assignment(trial_id, number, point))


@contextlib.contextmanager
def _signals_interrupt():
    """SIGTERM (what Slurm and Kubernetes send) stops the study like Ctrl-C; yields the list
    the signals that came are added to; both signals' handlers are restored afterwards."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread may handle signals
        return

    def stop(number, frame):
        received.append(number)
        raise KeyboardInterrupt

    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, stop)
    if saved[signal.SIGINT] is signal.default_int_handler:  # not where Ctrl-C is ignored
        signal.signal(signal.SIGINT, stop)
    try:
        yield received
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def _close_parent(session: Session, status: str) -> None:
    """Log the study's counts to its parent run, and end it unless other processes still run
    trials of the study."""
    study, tracker = session.study, session.tracker
    if study is None:
        return
    best = best_trial(study)
    metrics = {
        "trials_complete": _count(study, ("COMPLETE",)),
        "trials_pruned": _count(study, ("PRUNED",)),
        "trials_failed": _count(study, ("FAIL",)),
    }
    if best is not None:
        metrics["best_" + session.spec.primary] = best[1]
        tracker.set_tags(session.parent_id, {BEST_TRIAL_TAG: best[0]})
    tracker.log_metrics(session.parent_id, metrics)
    if not _count(study, ("RUNNING",)):
        tracker.finish(session.parent_id, status)


def _running_elsewhere(study) -> str:
    running = _count(study, ("RUNNING",))
    return f", {running} running in other processes" if running else ""


def best_trial(study) -> tuple[int, float] | None:
    """The study's best trial so far, as (number, value), or None (also for several
    objectives: their front is the report's)."""
    if len(study.directions) > 1:
        return None
    try:
        trial = study.best_trial
    except ValueError:
        return None
    return trial.number, trial.value


def _count(study, states: tuple[str, ...]) -> int:
    return sum(t.state.name in states for t in study.get_trials(deepcopy=False))


def _spec_params(spec: Study) -> dict[str, Any]:
    params = {f"fixed.{k}": v for k, v in spec.fixed.items()}
    params.update({f"search.{k}": repr(v) for k, v in spec.search.items()})
    params.update(
        sampler=spec.sampler,
        pruner=spec.pruner,
        objective=spec.primary,
        direction=spec.direction,
        reduce=spec.reduce,
        window=spec.window,
        trials=spec.trials,
        repeats=spec.repeats,
    )
    if spec.several:  # the report judges the front (rnnstudy.results.StudyFacts.objectives)
        params.update(objectives=json.dumps(spec.objectives))
    if spec.racing:  # the report judges a race as it ran (rnnstudy.results.StudyFacts.race)
        params.update(min_repeats=spec.min_repeats, max_repeats=spec.max_repeats)
    if spec.points:
        params["points"] = repr(spec.points)
    return params
