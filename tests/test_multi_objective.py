"""Several objectives: a study scored on accuracy and cost, its front judged over seeds.

The scripted model (tests/scripted) scores its point's true accuracy plus noise drawn from the
trial's seed, and its parameter count is its ``size``: each point's accuracy and cost are known,
so the true front is known. Through the real command with two workers: the Optuna study's
directions, every objective logged per trial, the front found, a dominated point named with
its dominator, a near-tie kept "possibly on the front", and a resume that runs nothing again.
"""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from rnnstudy.errors import StudyFileError
from rnnstudy.spec.direction import lower_is_better
from rnnstudy.spec.study import Study

# (true accuracy, parameter count): the truth the verdict must find
BIG = {"score": 0.80, "size": 100}  # on the front: the most accurate
NEAR = {"score": 0.795, "size": 100}  # as big, 0.005 less accurate: within the noise of BIG
SMALL = {"score": 0.50, "size": 10}  # on the front: the smallest
WORSE = {"score": 0.40, "size": 50}  # dominated by SMALL: bigger and 5 noise sd less accurate
NOISE = 0.02


def _label(point: dict) -> str:
    return f"score={point['score']} size={point['size']}"


def test_the_direction_rule_sends_costs_down_and_accuracies_up():
    for name in ("params", "train_s", "infer_s", "val_loss", "params_total", "train_time_s"):
        assert lower_is_better(name), name
    for name in ("val_accuracy", "test_accuracy", "val_auc"):
        assert not lower_is_better(name), name
    spec = Study(dataset="d", model="m", objective=["val_accuracy", "params", {"train_s": "max"}])
    assert spec.objectives == {"val_accuracy": "maximize", "params": "minimize", "train_s": "maximize"}
    assert (spec.primary, spec.direction, spec.several) == ("val_accuracy", "maximize", True)
    # a single string keeps the study's `direction`, as before
    single = Study(dataset="d", model="m", objective="val_loss", direction="minimize")
    assert (single.objectives, single.primary, single.several) == (
        {"val_loss": "minimize"},
        "val_loss",
        False,
    )
    named = Study(
        dataset="d", model="m", objective=["val_accuracy", "params"], pruner="median", primary="params"
    )
    assert (named.primary, named.direction) == ("params", "minimize")
    # the command line's --objective (each by the rule, or NAME=max) and --primary
    single.override(objective=["val_accuracy", {"params": "max"}], primary="params")
    assert single.objectives == {"val_accuracy": "maximize", "params": "maximize"}
    assert (single.primary, single.direction) == ("params", "maximize")


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"objective": ["val_accuracy", "val_accuracy"]}, "objective 'val_accuracy' is given twice"),
        (
            {"objective": ["val_accuracy", {"params": "down"}]},
            "direction 'down' is not known; allowed: max, min",
        ),
        (
            {"objective": ["val_accuracy", "params"], "pruner": "median"},
            "name the one the pruner sees with primary=",
        ),
        (
            {"objective": ["val_accuracy", "params"], "primary": "val_loss"},
            "primary='val_loss' is not one of",
        ),
        ({"objective": []}, "give a metric's name or a list of them"),
        (
            {"objective": ["val_accuracy", "params"], "pruner": "hyperband", "primary": "val_accuracy"},
            "prunes single-objective",
        ),
        (
            {
                "objective": ["val_accuracy", "params"],
                "sampler": "cmaes",
                "search": {"x": [1, 2]},
                "trials": 2,
            },
            "optimises one objective",
        ),
        (
            {"objective": ["val_accuracy", "params"], "repeats": "adaptive"},
            "races the points on one objective",
        ),
    ],
)
def test_bad_objectives_are_one_error(fields, message):
    with pytest.raises(StudyFileError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Study(dataset="d", model="m", **fields)


def _report(project, study_file: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*project.command()[:3], "report", study_file, *args],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
    )


