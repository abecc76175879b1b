"""The layout as docs/architecture.md draws it: the public paths plugins and users import, one
home for every key, modules a newcomer can read, and a start-up that does not pay for Keras."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rnnstudy import keys

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rnnstudy"
SUBPACKAGES = ("plugins", "spec", "runtime", "stores", "stats", "results", "trial", "run", "tools")
MAX_LINES = 600

# the paths third-party plugins, study files and notebooks import: these must keep working
PUBLIC = {
    "rnnstudy": ["Study", "optimize", "load", "Result", "Choice", "Int", "Float", "Data", "RnnstudyError"],
    "rnnstudy.data": ["Data", "Info", "find", "hold_out", "not_found", "split", "user_data_dir"],
    "rnnstudy.testing": ["check_dataset", "check_model", "check_optimizer"],
    "rnnstudy.errors": ["RnnstudyError", "SearchSpaceError", "DataNotFoundError", "PluginError", "Exit"],
    "rnnstudy.plugins": ["DatasetPlugin", "ModelPlugin", "OptimizerPlugin", "ModelBuilder", "Registry"],
    "rnnstudy.stats": ["compare", "race_step", "repeats_to_separate"],
    "rnnstudy.results": ["per_model", "trials_frame", "completed"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_paths_resolve(module):
    imported = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lacks {missing}"


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_subpackage_exports_what_it_lists(name):
    package = importlib.import_module(f"rnnstudy.{name}")
    assert package.__doc__ and package.__all__
    for exported in package.__all__:
        getattr(package, exported)  # imports its module on first use; AttributeError if it is not there
    assert set(dir(package)) >= set(package.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        package.nothing_here  # noqa: B018


def test_every_entry_point_names_a_module_that_exists():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for group in ("rnnstudy.datasets", "rnnstudy.models", "rnnstudy.optimizers"):
        for name, target in project["entry-points"][group].items():
            module, _, attribute = target.partition(":")
            assert hasattr(importlib.import_module(module), attribute), f"{group} {name} -> {target}"
    assert project["scripts"]["rnnstudy"] == "rnnstudy.cli:main"


def test_no_module_is_longer_than_a_newcomer_reads():
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_the_command_line_starts_without_the_heavy_libraries():
    code = "import sys, rnnstudy.cli; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "rnnstudy.cli" in loaded
    heavy = loaded & {
        "keras",
        "tensorflow",
        "optuna",
        "mlflow",
        "pandas",
        "scipy",
        "matplotlib",
        "torch",
        "jax",
    }
    assert not heavy, f"`rnnstudy --help` imports {sorted(heavy)}"


# --- one home for every key -----------------------------------------------------------------

# the names other tools read: an MLflow tag, an Optuna attribute, a trial's artifact file
KEYS = {
    value: name
    for name, value in vars(keys).items()
    if name.endswith(("_TAG", "_ATTR")) or name in ("WHOLE_PARAMS", "HISTORY", "MODEL_SUMMARY")
}


def spelled_keys(source: str) -> list[tuple[int, str]]:
    """Key names written as string literals in ``source`` (docstrings and comments aside)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        if node.value in KEYS
    ]


def test_the_key_check_finds_a_key_spelled_again():
    source = '"""Mentions rnnstudy.state in prose."""\nrun.set_tag("rnnstudy.state", "x")\nuser_attrs.get("fail_reason")\n'
    assert spelled_keys(source) == [(2, "rnnstudy.state"), (3, "fail_reason")]


def test_every_key_is_spelled_once_in_the_keys_module():
    assert len(KEYS) == len([n for n in vars(keys) if n.endswith(("_TAG", "_ATTR"))]) + 3, (
        "two keys share a value"
    )
    found = {
        f"{path.relative_to(ROOT)}:{line}": value
        for path in PACKAGE.rglob("*.py")
        if path.name != "keys.py"
        for line, value in spelled_keys(path.read_text())
    }
    assert not found, f"spell these through rnnstudy.keys: {found}"


@pytest.mark.parametrize(
    "value",
    [0.01, 32, True, None, "adam", [32, 64], {"a": 1}, "c1=90 c2=40", float("inf"), "0.10"],
)
def test_a_param_reads_back_as_written(value):
    text = keys.param_text(value)
    back = keys.param_value(text)
    assert back == (0.1 if value == "0.10" else value)  # MLflow keeps text: "0.10" reads back as a number
    assert keys.param_scalar(text) == (text if isinstance(value, list | dict) else back)


def test_a_param_with_a_password_is_written_without_it():
    assert keys.param_text("postgresql://u:s3cret@db/x") == "postgresql://u:***@db/x"


def test_a_study_recorded_before_the_subpackages_still_unpickles(monkeypatch):
    """A record's study.pkl names the classes where they were when it was written."""
    import pickle

    from rnnstudy import Study
    from rnnstudy.spec import space, study
    from rnnstudy.stores.provenance import unpickle_study

    for old, module in (("rnnstudy.study", study), ("rnnstudy.space", space)):
        monkeypatch.setitem(sys.modules, old, module)
    monkeypatch.setattr(study.Study, "__module__", "rnnstudy.study")
    monkeypatch.setattr(space.Choice, "__module__", "rnnstudy.space")
    spec = Study(dataset="d", model="m", search={"units": space.Choice([2, 4])}, name="old")
    packed = pickle.dumps(spec)
    assert b"rnnstudy.study" in packed and b"rnnstudy.spec" not in packed
    monkeypatch.undo()

    again = unpickle_study(packed)
    assert type(again) is study.Study and again.name == "old"
    assert type(again.search["units"]) is space.Choice
