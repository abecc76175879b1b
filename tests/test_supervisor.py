"""The supervisor's decisions, fed events by hand: no processes, no storage."""

from __future__ import annotations

from rnnstudy.run._supervisor import (
    Assign,
    Dismiss,
    InterruptTrial,
    InterruptWorkers,
    LookForStale,
    LoseTrial,
    Replan,
    StartWorker,
    Supervisor,
)
from rnnstudy.stores.outcome import Outcome
from rnnstudy.trial.messages import (
    EXIT_DRAINED,
    EXIT_INTERRUPTED,
    EXIT_RECYCLED,
    Exiting,
    Fatal,
    Ready,
    TrialEnded,
)


def test_a_recycled_worker_is_replaced_and_nothing_is_lost():
    boss = Supervisor(workers=2)
    boss.assigned(11, 0)
    boss.on_message(TrialEnded(0, Outcome.COMPLETE, 0.9))

    assert boss.on_worker_end(11, EXIT_RECYCLED, live_workers=1) == [StartWorker()]
    assert boss.running == {}


def test_a_worker_that_drained_the_study_is_not_replaced_when_enough_remain():
    boss = Supervisor(workers=1)
    assert boss.on_worker_end(11, EXIT_DRAINED, live_workers=1) == []


def test_a_dead_worker_loses_its_trial_then_the_study_is_replanned_and_the_worker_replaced():
    boss = Supervisor(workers=2)
    boss.assigned(11, 3)
    boss.assigned(12, 4)

    actions = boss.on_worker_end(11, -9, live_workers=1)

    assert actions == [
        LoseTrial(3, "worker process died: killed by SIGKILL (exit code -9; out of memory?)"),
        Replan(),
        StartWorker(),
    ]
    assert boss.running == {12: 4}  # the other worker's trial is untouched


def test_a_worker_dead_between_trials_loses_nothing_but_still_triggers_a_replan():
    boss = Supervisor(workers=1)
    boss.assigned(11, 0)
    boss.on_message(TrialEnded(0, Outcome.PRUNED))

    assert boss.on_worker_end(11, -11, live_workers=0) == [Replan(), StartWorker()]


def test_replans_after_deaths_are_bounded_so_a_point_that_kills_every_worker_cannot_loop():
    boss = Supervisor(workers=1, max_retries=2)
    replans = 0
    for pid in range(5):
        boss.assigned(pid, pid)
        actions = boss.on_worker_end(pid, -9, live_workers=0)
        assert actions[0] == LoseTrial(
            pid, "worker process died: killed by SIGKILL (exit code -9; out of memory?)"
        )
        replans += Replan() in actions
        boss.on_message(TrialEnded(100 + pid, Outcome.COMPLETE, 0.5))  # another worker's: progress
    assert replans == 2


def test_workers_dying_three_times_in_a_row_stop_the_study_and_none_is_started_again():
    boss = Supervisor(workers=2)
    for pid in (11, 12):
        boss.assigned(pid, pid)
        actions = boss.on_worker_end(pid, 1, live_workers=1)
        assert actions == [LoseTrial(pid, "worker process died: exit code 1"), Replan(), StartWorker()]
    boss.assigned(13, 13)

    actions = boss.on_worker_end(13, -9, live_workers=1)

    assert actions == [
        LoseTrial(13, "worker process died: killed by SIGKILL (exit code -9; out of memory?)"),
        InterruptWorkers(),
    ]
    assert boss.stopped.startswith("3 worker processes in a row died before ending a trial")
    assert boss.on_message(Ready(14)) == [Dismiss(14)]  # a worker still getting ready gets nothing
    assert boss.on_worker_end(14, EXIT_INTERRUPTED, live_workers=0) == []


def test_a_trial_ended_between_deaths_resets_the_count():
    boss = Supervisor(workers=1)
    for pid in range(6):
        assert boss.on_message(Ready(pid)) == [Assign(pid)]
        boss.assigned(pid, pid)
        boss.on_worker_end(pid, -9, live_workers=0)
        boss.on_message(TrialEnded(100 + pid, Outcome.FAILED, reason="raised"))
    assert boss.stopped is None


def test_a_fatal_error_interrupts_every_worker_once_and_starts_no_other():
    boss = Supervisor(workers=2)
    boss.assigned(11, 0)
    assert boss.on_message(Fatal("unknown hyperparameter 'x'")) == [InterruptWorkers()]
    assert boss.on_message(Fatal("a second one")) == []  # the first message is the one shown
    assert boss.fatal == "unknown hyperparameter 'x'"

    boss.on_message(TrialEnded(0, Outcome.FAILED, reason="unknown hyperparameter 'x'"))
    assert boss.on_worker_end(11, 2, live_workers=1) == []
    boss.assigned(12, 1)
    assert boss.on_worker_end(12, -9, live_workers=0) == [
        LoseTrial(1, "worker process died: killed by SIGKILL (exit code -9; out of memory?)")
    ]


def test_an_exiting_worker_is_known_until_it_is_reaped():
    boss = Supervisor(workers=1)
    boss.on_message(Exiting(11))
    assert boss.exiting == {11}
    boss.on_worker_end(11, EXIT_DRAINED, live_workers=0)
    assert boss.exiting == set()


def test_ctrl_c_interrupts_exactly_the_trials_still_running():
    boss = Supervisor(workers=3)
    for pid, trial in ((11, 0), (12, 1), (13, 2)):
        boss.assigned(pid, trial)
    boss.on_message(TrialEnded(1, Outcome.INTERRUPTED))  # its worker ended it itself

    assert sorted(boss.on_interrupt(), key=lambda a: a.trial) == [InterruptTrial(0), InterruptTrial(2)]


def test_it_looks_for_other_commands_stale_trials_once_per_interval_while_the_study_runs():
    boss = Supervisor(workers=1, check_every=2.0)
    looks = [t for t in (100.0, 101.0, 102.0, 103.5, 104.0, 106.1) if boss.on_tick(t) == [LookForStale()]]
    assert looks == [102.0, 104.0, 106.1]  # two seconds after the first tick, then every two

    boss.on_message(Fatal("the study is wrong"))
    assert boss.on_tick(200.0) == []  # a stopping study takes over nothing
    assert Supervisor(workers=1).on_tick(1e9) == []  # nothing to look at without an interval
