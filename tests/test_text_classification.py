"""Seed 003 B's two text studies: their points and their tables on made-up frames."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

STUDIES = Path(__file__).parents[1] / "studies"


def module(name: str):
    spec = importlib.util.spec_from_file_location(name, STUDIES / f"{name}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def frame(points: list[dict]) -> pd.DataFrame:
    rows = [
        {
            "state": "COMPLETE",
            **point,
            "test_accuracy": 0.5 + i / 100,
            "best_test_accuracy": 0.6,
            "train_time_s": 10.0 + i,
            "params_total": 1000 + i,
        }
        for i, point in enumerate(points)
    ]
    return pd.DataFrame([*rows, {**rows[0], "state": "FAILED"}])


def test_q1_to_q5_table_names_every_model_once():
    study = module("text_classification")
    table = study.report(frame(study.study.points))
    assert list(table.index) == [
        "char CNN",
        "char CNN + dropout",
        "word CNN",
        "word CNN + dropout",
        "char GRU",
        "char GRU + dropout",
        "word GRU",
        "word GRU + dropout",
    ]
    assert list(table.columns) == ["test_accuracy", "best_test_accuracy", "train_time_s", "params"]
    assert table.loc["word GRU + dropout", "train_time_s"] == 17.0


def test_q6_table_names_the_variants():
    study = module("text_rnn_variants")
    points = [{"layers": 1, "clipnorm": 0.0, **p} for p in study.study.points]  # as MLflow logs them
    table = study.report(frame(points))
    assert list(table.index[:5]) == [
        "char GRU",
        "char vanilla RNN",
        "char LSTM",
        "char GRU 2 layers",
        "char GRU clip 2",
    ]
    assert len(table) == 10 and table.index[-1] == "word GRU clip 2"


@pytest.mark.parametrize("name", ["text_classification", "text_rnn_variants"])
def test_no_finished_trial_yet(name):
    assert module(name).report(frame([{"level": "char", "model": "text_rnn", "cell": "gru"}]).iloc[1:]) == (
        "no finished trials yet"
    )
