"""Repeats through the real command: points × seeds each run once with two workers, a race adds
seeds only where the leader is still tied and resumes in its middle, and the report says which
differences are real. The scripted model scores its point's true value plus noise drawn from
the trial's seed (tests/scripted), so nothing trains and the truth is known."""

from __future__ import annotations

import re
import signal
import subprocess

import pytest

from rnnstudy.stores.optuna_internals import enqueued_point

TRUTH = [0.80, 0.799, 0.50]  # the best, a near-tie, and one far worse
NOISE = 0.05  # sd of a trial's score around its point's true value


def _seeds_added(project, name) -> bool:
    """Whether the race has enqueued a seed beyond its first round (min_repeats=3)."""
    try:
        trials = project.study(name).get_trials(deepcopy=False)
    except KeyError:  # not created yet
        return False
    return any((enqueued_point(t) or {}).get("seed", 0) >= 3 for t in trials)


def test_repeats_run_every_point_with_the_same_seeds_and_the_report_tells_what_is_real(project):
    study_file = project.write_study(
        "repeated", search={"score": TRUTH}, fixed={"epochs": 1, "noise": NOISE}, repeats=4
    )

    result = project.run(study_file, "--workers", "2")

    assert result.returncode == 0, result.stdout
    assert "12 trial(s) to run" in result.stdout
    outcome = project.assert_exact("repeated", [{"score": s, "seed": k} for k in range(4) for s in TRUTH])
    assert outcome["trials"] == {"COMPLETE": 12}
    runs = outcome["run_list"]
    assert {r.data.tags["rnnstudy.point"] for r in runs} == {f"score={s}" for s in TRUTH}
    assert sorted(r.data.params["seed"] for r in runs) == sorted(str(k) for k in range(4) for _ in TRUTH)
    # the verdict: 0.50 is worse; 0.799 cannot be told from 0.80 with 4 seeds at this noise
    verdict = next(line for line in result.stdout.splitlines() if line.startswith("best: "))
    assert verdict.startswith(("best: score=0.8 ", "best: score=0.799 ")) and "(n=4)" in verdict
    tied = verdict.split("not distinguishable from it at α=0.05: ")[1]
    assert tied.startswith(("score=0.799 (p=", "score=0.8 (p=")) and "worse: score=0.5 (p" in tied
    assert "mean ± 95% CI" in result.stdout and "would separate" in result.stdout

    # the same as LaTeX (booktabs, the best in bold, the tie marked) and Markdown, and the pictures
    command = [*project.command()[:3], "report", study_file]
    latex = subprocess.run(
        [*command, "--format", "latex"], cwd=project.root, env=project.env, capture_output=True, text=True
    )
    assert latex.returncode == 0, latex.stderr
    assert "\\toprule" in latex.stdout and "\\bottomrule" in latex.stdout and "\\textbf{" in latex.stdout
    assert "\\dag" in latex.stdout  # the point not distinguishable from the best
    markdown = subprocess.run(
        [*command, "--format", "markdown"], cwd=project.root, env=project.env, capture_output=True, text=True
    )
    assert markdown.returncode == 0 and "**" in markdown.stdout and "†" in markdown.stdout
    files = {p.name for p in (project.root / "reports" / "repeated").iterdir()}
    assert {"table.csv", "trials.csv", "points.png", "curves.png", "report.tex"} <= files
    wrong = subprocess.run(
        [*command, "--format", "pdf"], cwd=project.root, env=project.env, capture_output=True, text=True
    )
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines() == [
        "Error: --format 'pdf' is not known; allowed: text, markdown, latex"
    ]


@pytest.mark.slow  # a race stopped and resumed with two workers: about 30 s
def test_a_race_with_two_workers_adds_seeds_only_to_ties_and_resumes_in_its_middle(project):
    truth = {"score": [0.80, 0.79, 0.30, 0.20]}  # 0.79: one noise sd below, open to the last look
    study_file = project.write_study(
        "raced",
        search=truth,
        fixed={"epochs": 1, "noise": 0.01, "epoch_seconds": 0.15},  # 0.3 and 0.2: 50+ sd below
        repeats="adaptive",
        min_repeats=3,
        max_repeats=6,
    )
    command = (study_file, "--workers", "2")

    # stop it once the race has added seeds (a round after the first), then run it again
    run = project.start(*command)
    project.wait_for(lambda: _seeds_added(project, "raced"), what="the race's first added seed")
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=120) == 130, project.log()
    assert re.search(r"still ties? with the leader \(score=0\.(8|79)\): adding seed 3 to", project.log())

    resumed = project.run(*command)

    assert resumed.returncode == 0, resumed.stdout
    outcome = project.outcome("raced")
    points = [enqueued_point(t) for t in outcome["trial_list"] if t.state.name == "COMPLETE"]
    seeds = {s: sorted(p["seed"] for p in points if p["score"] == s) for s in truth["score"]}
    assert all(seeds[s] == [0, 1, 2] for s in (0.30, 0.20))  # separated after the first round
    assert seeds[0.80] == seeds[0.79] == list(range(6))  # open to the end: max_repeats, paired
    assert len(points) == 3 * 2 + 6 * 2  # each (point, seed) once, across the stop and the resume
    assert outcome["trials"]["RUNNING"] == 0 == outcome["trials"]["WAITING"]
    assert "best: " in resumed.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("--repeats", "0"), "repeats=0 is not allowed"),
        (("--repeats", "3", "--set", "seed=2"), "must not also search or fix `seed`"),
    ],
)
def test_bad_repeats_at_the_command_line_are_one_line_and_write_nothing(project, args, message):
    study_file = project.write_study("bad", search={"score": TRUTH}, fixed={"epochs": 1})

    result = project.run(study_file, *args)

    assert result.returncode == 2, result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("Error: ") and message in result.stdout
    assert "Traceback" not in result.stdout
    assert not (project.root / "mlruns").exists()
