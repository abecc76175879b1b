"""The sequence studies of seeds 001, 002 and 004: each validates, one runs through the CLI and
one through the trial runner, on tiny text written here (a file in --data-dir takes precedence
over the shipped corpora)."""

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnstudy.cli import cli
from rnnstudy.plugins.registry import Registry
from rnnstudy.results import trials_frame
from rnnstudy.run.preflight import validate
from rnnstudy.spec.study import load_study
from rnnstudy.stores.mlflow_tracking import Tracker

STUDIES = Path(__file__).resolve().parent.parent / "studies"
# each study and the rows of its report's table
SEQUENCE_STUDIES = {
    "char_prediction": 9,
    "shakespeare": 12,
    "poems_next_word": 3,
    "names_lstm": 6,
    "names_batch_size": 4,
}
POEM = """Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date."""


@pytest.fixture
def data(workdir) -> Path:
    """A data folder whose tiny texts stand in for the shipped corpora (the names come from Faker)."""
    folder = workdir / "data"
    folder.mkdir()
    poems = [POEM.replace("summer", word) for word in ("summer", "winter", "autumn", "spring", "morning")]
    (folder / "sonnets.txt").write_text("\n\n".join(poems * 2))  # ten short "sonnets"
    (folder / "plays.txt").write_text(POEM * 8)
    return folder


@pytest.mark.parametrize(("name", "rows"), SEQUENCE_STUDIES.items())
def test_each_sequence_study_validates_with_one_trial_per_row_of_its_report(data, name, rows):
    spec = load_study(STUDIES / f"{name}.py")
    assert len(validate(spec, Registry(), str(data))) == rows


def optimize(data: Path, study: str, *args: str):
    arguments = [
        "optimize",
        str(STUDIES / f"{study}.py"),
        "--data-dir",
        str(data),
        "--trials",
        "1",
        "--repeats",
        "1",
    ]
    result = CliRunner().invoke(cli, [*arguments, *args])
    assert result.exit_code == 0, result.output
    spec = load_study(STUDIES / f"{study}.py")
    tracker = Tracker()
    frame = trials_frame(tracker, spec)
    assert list(frame["state"]) == ["COMPLETE"]
    return result.output, frame.iloc[0], tracker


def read_artifact(tracker, run_id: str, name: str, into: Path) -> str:
    return Path(tracker.client.download_artifacts(run_id, name, str(into))).read_text()


@pytest.mark.slow  # a real char-RNN study through the command: 10-20 s
def test_char_prediction_runs_through_the_cli_and_logs_perplexity_and_generated_text(data):
    output, run, tracker = optimize(
        data, "char_prediction", "--epochs", "2", "--set", "units=8", "--set", "embedding_dim=8"
    )
    assert "RNN-10" in output and "Perplexity" in output  # the study's own report table
    assert run["test_perplexity"] == pytest.approx(math.exp(run["test_loss"]), rel=1e-3)
    history = [m.value for m in tracker.client.get_metric_history(run["run_id"], "val_perplexity")]
    assert len(history) == 2 and run["best_val_perplexity"] == pytest.approx(min(history))
    text = read_artifact(tracker, run["run_id"], "generated_text.txt", data)
    assert text.count("## sample") == 6
    assert "overfit_pct = 100" in tracker.client.get_run(run["run_id"]).data.tags["mlflow.note.content"]


def test_the_numpy_rnn_trains_through_the_same_trial_runner(data):
    """In this process, without the CLI: the non-Keras path of the runner, from fit to artifacts."""
    import optuna

    from rnnstudy.run import _worker as worker
    from rnnstudy.trial.runner import TrialRunner

    spec = load_study(STUDIES / "poems_next_word.py")
    spec.override(values={"epochs": 2, "units": 8})
    tracker = Tracker()
    experiment = tracker.experiment(spec.name)
    parent = tracker.parent_run(experiment, spec.name, None, spec.description)
    runner = TrialRunner(spec, Registry(), tracker, experiment, parent, data_dir=str(data))
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(spec.grid_points[0])  # as the driver does: the point is the trial's params
    assert worker.run_one(study, study.ask(), spec.grid_points[0], runner, send=lambda message: None)

    run = trials_frame(tracker, spec).iloc[0]
    assert (run["state"], run["model"]) == ("COMPLETE", "numpy_rnn")
    assert "RNN From Scratch (NumPy)" in spec.report(trials_frame(tracker, spec)).index
    history = [m.value for m in tracker.client.get_metric_history(run["run_id"], "loss")]
    assert history[1] < history[0]  # it learns
    assert run["test_perplexity"] == pytest.approx(math.exp(run["test_loss"]))
    assert run["params_total"] == run["params_trainable"] > 0
    names = {a.path for a in tracker.client.list_artifacts(run["run_id"])}
    assert {"generated_text.txt", "model_summary.txt", "history.csv", "curves.png"} <= names
    assert "W_xh" in read_artifact(tracker, run["run_id"], "model_summary.txt", data)
