"""`rnnstudy report` and the report logged at the end of `rnnstudy optimize`, on a real tiny study."""

from __future__ import annotations

import io
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from rnnstudy.cli import cli
from rnnstudy.results import StudyFacts, make_report, markdown_table, per_model


def _report(tiny_study, tmp_path, *args, study=None):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            study or str(tiny_study.path),
            "--storage",
            tiny_study.storage,
            "--tracking-uri",
            tiny_study.tracking_uri,
            "--out",
            str(out),
            *args,
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output, out


def _history(tiny_study, metric: str) -> dict[int, list[float]]:
    """Each trial's per-epoch values, straight from MLflow."""
    client = MlflowClient(tiny_study.tracking_uri)
    experiment = client.get_experiment_by_name(tiny_study.name)
    runs = client.search_runs([experiment.experiment_id], "tags.`rnnstudy.trial` != ''")
    return {
        int(run.data.tags["rnnstudy.trial"]): [
            m.value for m in sorted(client.get_metric_history(run.info.run_id, metric), key=lambda m: m.step)
        ]
        for run in runs
    }


def test_report_table_matches_the_logged_history(tiny_study, tmp_path):
    output, out = _report(tiny_study, tmp_path, "--last", "3")
    table = pd.read_csv(out / "table.csv", index_col="trial")
    history = _history(tiny_study, "val_accuracy")

    assert sorted(table.index) == [0, 1, 2, 3]
    assert list(table.columns[:2]) == ["c1", "c2"]  # the searched hyperparameters come first
    assert set(zip(table.c1, table.c2)) == {(2, 2), (2, 3), (4, 2), (4, 3)}
    for trial, values in history.items():
        row = table.loc[trial]
        assert row.val_accuracy_final == pytest.approx(values[-1])
        assert row.val_accuracy_best == pytest.approx(max(values))
        assert row.val_accuracy_mean_last3 == pytest.approx(sum(values[-3:]) / 3)
        assert row.val_accuracy_spread_last3 == pytest.approx(max(values[-3:]) - min(values[-3:]))
    assert (table.params_total > 0).all() and (table.train_time_s > 0).all()
    assert {"inference_time_s", "overfit_pct", "test_accuracy", "objective"} <= set(table.columns)
    assert "params_trainable" not in table  # nothing frozen: one count is enough
    # the study file's own report(frame) runs too
    assert "mean objective by c1" in output
    assert "mean objective by c1" in (out / "report.md").read_text()
    assert {p.name for p in out.iterdir()} == {
        "table.csv",
        "report.md",
        "pivot.csv",
        "curves.png",
        "optuna.html",
    }


def test_two_parameter_grid_pivots_with_row_and_column_means(tiny_study, tmp_path):
    _, out = _report(tiny_study, tmp_path)
    table = pd.read_csv(out / "table.csv", index_col="trial")
    grid = pd.read_csv(out / "pivot.csv", index_col=0)

    assert list(grid.index) == ["2", "4", "mean"] and list(grid.columns) == ["2", "3", "mean"]
    for _, row in table.iterrows():
        assert grid.loc[str(int(row.c1)), str(int(row.c2))] == pytest.approx(row.objective)
    cells = grid.iloc[:2, :2]
    assert grid["mean"].iloc[:2].tolist() == pytest.approx(cells.mean(axis=1).tolist())
    assert grid.loc["mean"].iloc[:2].tolist() == pytest.approx(cells.mean(axis=0).tolist())
    assert grid.loc["mean", "mean"] == pytest.approx(table.objective.mean())

    _, swapped = _report(tiny_study, tmp_path, "--pivot", "c2", "c1", "--value", "test_accuracy")
    turned = pd.read_csv(swapped / "pivot.csv", index_col=0)
    for _, row in table.iterrows():
        assert turned.loc[str(int(row.c2)), str(int(row.c1))] == pytest.approx(row.test_accuracy)


