from pathlib import Path

import pytest

from rnnstudy import Choice, Int, Study
from rnnstudy.errors import SearchSpaceError, StudyFileError
from rnnstudy.spec.space import grid
from rnnstudy.spec.study import load_study


def test_a_study_file_is_loaded_with_its_name_and_report(make_study):
    path = make_study(
        """
        from rnnstudy import Study
        study = Study(dataset="d", model="m", search={"units": [1, 2]})
        def report(frame):
            return "custom"
        """,
        name="my_grid.py",
    )
    study = load_study(path)
    assert study.name == "my-grid"
    assert study.report(None) == "custom"
    assert study.fixed == {"dataset": "d", "model": "m"}  # no optimizer named: the model's compile, else adam


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("study = Study(\n", r"study.py:1: syntax error"),
        ("x = 1\n", r"defines no `study`; add `study = Study\(dataset=..., model=...\)`"),
        ("study = 42\n", r"`study` is a int, not rnnstudy.Study"),
        ("import nonexistent_module_xyz\n", r"ModuleNotFoundError: No module named 'nonexistent_module_xyz'"),
    ],
)
def test_a_broken_study_file_is_one_clear_error(make_study, text, message):
    path = make_study(text)
    with pytest.raises(StudyFileError, match=message):
        load_study(path)


def test_a_missing_study_file_is_named(workdir):
    with pytest.raises(StudyFileError, match=r"study file 'nope.py' not found"):
        load_study("nope.py")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"search": {"units": []}}, SearchSpaceError, r"units: empty list of values"),
        ({"search": {"units": Int(8, 2)}}, SearchSpaceError, r"units: inverted range Int\(8, 2\)"),
        ({"sampler": "bayes"}, StudyFileError, r"sampler='bayes' is not known; allowed: grid, tpe"),
        ({"sampler": "tpe", "search": {"units": Int(1, 4)}}, StudyFileError, r"needs `trials`"),
        (
            {"points": [{"units": 1}], "search": {"units": [1]}},
            StudyFileError,
            r"either `search` or `points`",
        ),
        ({"reduce": "median"}, StudyFileError, r"reduce='median' is not known"),
    ],
)
def test_a_bad_study_is_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        Study(dataset="d", model="m", **kwargs)


def test_a_grid_is_every_combination_in_order():
    assert grid({"a": Choice((1, 2)), "b": Int(0, 4, step=2)}) == [
        {"a": 1, "b": 0},
        {"a": 1, "b": 2},
        {"a": 1, "b": 4},
        {"a": 2, "b": 0},
        {"a": 2, "b": 2},
        {"a": 2, "b": 4},
    ]


def test_points_may_name_different_hyperparameters():
    study = Study(
        dataset="d", model="m", points=[{"optimizer": "sgd", "momentum": 0.1}, {"optimizer": "adam"}]
    )
    assert "optimizer" not in study.fixed
    assert study.spaces_for({"optimizer": "adam"}) == {"optimizer": Choice(("adam", "sgd"))}
    assert study.spaces_for({"optimizer": "sgd", "momentum": 0.1})["momentum"] == Choice((0.1,))


BUNDLED = sorted((Path(__file__).parents[1] / "studies").glob("*.py"))


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_every_bundled_study_file_loads(path):
    study = load_study(path)
    assert study.name == path.stem.replace("_", "-")
    assert study.grid_points if study.sampler == "grid" else study.trials


def test_a_variant_changes_the_plugin_and_keeps_the_rest():
    base = Study(dataset="cifar10", model="cnn", search={"c1": [10, 90]}, fixed={"epochs": 5})
    other = base.variant(dataset="fashion_mnist")
    assert other.fixed == {"epochs": 5, "dataset": "fashion_mnist", "model": "cnn"}
    assert other.search == base.search and base.fixed["dataset"] == "cifar10"
