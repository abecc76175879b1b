"""The command line: help everywhere, and one-line errors that write nothing."""

import pytest
from click.testing import CliRunner

from rnnstudy.cli import cli

TINY = """
from rnnstudy import Study, Int
study = Study(dataset="tiny_images", model="tiny_mlp", search={search}, fixed={fixed})
"""


@pytest.mark.parametrize("command", [[], *[[name] for name in sorted(cli.commands)]])
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")


def _optimize(path, *args):
    return CliRunner().invoke(cli, ["optimize", str(path), *args])


def _assert_one_line_error(result, workdir, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]
    assert not (workdir / "mlruns").exists(), "nothing may be written before the error"


@pytest.mark.parametrize(
    ("study_text", "args", "fragments"),
    [
        ("study = Study(\n", [], ["study.py:1: syntax error"]),
        ("from rnnstudy import Study\n", [], ["defines no `study`"]),
        (
            'from rnnstudy import Study\nstudy = Study(dataset="imagenet", model="tiny_mlp")\n',
            [],
            ["unknown dataset 'imagenet'", "installed datasets:", "fashion_mnist", "tiny_images"],
        ),
        (
            TINY.format(search={"colour": [1, 2]}, fixed={}),
            [],
            ["unknown hyperparameter(s) colour", "known:"],
        ),
        (TINY.format(search={"units": []}, fixed={}), [], ["units: empty list of values"]),
        (TINY.format(search='{"units": Int(8, 2)}', fixed={}), [], ["units: inverted range Int(8, 2)"]),
        (TINY.format(search={}, fixed={"epochs": 0}), [], ["epochs=0", "allowed int from 1 to"]),
        (TINY.format(search={}, fixed={}), ["--epochs", "0"], ["--epochs 0 must be >= 1"]),
        (TINY.format(search={"units": [2, 100]}, fixed={}), [], ["100", "not allowed by model 'tiny_mlp'"]),
    ],
    ids=[
        "syntax",
        "no-study",
        "unknown-plugin",
        "unknown-hp",
        "empty",
        "inverted",
        "epochs-0",
        "epochs-flag-0",
        "out-of-range",
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    plugin_dist, make_study, workdir, study_text, args, fragments
):
    result = _optimize(make_study(study_text), *args)
    _assert_one_line_error(result, workdir, *fragments)


def test_missing_cifar10_says_where_it_looked_and_how_to_get_it(
    plugin_dist, make_study, workdir, monkeypatch
):
    import keras

    def offline():
        raise OSError("no network in tests")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)  # never touch the network
    monkeypatch.setenv("HOME", str(workdir))  # no Keras cache
    empty = workdir / "data"
    empty.mkdir()
    study = make_study('from rnnstudy import Study\nstudy = Study(dataset="cifar10", model="cnn")\n')
    result = _optimize(study, "--data-dir", str(empty))
    _assert_one_line_error(result, workdir, "CIFAR-10 data not found", str(empty), "--data-dir", "fashion")


def test_the_bundled_cifar_study_stops_at_once_offline(plugin_dist, workdir, monkeypatch):
    import keras

    monkeypatch.setattr(
        keras.datasets.cifar10, "load_data", lambda: (_ for _ in ()).throw(OSError("offline"))
    )
    monkeypatch.setenv("HOME", str(workdir))
    from pathlib import Path

    bundled = Path(__file__).parents[1] / "studies" / "cifar_channels.py"
    _assert_one_line_error(_optimize(bundled), workdir, "CIFAR-10 data not found")


def test_an_unreachable_storage_names_the_url_without_its_password(plugin_dist, make_study, workdir):
    study = make_study(TINY.format(search={}, fixed={}))
    result = _optimize(study, "--storage", "postgresql://alice:hunter2@127.0.0.1:1/optuna")
    assert result.exit_code == 2, result.output
    assert "postgresql://alice:***@127.0.0.1:1/optuna" in result.output
    assert "hunter2" not in result.output