def test_stable_filter_keeps_trials_whose_last_epochs_vary_less(tiny_study, tmp_path):
    history = _history(tiny_study, "val_accuracy")
    spreads = {t: max(v[-3:]) - min(v[-3:]) for t, v in history.items()}
    threshold = sorted(spreads.values())[1] + 1e-6  # between the second and third smallest
    stable = sorted(t for t, s in spreads.items() if s < threshold)
    assert 0 < len(stable) < 4, spreads  # a filter that keeps some and drops some

    output, out = _report(tiny_study, tmp_path, "--last", "3", "--stable", str(threshold))
    table = pd.read_csv(out / "table.csv", index_col="trial")
    assert sorted(table.index) == stable
    assert f"{len(stable)} of 4 trials" in output and "best stable: trial #" in output
    grid = pd.read_csv(out / "pivot.csv", index_col=0)
    assert grid.shape == (3, 3)  # the whole grid stays, unstable cells blank
    assert grid.iloc[:2, :2].notna().sum().sum() == len(stable)


def test_report_by_name_from_a_copy_of_the_stores(tiny_study, tmp_path, monkeypatch):
    """Another machine has only the stores: no study file, no artifacts, another folder."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    db = elsewhere / "mlflow.db"
    shutil.copy(tiny_study.tracking_uri.removeprefix("sqlite:///"), db)
    shutil.copy(tiny_study.storage, elsewhere / "optuna.journal")
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(
        cli,
        [
            "report",
            tiny_study.name,
            "--tracking-uri",
            f"sqlite:///{db}",
            "--storage",
            str(elsewhere / "optuna.journal"),
            "--last",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    written = elsewhere / "reports" / tiny_study.name
    table = pd.read_csv(written / "table.csv", index_col="trial")
    _, original = _report(tiny_study, tmp_path, "--last", "3")
    expected = pd.read_csv(original / "table.csv", index_col="trial")
    pd.testing.assert_frame_equal(table, expected)  # the parent run told which were searched
    assert (written / "pivot.csv").exists() and (written / "optuna.html").exists()
    assert "mean objective by c1" not in result.output  # that lives in the study file


def test_optimize_logs_the_report_and_pictures_on_the_parent_run(tiny_study, tmp_path):
    client = MlflowClient(tiny_study.tracking_uri)
    experiment = client.get_experiment_by_name(tiny_study.name)
    parent = next(
        r for r in client.search_runs([experiment.experiment_id]) if "rnnstudy.trial" not in r.data.tags
    )
    names = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert names == {
        f"report/{n}" for n in ("table.csv", "report.md", "pivot.csv", "curves.png", "optuna.html")
    }
    local = client.download_artifacts(parent.info.run_id, "report", str(tmp_path))
    table = pd.read_csv(f"{local}/table.csv", index_col="trial")
    assert sorted(table.index) == [0, 1, 2, 3]  # remade by the resumed run ...
    first = pd.read_csv(io.StringIO(tiny_study.first_table), index_col="trial")
    assert sorted(first.index) == [0, 1, 2]  # ... after the first run logged three
    png = open(f"{local}/curves.png", "rb").read()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    page = open(f"{local}/optuna.html", encoding="utf-8").read()
    for heading in ("optimisation history", "parallel coordinates", "parameter importances", "contour"):
        assert f"<h2>{heading}</h2>" in page
    assert page.count('class="plotly-graph-div"') == 4  # four real plots, no "cannot" notes
    # and it printed the table with the pivot at the end
    assert "c1 \\ c2" in tiny_study.output and "best: trial #" in tiny_study.output


def test_report_errors_are_one_line(tiny_study, tmp_path):
    def run(*args):
        result = CliRunner().invoke(
            cli, ["report", *args, "--tracking-uri", tiny_study.tracking_uri, "--out", str(tmp_path)]
        )
        return result.exit_code, result.output.strip()

    code, text = run("no-such-study")
    assert code == 2 and "no study 'no-such-study'" in text and "tiny-grid" in text
    assert len(text.splitlines()) == 1
    code, text = run(str(tiny_study.path), "--pivot", "c1", "dropout")
    assert code == 2 and "cannot pivot on 'dropout'" in text
    code, text = run(str(tiny_study.path), "--metric", "val_f1")
    assert code == 2 and "val_f1" in text and "val_accuracy" in text
    code, text = run(str(tiny_study.path), "--last", "0")
    assert code == 2 and "--last 0" in text


def test_pivot_averages_repeated_cells_and_markdown_is_a_pipe_table():
    """Seeds repeated per cell (seed 000's variance) are averaged: no training needed here."""
    frame = pd.DataFrame(
        {
            "trial": range(6),
            "state": ["COMPLETE"] * 5 + ["PRUNED"],
            "run_id": list("abcdef"),
            "size": [100, 100, 250, 250, 100, 250],
            "model": ["glove", "scratch", "glove", "scratch", "glove", "scratch"],
            "objective": [0.5, 0.6, 0.7, 0.8, 0.7, 0.1],
        }
    )
    facts = StudyFacts("t", ["size", "model"], objective="objective")
    report = make_report(frame, {}, facts, options=_options(pivot=("size", "model")))
    assert report.pivot.loc[100, "glove"] == pytest.approx(0.6)  # trials 0 and 4
    assert report.pivot.loc[250, "scratch"] == pytest.approx(0.8)  # the pruned one is not counted
    assert "not shown: 1 pruned" in report.notes
    lines = markdown_table(report.pivot).splitlines()
    assert lines[0] == "| size \\ model | glove | scratch | mean |" and lines[1] == "|---|---|---|---|"


def test_per_model_names_each_finished_trial_by_the_study_files_label():
    frame = pd.DataFrame(
        {
            "trial": [0, 1, 2, 3],
            "state": ["COMPLETE", "FAILED", "COMPLETE", "COMPLETE"],
            "cell": ["gru", "gru", "lstm", "gru"],
            "level": ["char", "char", "word", "word"],
            "test_accuracy": [0.5, 0.9, 0.75, 0.625],
            "best_test_accuracy": [0.55, 0.9, 0.8, 0.7],
            "train_time_s": [12.5, 1.0, 30.25, 20.0],
            "params_total": pd.array([1000, 1000, 2400, 1800], dtype="Int64"),
        }
    )
    table = per_model(frame, lambda row: f"{row['level']} {row['cell'].upper()}")

    assert table.index.name == "model"
    assert list(table.index) == ["char GRU", "word LSTM", "word GRU"]  # in trial order, failed left out
    assert list(table.columns) == ["test_accuracy", "best_test_accuracy", "train_time_s", "params"]
    assert table.loc["word LSTM"].tolist() == [0.75, 0.8, 30.25, 2400]

    sizes = per_model(frame, lambda row: f"#{row['trial']}", {"params_total": "size"})
    assert sizes.to_dict() == {"size": {"#0": 1000, "#2": 2400, "#3": 1800}}
    assert per_model(frame[frame["state"] == "FAILED"], str) == "no finished trials yet"


def _options(**kwargs):
    from rnnstudy.results import ReportOptions

    return ReportOptions(**kwargs)


def test_a_perplexity_metric_is_best_when_lowest_as_the_trial_runner_says():
    """`rnnstudy report --metric val_perplexity` showed a final 7.18 and a "best" of 9.23: the
    report had its own rule (only "loss" is lower-is-better); now one rule serves both."""
    frame = pd.DataFrame(
        {"trial": [0, 1], "state": ["COMPLETE", "COMPLETE"], "cell": ["gru", "lstm"], "objective": [0.4, 0.5]}
    )
    history = {
        0: pd.DataFrame({"val_perplexity": [9.23, 8.1, 7.18]}, index=[1, 2, 3]),
        1: pd.DataFrame({"val_perplexity": [12.0, 10.5, 11.0]}, index=[1, 2, 3]),
    }
    facts = StudyFacts("char", ["cell"], objective="val_accuracy")

    table = make_report(frame, history, facts, _options(metric="val_perplexity")).table

    assert table.loc[0, "val_perplexity_best"] == pytest.approx(7.18)
    assert table.loc[1, "val_perplexity_best"] == pytest.approx(10.5)


def test_the_study_files_hook_gets_only_finished_trials():
    seen = []
    frame = pd.DataFrame(
        {"trial": [0, 1, 2], "state": ["COMPLETE", "FAILED", "PRUNED"], "objective": [0.5, 0, 0.1]}
    )
    facts = StudyFacts("t", [], report=lambda done: seen.append(done) or "ok")

    make_report(frame, {}, facts, _options())

    assert seen[0]["trial"].tolist() == [0] and seen[0].index.tolist() == [0]


def test_a_seed_table_with_a_row_per_trial_shows_each_models_mean_over_its_seeds():
    """The seed reports have one row per model; a study file's table has one per trial."""
    from rnnstudy.results import seed_means

    per_trial = pd.DataFrame(
        {
            "Accuracy (%)": [40.0, 44.0, 50.0, 52.0, 54.0],
            "Cell": ["rnn", "rnn", "gru", "gru", "gru"],
            "Parameter Count": [48573, 48573, 114749, 114749, 114749],
        },
        index=pd.Index(["RNN-10", "RNN-10", "GRU-10", "GRU-10", "GRU-10"], name="Model"),
    )
    table = seed_means(per_trial)

    assert list(table.index) == ["RNN-10", "GRU-10"]  # the study file's order
    assert table["Accuracy (%)"].tolist() == [42.0, 52.0]
    assert table["Cell"].tolist() == ["rnn", "gru"] and table["seeds"].tolist() == [2, 3]
    assert table["Parameter Count"].tolist() == [48573, 114749] and table["Parameter Count"].dtype == "int64"
    assert seed_means(per_trial.iloc[[0, 2]]) is not None and "seeds" not in seed_means(
        per_trial.iloc[[0, 2]]
    )


def test_points_with_no_seed_in_common_with_the_best_are_untested_not_tied():
    frame = pd.DataFrame(
        {
            "trial": range(5),
            "state": ["COMPLETE"] * 5,
            "cell": ["gru", "gru", "lstm", "lstm", "rnn"],
            "seed": [0, 1, 0, 1, 2],
            "objective": [0.50, 0.52, 0.40, 0.41, 0.45],
        }
    )
    history = {
        t: pd.DataFrame({"val_accuracy": [0.3, v]}, index=[1, 2]) for t, v in enumerate(frame.objective)
    }
    report = make_report(
        frame, history, StudyFacts("t", ["cell", "seed"], objective="val_accuracy"), _options()
    )

    verdicts = report.points.set_index("cell")["verdict"]
    assert verdicts["rnn"] == "tie"  # statistics' word: nothing tested it, nothing made it worse
    rows = {line.split()[0]: line.split() for line in report.text().splitlines() if line.startswith("cell=")}
    assert rows["cell=rnn"][-1] == "untested" and rows["cell=lstm"][-1] == "worse"
    assert "untested (fewer than two seeds in common with it): cell=rnn" in report.text()
    assert "worse: cell=lstm" in report.comparison.verdict
    assert "mean_last2" in report.headers.values()  # two epochs logged: the window is two, not 5


def test_a_raced_study_is_judged_as_the_race_decided_not_by_a_fresh_comparison():
    """A race drops a clearly worse point at its first look; compare() over the same scores
    would put it back into the Holm family of the last look. The report takes the race's."""
    from rnnstudy import stats

    values = {"gru": [0.80, 0.81, 0.79, 0.80], "lstm": [0.795, 0.80, 0.80, 0.79], "rnn": [0.50, 0.52, 0.51]}
    rows = [(cell, seed, v) for cell, vs in values.items() for seed, v in enumerate(vs)]
    frame = pd.DataFrame(
        {
            "trial": range(len(rows)),
            "state": ["COMPLETE"] * len(rows),
            "cell": [r[0] for r in rows],
            "seed": [r[1] for r in rows],
            "objective": [r[2] for r in rows],
        }
    )
    scores = pd.DataFrame(
        {"point": [f"cell={r[0]}" for r in rows], "seed": [r[1] for r in rows], "value": [r[2] for r in rows]}
    )
    raced = StudyFacts("t", ["cell", "seed"], objective="val_accuracy", race=(3, 10))
    report = make_report(frame, {}, raced, _options())
    race = stats.race_step(scores, list(dict.fromkeys(scores["point"])), False, 3, 10).comparison
    pd.testing.assert_frame_equal(report.comparison.frame(), race.frame())
    assert report.points.set_index("cell")["verdict"]["rnn"] == "worse"  # dropped at its first look

    plain = make_report(frame, {}, StudyFacts("t", ["cell", "seed"], objective="val_accuracy"), _options())
    fresh = stats.compare(scores, lower_is_better=False)
    pd.testing.assert_frame_equal(plain.comparison.frame(), fresh.frame())


# --- chance: what a model that learned nothing scores -----------------------------------------


def test_the_chance_level_is_the_validation_splits_majority_share():
    from rnnstudy.data import Data

    def data(y_val, loss):
        return Data([0], [0], [0] * len(y_val), y_val, [0], [0], {"loss": loss})

    assert data([0, 0, 0, 1], "sparse_categorical_crossentropy").chance() == 0.75
    one_hot = [[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert data(one_hot, "categorical_crossentropy").chance() == pytest.approx(0.6)
    assert data([0.0, 1.0, 1.0, 0.9, 0.2], "binary_crossentropy").chance() == pytest.approx(0.6)
    tokens = [[1, 2, 2, 2], [2, 3, 2, 1]]  # a language model's targets: every token counts
    assert data(tokens, "sparse_categorical_crossentropy").chance() == pytest.approx(5 / 8)
    assert data([0.3, 1.7], "mse").chance() is None  # not classes


def _chance_frame(values, chance=0.1, seeds=None):
    """Trials of cells gru/lstm (and seeds) with their objective and the logged chance level."""
    cells = ["gru", "lstm"] * (len(values) // 2)
    frame = pd.DataFrame(
        {
            "trial": range(len(values)),
            "state": ["COMPLETE"] * len(values),
            "cell": cells,
            "objective": values,
            "chance_val_accuracy": [chance] * len(values),
        }
    )
    if seeds is not None:
        frame["seed"] = seeds
    return frame


def test_the_report_names_the_trials_that_are_not_above_chance():
    frame = _chance_frame([0.1152, 0.52, 0.09, 0.61])
    report = make_report(frame, {}, StudyFacts("t", ["cell"], objective="val_accuracy"), _options())
    [line] = [n for n in report.notes if n.startswith("chance:")]
    assert "val_accuracy 0.1000" in line and "majority class" in line
    assert "not above it: trial #2 (0.0900)" in line and "trial #0" not in line  # 0.1152 is above 0.1
    assert line in report.text() and line in report.markdown()


def test_a_study_whose_every_point_is_at_chance_says_the_models_learned_nothing():
    seeds = [0, 0, 1, 1, 2, 2]
    frame = _chance_frame([0.10, 0.09, 0.11, 0.08, 0.09, 0.10], chance=0.11, seeds=seeds)
    report = make_report(frame, {}, StudyFacts("t", ["cell", "seed"], objective="val_accuracy"), _options())
    assert report.points is not None  # with seeds: the points are compared, and each is judged
    [line] = [n for n in report.notes if n.startswith("chance:")]
    assert "NOT ONE is above it" in line and "cell=gru (0.1000)" in line and "cell=lstm (0.0900)" in line


def test_points_above_chance_are_said_to_be_and_a_loss_has_no_chance_line():
    frame = _chance_frame([0.5, 0.6, 0.52, 0.63], chance=0.2, seeds=[0, 0, 1, 1])
    report = make_report(frame, {}, StudyFacts("t", ["cell", "seed"], objective="val_accuracy"), _options())
    assert (
        "chance: val_accuracy 0.2000, always answering the validation split's majority class; every point is above it"
        in report.notes
    )
    loss = make_report(
        frame, {}, StudyFacts("t", ["cell", "seed"], objective="val_loss", direction="minimize"), _options()
    )
    assert not [n for n in loss.notes if n.startswith("chance:")]


def test_a_classifiers_trials_log_their_chance_level(tiny_study):
    client = MlflowClient(tiny_study.tracking_uri)
    experiment = client.get_experiment_by_name(tiny_study.name)
    runs = client.search_runs([experiment.experiment_id], "tags.`rnnstudy.trial` != ''")
    levels = {float(run.data.params["chance_val_accuracy"]) for run in runs}
    assert len(levels) == 1  # one validation split for every trial
    level = levels.pop()
    assert 0.1 <= level < 0.5 and (level * 40).is_integer()  # 40 validation images of 10 classes
    assert f"chance: val_accuracy {level:.4f}" in tiny_study.output
