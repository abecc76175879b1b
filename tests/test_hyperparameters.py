import optuna
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.hyperparameters import HyperParameters
from rnnstudy.space import Choice, Float, Int

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_unsearched_names_take_the_plugin_default_or_the_fixed_value():
    hp = HyperParameters(fixed={"units": 8})
    assert hp.Int("units", 1, 64, default=4) == 8
    assert hp.Float("rate", 0.0, 1.0, default=0.25) == 0.25
    assert hp.Choice("cell", ["lstm", "gru"]) == "lstm"
    assert hp.Boolean("bidirectional") is False
    assert hp.Fixed("heads", 2) == 2
    assert hp.values == {"units": 8, "rate": 0.25, "cell": "lstm", "bidirectional": False, "heads": 2}
    assert set(hp.declared) == set(hp.values)


def test_a_fixed_value_outside_the_declared_range_names_value_and_range():
    hp = HyperParameters(fixed={"units": 0})
    with hp.owned_by("model 'mlp'"):
        with pytest.raises(SearchSpaceError, match=r"units=0 .* model 'mlp': allowed int from 1 to 64"):
            hp.Int("units", 1, 64)


def test_a_fixed_choice_must_be_one_of_the_options():
    hp = HyperParameters(fixed={"cell": "transformer"})
    with pytest.raises(SearchSpaceError, match=r"cell='transformer'.*one of 'lstm', 'gru'"):
        hp.Choice("cell", ["lstm", "gru"])


def test_searched_names_are_suggested_by_the_optuna_trial():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        hp = HyperParameters(trial=trial, search={"units": Int(2, 8), "rate": Float(1e-4, 1e-1, log=True)})
        units, rate = hp.Int("units", 1, 64), hp.Float("rate", 0.0, 1.0)
        assert 2 <= units <= 8 and 1e-4 <= rate <= 1e-1
        assert trial.params == {"units": units, "rate": rate}
        seen.add(units)
        study.tell(trial, rate)
    assert len(seen) > 2  # really sampled, not a constant


def test_an_enqueued_point_is_what_the_trial_returns():
    study = optuna.create_study()
    study.enqueue_trial({"units": 7, "cell": "gru"})
    trial = study.ask()
    hp = HyperParameters(trial=trial, search={"units": Choice((3, 7)), "cell": Choice(("lstm", "gru"))})
    assert (hp.Int("units", 1, 64), hp.Choice("cell", ["lstm", "gru"])) == (7, "gru")


def test_a_searched_range_must_lie_inside_what_the_plugin_allows():
    hp = HyperParameters(search={"units": Int(0, 100)})
    with pytest.raises(SearchSpaceError, match=r"units: searched value\(s\) 0, 100 not allowed"):
        hp.Int("units", 1, 64)


def test_a_numeric_range_for_a_choice_is_refused():
    hp = HyperParameters(search={"cell": Int(1, 3)})
    with pytest.raises(SearchSpaceError, match="search it with a list"):
        hp.Choice("cell", ["lstm", "gru"])


def test_a_dry_run_takes_the_grid_point_values():
    hp = HyperParameters(search={"units": Choice((3, 7))}, point={"units": 7})
    assert hp.Int("units", 1, 64) == 7


def test_conditional_scope_activates_only_under_its_parent_value():
    hp = HyperParameters(fixed={"optimizer": "sgd"})
    hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        assert hp.Float("momentum", 0.0, 0.99, default=0.9) == 0.9
    with hp.conditional_scope("optimizer", "adam"):
        assert hp.Float("beta_1", 0.0, 0.99, default=0.9) is None
    assert hp.Int("warmup", 0, 10, parent_name="optimizer", parent_values=["adam"]) is None
    assert hp.values == {"optimizer": "sgd", "momentum": 0.9}


def test_a_name_declared_twice_has_one_value_per_trial():
    hp = HyperParameters(fixed={"learning_rate": 0.01})
    assert hp.Float("learning_rate", 1e-5, 1.0, default=0.1) == 0.01
    assert hp.Float("learning_rate", 1e-5, 1.0, default=0.5) == 0.01
    with pytest.raises(KeyError):
        hp.get("never_declared")
