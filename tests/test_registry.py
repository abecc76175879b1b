import pytest
from click.testing import CliRunner

from rnnstudy.cli import cli
from rnnstudy.errors import PluginError
from rnnstudy.plugins.registry import Registry


def fresh() -> Registry:
    registry = Registry(entry_points=False)
    registry.add("model", "b_model", object(), package="fakes", version="2.0")
    registry.add("model", "a_model", object(), package="fakes", version="1.0")
    registry.add("dataset", "numbers", object())
    return registry


def test_a_fresh_registry_holds_only_its_fakes():
    registry = fresh()
    assert registry.names("model") == ["a_model", "b_model"]
    assert registry.names("optimizer") == []
    assert registry.get("model", "b_model").version == "2.0"
    assert [p.kind for p in registry.all()] == ["dataset", "model", "model"]


def test_an_unknown_plugin_names_the_installed_ones():
    with pytest.raises(PluginError, match=r"unknown model 'c_model'; installed models: a_model, b_model"):
        fresh().get("model", "c_model")


def test_an_unknown_kind_is_refused():
    with pytest.raises(PluginError, match="unknown plugin kind 'loss'; allowed: dataset, model, optimizer"):
        fresh().add("loss", "mse", object())


def test_entry_points_of_a_third_party_distribution_are_found(plugin_dist):
    registry = Registry()
    tiny = registry.get("model", "tiny_mlp")
    assert (tiny.package, tiny.version) == ("tiny-rnnstudy-plugin", "0.3.1")
    assert registry.get("model", "cnn").package == "rnnstudy"  # built-ins come the same way
    assert "broken_model" not in registry.names("model")


def test_a_broken_plugin_is_reported_and_the_others_still_work(plugin_dist):
    registry = Registry()
    with pytest.raises(PluginError, match=r"model 'broken_model' from package tiny-rnnstudy-plugin failed"):
        registry.get("model", "broken_model")
    assert registry.get("dataset", "tiny_images").obj is not None


def test_plugins_command_lists_packages_versions_and_errors(plugin_dist):
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.split()[:4] == ["model", "tiny_mlp", "tiny-rnnstudy-plugin", "0.3.1"] for line in lines)
    assert any(line.split()[:3] == ["optimizer", "sgd", "rnnstudy"] for line in lines)
    broken = [line for line in lines if "broken_model" in line]
    assert len(broken) == 1 and "BROKEN: ImportError: needs libfoo" in broken[0]
