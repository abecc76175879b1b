"""Parallel and distributed studies: every grid point runs exactly once, whether the trials
run in worker processes of one command or in several commands sharing PostgreSQL."""

from __future__ import annotations

import multiprocessing

import pytest

from rnnstudy.spec.study import Study
from rnnstudy.stores.optuna_internals import enqueued_point


def scores(n: int) -> list[float]:
    return [round(0.01 * (i + 1), 2) for i in range(n)]


@pytest.mark.slow  # the kill test runs two workers on the journal file in the default suite
def test_workers_run_each_grid_point_once_on_the_journal_file(project):
    grid = scores(6)
    study_file = project.write_study("grid", search={"score": grid}, fixed={"epochs": 1})

    result = project.run(study_file, "--workers", "2", "--trials-per-worker", "2")

    assert result.returncode == 0, result.stdout
    assert "6 trial(s) to run" in result.stdout
    outcome = project.assert_exact("grid", [{"score": s} for s in grid])
    assert outcome["trials"] == {"COMPLETE": 6}
    workers = {t.system_attrs["rnnstudy.heartbeat"]["pid"] for t in outcome["trial_list"]}
    assert len(workers) >= 3  # 6 trials, 2 per worker: workers were recycled


@pytest.mark.slow
def test_25_point_grid_with_4_workers_runs_25_trials(project):
    grid = scores(25)
    study_file = project.write_study("grid25", search={"score": grid}, fixed={"epochs": 1})

    result = project.run(study_file, "--workers", "4")

    assert result.returncode == 0, result.stdout
    outcome = project.assert_exact("grid25", [{"score": s} for s in grid])
    assert outcome["trials"] == {"COMPLETE": 25}
    assert outcome["runs"] == {"FINISHED": 25}
    print(f"25-point grid, 4 workers: trials {dict(outcome['trials'])}, trial runs {dict(outcome['runs'])}")


@pytest.mark.slow
def test_25_point_grid_in_2_processes_of_2_workers_on_postgres(project, postgres_url):
    grid = scores(25)
    study_file = project.write_study("grid25", search={"score": grid}, fixed={"epochs": 1})
    args = (study_file, "--workers", "2", "--storage", postgres_url)

    first, second = project.start(*args, log="a.log"), project.start(*args, log="b.log")

    assert first.wait(timeout=900) == 0, project.log("a.log")
    assert second.wait(timeout=900) == 0, project.log("b.log")
    outcome = project.assert_exact("grid25", [{"score": s} for s in grid], storage_url=postgres_url)
    assert outcome["trials"] == {"COMPLETE": 25}
    assert outcome["runs"] == {"FINISHED": 25}


# --- several processes setting one study up at the same moment --------------------------


def _set_up(storage_url: str, specs: list[Study], barrier) -> None:
    """What each starting `rnnstudy optimize` does under its study's lock."""
    import optuna

    from rnnstudy.run._planner import plan
    from rnnstudy.stores.optuna_storage import open_storage, study_lock

    storage = open_storage(storage_url)
    barrier.wait()
    for spec in specs:
        with study_lock(storage_url, storage, spec.name):
            study = optuna.create_study(study_name=spec.name, storage=storage, load_if_exists=True)
            plan(study, spec, spec.grid_points if spec.sampler == "grid" else None)


@pytest.mark.parametrize("storage", ["journal", "postgres"])
def test_processes_starting_together_enqueue_each_point_once(storage, project, request):
    url = project.storage_url if storage == "journal" else request.getfixturevalue("postgres_url")
    space = {"score": scores(25)}
    grid = Study(dataset="tiny_table", model="scripted_fit", name="grid", search=space)
    sampled = Study(
        dataset="tiny_table", model="scripted_fit", name="tpe", search=space, sampler="tpe", trials=10
    )
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    processes = [context.Process(target=_set_up, args=(url, [grid, sampled], barrier)) for _ in range(4)]

    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0

    trials = project.study("grid", url).get_trials()
    assert sorted(enqueued_point(t)["score"] for t in trials) == scores(25)
    assert len(project.study("tpe", url).get_trials()) == 10
