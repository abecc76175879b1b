"""The Python API (rnnstudy.optimize, rnnstudy.load, Result) in this process, on the tiny
test plugins: what a notebook cell does, without the notebook (tests/test_notebook.py runs one)."""

from __future__ import annotations

import io
import os
import sys
import textwrap
import traceback
import types

import pytest
from matplotlib.figure import Figure

import rnnstudy
from rnnstudy import Study
from rnnstudy.errors import PluginError, RnnstudyError, StudyFileError
from rnnstudy.results import ReportError
from rnnstudy.run import _progress as progress
from rnnstudy.stores.outcome import Outcome
from rnnstudy.trial.messages import EpochEnded, TrialEnded, TrialStarted

# a notebook cell's code: its module cannot be imported by a spawned worker
NOTEBOOK_CELL = '''
from rnnstudy import Study

def mean_by_units(frame):
    """The study's own analysis; it calls a helper defined beside it."""
    return "mean objective by units: " + ", ".join(
        f"{units}={_mean(part)}" for units, part in frame.groupby("units")["objective"]
    )

def _mean(values):
    return f"{values.mean():.4f}"

study = Study(
    dataset="tiny_images",
    model="tiny_mlp",
    search={"units": [2, 4], "learning_rate": [0.003, 0.03]},
    fixed={"epochs": 3, "batch_size": 16},
    name="cell-grid",
    report=mean_by_units,
)
'''


def _cell_study(name: str = "a_notebook") -> Study:
    """The Study of NOTEBOOK_CELL, defined in a module that is not in sys.modules (as a
    notebook's ``__main__`` is not importable in a spawned process)."""
    module = types.ModuleType(name)
    exec(textwrap.dedent(NOTEBOOK_CELL), module.__dict__)
    assert name not in sys.modules
    return module.study


PACKAGE = os.path.dirname(rnnstudy.__file__) + os.sep  # not "/rnnstudy/": a clone may be called that


def _rnnstudy_frames(exc: BaseException) -> list[str]:
    """The frames of rnnstudy's that a notebook would show: all but the one that hides itself
    from IPython (``__tracebackhide__``) as it raises the message alone."""
    frames = traceback.walk_tb(exc.__traceback__)
    return [
        f"{frame.f_code.co_filename}:{frame.f_code.co_name}"
        for frame, _ in frames
        if frame.f_code.co_filename.startswith(PACKAGE) and not frame.f_locals.get("__tracebackhide__")
    ]


@pytest.mark.slow  # two worker processes from the API: about 20 s
def test_optimize_a_study_object_with_two_workers_then_load_it(plugin_dist, workdir):
    study = _cell_study()
    result = rnnstudy.optimize(study, workers=2, epochs=2)

    assert isinstance(result, rnnstudy.Result) and result.name == "cell-grid"
    assert study.fixed["epochs"] == 3  # the caller's Study is not changed by the overrides
    assert list(result.frame["state"]) == ["COMPLETE"] * 4
    assert set(result.frame["epochs"]) == {2}
    table = result.table()
    assert list(table.index) == [0, 1, 2, 3] and {"units", "learning_rate", "objective"} <= set(table.columns)
    pivot = result.pivot()
    assert list(pivot.index) == [2, 4, "mean"] and list(pivot.columns) == [0.003, 0.03, "mean"]
    assert pivot.loc["mean", "mean"] == pytest.approx(table["objective"].mean())
    assert result.pivot("learning_rate", "units").shape == (3, 3)  # rows and columns swapped
    assert result.best["objective"] == table["objective"].max()
    assert not result.verdict.verified  # one seed per point: the ranking is unverified
    figure = result.curves()
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    assert len(figure.axes[0].get_lines()) == 4
    # the notebook's report hook ran in this process, with its helper
    page = result._repr_html_()
    assert "<table" in page and "mean objective by units: 2=" in page
    assert "mean objective by units" in repr(result) and "objective by units (rows)" in repr(result)

    again = rnnstudy.load("cell-grid")
    assert again.table()["objective"].tolist() == table["objective"].tolist()
    assert again.pivot("units", "learning_rate").equals(pivot)
    assert again.counts() == "4 complete, 0 pruned, 0 failed"
    assert (workdir / "mlruns" / "optuna.journal").exists()