def test_the_front_over_seeds_finds_the_truth_with_two_workers_and_resumes(project):
    study_file = project.write_study(
        "tradeoff",
        points=[BIG, NEAR, SMALL, WORSE],
        fixed={"epochs": 1, "noise": NOISE},
        repeats=4,
        objective=["val_accuracy", "params"],
    )

    result = project.run(study_file, "--workers", "2")

    assert result.returncode == 0, result.stdout
    study = project.study("tradeoff")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    trials = study.get_trials()
    assert len(trials) == 16 and {t.state.name for t in trials} == {"COMPLETE"}
    assert {t.values[1] for t in trials} == {10.0, 50.0, 100.0}  # params, exactly as the points say
    runs = [r for r in project.runs("tradeoff") if "rnnstudy.trial" in r.data.tags]
    for run in runs:  # every objective's score logged on every trial's run
        metrics = run.data.metrics
        assert metrics["objective_params"] == metrics["params_total"]
        assert metrics["objective_val_accuracy"] == metrics["objective"] == metrics["val_accuracy"]

    lines = result.stdout.splitlines()
    front_line = next(line for line in lines if line.startswith("front: ") and "(" not in line)
    shown = set(front_line.removeprefix("front: ").split(", "))
    # the truth: SMALL is on it; BIG and NEAR are 0.25 noise sd apart, so the seeds cannot tell
    # which is ahead: one is on the front, the other "possibly", behind it
    assert _label(SMALL) in shown and len(shown & {_label(BIG), _label(NEAR)}) == 1
    assert len(shown) == 2
    verdict = next(line for line in lines if line.startswith("front: ") and "(" in line)
    assert f"dominated: {_label(WORSE)} (by {_label(SMALL)})" in verdict
    behind = (shown & {_label(BIG), _label(NEAR)}).pop()
    ahead_of_it = ({_label(BIG), _label(NEAR)} - {behind}).pop()
    assert (
        f"possibly on the front (the seeds cannot tell at α=0.05): {ahead_of_it} (behind {behind};" in verdict
    )
    assert "val_accuracy (mean ± CI)" in result.stdout and "params (mean ± CI)" in result.stdout

    latex = _report(project, study_file, "--format", "latex")
    assert latex.returncode == 0, latex.stderr
    assert "\\toprule" in latex.stdout and f"\\textbf{{{_label(SMALL)}}}" in latex.stdout
    markdown = _report(project, study_file, "--format", "markdown")
    assert f"**{_label(SMALL)}**" in markdown.stdout and front_line in markdown.stdout
    files = {p.name for p in (project.root / "reports" / "tradeoff").iterdir()}
    assert {"front.csv", "pareto.png", "report.tex", "report.md"} <= files
    front_csv = pd.read_csv(project.root / "reports" / "tradeoff" / "front.csv", index_col=0)
    assert front_csv.loc[_label(WORSE), "dominated_by"] == _label(SMALL)  # a name, not a tuple's repr

    again = project.run(study_file, "--workers", "2")
    assert again.returncode == 0, again.stdout
    assert "0 trial(s) to run, 16 already done" in again.stdout
    assert front_line in again.stdout.splitlines()


def test_one_seed_gives_the_plain_pareto_set_unverified_and_a_sampler_samples_both(project):
    study_file = project.write_study(
        "sampled",
        search={"score": [0.2, 0.4, 0.6, 0.8], "size": [10, 20, 40]},
        fixed={"epochs": 1},
        sampler="tpe",
        trials=5,
        objective=["val_accuracy", "params"],
    )

    result = project.run(study_file, "--workers", "1")

    assert result.returncode == 0, result.stdout
    trials = project.study("sampled").get_trials()
    assert len(trials) == 5 and all(len(t.values) == 2 for t in trials)
    values = {(t.params["score"], t.params["size"]) for t in trials}
    truth = {
        (s, n) for s, n in values if not any(s2 >= s and n2 <= n and (s2, n2) != (s, n) for s2, n2 in values)
    }
    verdict = next(line for line in result.stdout.splitlines() if line.startswith("front (unverified"))
    assert "one seed per point" in verdict
    front_line = next(line for line in result.stdout.splitlines() if line.startswith("front: "))
    assert set(front_line.removeprefix("front: ").split(", ")) == {f"score={s} size={n}" for s, n in truth}

    # the notebook API: the same front, and its picture
    import rnnstudy

    result = rnnstudy.load("sampled", tracking_uri=project.tracking_uri, storage=project.storage_url)
    assert set(result.front.front) == {f"score={s} size={n}" for s, n in truth} and not result.front.verified
    figure = result.pareto()
    assert [ax.get_xlabel() for ax in figure.axes if ax.get_visible()] == ["val_accuracy (higher is better)"]
    assert "Pareto front" in result._repr_html_() or "front: " in result._repr_html_()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("--objective", "val_accuracy", "--objective", "val_accuracy"),
            "objective 'val_accuracy' is given twice",
        ),
        (("--objective", "val_accuracy", "--objective", "params=up"), "direction 'up' is not known"),
        (
            ("--objective", "val_accuracy", "--objective", "params"),
            "name the one the pruner sees with primary=NAME",
        ),
    ],
)
def test_bad_objectives_at_the_command_line_are_one_line_and_write_nothing(project, args, message):
    study_file = project.write_study("bad", points=[BIG, SMALL], fixed={"epochs": 1}, pruner="median")

    result = project.run(study_file, *args)

    assert result.returncode == 2, result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("Error: ") and message in result.stdout
    assert "Traceback" not in result.stdout
    assert not (project.root / "mlruns").exists()


def test_an_unknown_metric_is_refused_before_anything_is_written(project):
    """A Keras model compiled by rnnstudy logs known metrics: a name that is none of them is
    one line at the check, before any trial."""
    study_file = project.write_study(
        "unknown",
        model="dense_stack",
        search={"width": [2, 4]},
        fixed={"epochs": 1, "activation": "relu"},
        objective=["val_accuracy", "val_acuracy"],
    )

    result = project.run(study_file, "--workers", "1")

    assert result.returncode == 2, result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "objective 'val_acuracy' is not a metric the trials log" in last
    assert "val_accuracy" in last and "params" in last  # what it could have named
    assert "Traceback" not in result.stdout
    assert not (project.root / "mlruns" / "mlflow.db").exists()