@pytest.mark.slow  # resume through the API: the CLI's resume tests cover the same driver
def test_optimize_again_resumes_and_a_file_path_works(plugin_dist, workdir, make_study, capsys):
    path = make_study(
        """
        from rnnstudy import Study

        study = Study(dataset="tiny_images", model="tiny_mlp", search={"units": [2, 3, 4]},
                      fixed={"epochs": 1}, repeats=2)
        """,
        name="tiny_repeats.py",
    )
    first = rnnstudy.optimize(path, trials=2)
    assert len(first.frame) == 2
    assert first.table().index.name == "trial"  # seed 0 of two points: nothing to compare yet
    result = rnnstudy.optimize(str(path))
    out = capsys.readouterr().out
    assert "4 trial(s) to run, 2 already done" in out
    assert "objective by" not in out  # the table is the result's to show, not printed twice
    assert len(result.frame) == 6 and result.table().index.name == "point"  # a row per point
    assert set(result.table()["n"]) == {2}
    assert result.best.name == result.verdict.best
    assert len(result.curves().axes) == 2


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda s: rnnstudy.optimize(s.variant(model="resnet", name="x")),
            PluginError,
            "unknown model 'resnet'",
        ),
        (lambda s: rnnstudy.optimize(s.variant(name=None)), StudyFileError, "the Study has no name"),
        (lambda s: rnnstudy.optimize(s, epochs=0), RnnstudyError, "epochs=0 must be"),
        (lambda s: rnnstudy.optimize(s, values="epochs=2"), RnnstudyError, "must be a dict"),
        (lambda s: rnnstudy.optimize(s, repeats=0), StudyFileError, "repeats=0 is not allowed"),
        (lambda s: rnnstudy.optimize(42), StudyFileError, "give a rnnstudy.Study or a study file's path"),
        (lambda s: rnnstudy.optimize("missing.py"), StudyFileError, "not found"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(plugin_dist, workdir, call, error, message):
    with pytest.raises(error, match=message) as caught:
        call(_cell_study())
    assert "\n" not in str(caught.value)
    assert not _rnnstudy_frames(caught.value)  # a notebook shows the cell's line and the message
    assert not (workdir / "mlruns").exists()


def test_load_of_an_unknown_study_names_the_known_ones(plugin_dist, workdir):
    with pytest.raises(ReportError, match="no study 'nothing-here'") as caught:
        rnnstudy.load("nothing-here")
    assert not _rnnstudy_frames(caught.value)


def test_a_notebook_gets_one_bar_with_epoch_best_and_time_left(monkeypatch):
    out = io.StringIO()
    assert type(progress.make(2, "val_accuracy", "maximize", out=out)) is progress.Progress
    kernel_streams = types.ModuleType("ipykernel.iostream")
    kernel_streams.OutStream = io.StringIO  # what ipykernel's sys.stdout is, for the choice
    monkeypatch.setitem(sys.modules, "ipykernel.iostream", kernel_streams)
    show = progress.make(2, "val_accuracy", "maximize", out=out)
    assert isinstance(show, progress.NotebookProgress)

    show.handle(TrialStarted(0, {"units": 2}, 2))
    show.handle(EpochEnded(0, 1, 2, {"val_accuracy": 0.5}))
    assert "0/2 trials" in out.getvalue() and "trial #0 epoch 1/2 val_accuracy 0.5000" in out.getvalue()
    show.handle(TrialEnded(0, Outcome.COMPLETE, 0.75, seconds=10))
    show.handle(TrialStarted(1, {"units": 4}, 2))
    show.handle(TrialEnded(1, Outcome.FAILED, None, "RuntimeError: boom", seconds=1))
    show.close()
    text = out.getvalue()
    assert "2/2 trials" in text and "best #0 0.7500" in text
    assert "trial #1 FAILED: RuntimeError: boom\n" in text  # a failure is a line of its own
    assert "started" not in text  # no per-trial lines under the bar
