import optuna
import pytest

from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.hyperparameters import HyperParameters
from rnnstudy.spec.space import Choice, Float, Int

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


# --- step and sampling, as Keras Tuner declares them -----------------------------------


def test_a_value_off_the_step_grid_is_refused_naming_the_step_and_its_neighbours():
    hp = HyperParameters(fixed={"units": 40})
    with pytest.raises(
        SearchSpaceError, match=r"units=40 .*in steps of 32 from 32 .*step 32; nearest: 32, 64\)"
    ):
        hp.Int("units", 32, 512, step=32)
    assert HyperParameters(fixed={"units": 64}).Int("units", 32, 512, step=32) == 64


def test_a_float_grid_admits_its_values_despite_rounding():
    hp = HyperParameters(fixed={"dropout_rate": 0.6, "rate": 0.3})
    # 0.6 / 0.1 is 5.999999999999999 in floating point: still the grid's last value
    assert hp.Float("dropout_rate", 0.0, 0.6, step=0.1, default=0.5) == 0.6
    assert hp.Float("rate", 0.0, 0.6, step=0.1) == 0.3
    with pytest.raises(SearchSpaceError, match=r"rate=0.25 .*nearest: 0.2, 0.3"):
        HyperParameters(fixed={"rate": 0.25}).Float("rate", 0.0, 0.6, step=0.1)
    hp = HyperParameters()
    hp.Float("rate", 0.0, 0.6, step=0.1)
    assert hp.declared["rate"].grid() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


def test_log_sampling_with_a_step_multiplies():
    hp = HyperParameters(fixed={"batch": 16})
    assert hp.Int("batch", 2, 32, step=2, sampling="log") == 16
    assert hp.declared["batch"].grid() == [2, 4, 8, 16, 32]
    with pytest.raises(SearchSpaceError, match=r"batch=24 .*multiplying by step 2 from 2.*nearest: 16, 32"):
        HyperParameters(fixed={"batch": 24}).Int("batch", 2, 32, step=2, sampling="log")


def test_without_a_default_int_and_float_take_their_minimum_and_record_the_sampling():
    hp = HyperParameters()
    assert hp.Int("units", 8, 64, sampling="log") == 8
    assert hp.Float("lr", 1e-4, 1e-2, sampling="LOG") == 1e-4  # Keras Tuner lower-cases it
    assert hp.Float("rate", 0.1, 0.9, sampling="reverse_log") == 0.1
    declared = hp.declared
    assert (declared["units"].sampling, declared["units"].step) == ("log", None)
    assert (declared["lr"].sampling, declared["rate"].sampling) == ("log", "reverse_log")
    assert hp.Int("depth", 1, 4) == 1 and hp.declared["depth"].step == 1  # linear Int: step 1


def test_a_declaration_gives_the_study_space_that_searches_the_plugins_own_range():
    hp = HyperParameters()
    hp.Int("units", 32, 512, step=32)
    hp.Int("width", 8, 64, sampling="log")
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Float("rate", 0.0, 0.5, step=0.1)
    hp.Int("batch", 2, 32, step=2, sampling="log")
    hp.Choice("cell", ["lstm", "gru"])
    hp.Boolean("bidirectional")
    spaces = {name: decl.as_space() for name, decl in hp.declared.items()}
    assert spaces == {
        "units": Int(32, 512, step=32),
        "width": Int(8, 64, log=True),
        "lr": Float(1e-4, 1e-2, log=True),
        "rate": Float(0.0, 0.5, step=0.1),
        "batch": Choice((2, 4, 8, 16, 32)),  # Optuna has no stepped log range
        "cell": Choice(("lstm", "gru")),
        "bidirectional": Choice((False, True)),
    }
    # each space passes the check against its declaration, and samples only what it allows
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(10):
        trial = study.ask()
        searched = HyperParameters(trial=trial, search=spaces)
        units = searched.Int("units", 32, 512, step=32)
        rate = searched.Float("rate", 0.0, 0.5, step=0.1)
        batch = searched.Int("batch", 2, 32, step=2, sampling="log")
        assert units % 32 == 0 and hp.declared["rate"].on_grid(rate) and batch in (2, 4, 8, 16, 32)
        study.tell(trial, 0.0)


def test_a_searched_range_must_follow_the_step_grid():
    with pytest.raises(SearchSpaceError, match=r"units: Int\(.*would sample off the grid .*step=32"):
        HyperParameters(search={"units": Int(32, 512)}).Int("units", 32, 512, step=32)
    with pytest.raises(SearchSpaceError, match=r"rate: Float\(.*off the grid.*step=0.1"):
        HyperParameters(search={"rate": Float(0.0, 0.6)}).Float("rate", 0.0, 0.6, step=0.1)
    with pytest.raises(SearchSpaceError, match=r"give a list of grid values, e.g. \[2, 4, 8, 16\]"):
        HyperParameters(search={"batch": Int(2, 32)}).Int("batch", 2, 32, step=2, sampling="log")
    with pytest.raises(SearchSpaceError, match=r"searched value\(s\) 48 .*nearest: 32, 64"):
        HyperParameters(search={"units": Choice((32, 48))}).Int("units", 32, 512, step=32)
    # a multiple of the step from a grid value stays on the grid
    assert HyperParameters(search={"units": Int(64, 512, step=64)}).Int("units", 32, 512, step=32) == 64


@pytest.mark.parametrize(
    "declare, message",
    [
        (
            lambda hp: hp.Int("x", 5, 1),
            r"hp.Int\('x', 5, 1\) in model 'm': min_value 5 is greater than max_value 1",
        ),
        (lambda hp: hp.Int("x", 1.5, 3), r"min_value=1.5 is not an integer"),
        (lambda hp: hp.Int("x", 1, 9, step=2.5), r"step=2.5 is not an integer"),
        (lambda hp: hp.Float("x", 0.0, 1.0, sampling="log"), r"sampling='log' needs min_value > 0"),
        (
            lambda hp: hp.Float("x", 1.0, 2.0, sampling="cubic"),
            r"sampling='cubic'; allowed: linear, log, reverse_log",
        ),
        (lambda hp: hp.Int("x", 1, 8, step=1, sampling="log"), r"step=1 must be > 1 under sampling='log'"),
        (lambda hp: hp.Float("x", 0.0, 1.0, step=0.0), r"step=0.0 must be > 0"),
        (lambda hp: hp.Choice("x", []), r"no values"),
        (lambda hp: hp.Choice("x", [1, "a"]), r"values of several types \(int, str\)"),
        (lambda hp: hp.Choice("x", [1, 2], default=3), r"default 3 is not one of the values"),
        (lambda hp: hp.Choice("x", ["a", "b"], ordered=True), r"ordered=True needs numbers"),
        (lambda hp: hp.Boolean("x", default="yes"), r"default 'yes' is not True or False"),
        (lambda hp: hp.Fixed("x", [1]), r"a list value; allowed: int, float, str or bool"),
    ],
)
def test_a_declaration_keras_tuner_refuses_is_refused_in_one_line(declare, message):
    hp = HyperParameters()
    with hp.owned_by("model 'm'"), pytest.raises(SearchSpaceError, match=message) as caught:
        declare(hp)
    assert "\n" not in str(caught.value)


def test_choice_records_whether_it_is_ordered_as_keras_tuner_infers_it():
    hp = HyperParameters()
    hp.Choice("units", [16, 32])
    hp.Choice("cell", ["lstm", "gru"])
    hp.Choice("kernel", [3, 5], ordered=False)
    assert [hp.declared[n].ordered for n in ("units", "cell", "kernel")] == [True, False, False]


def test_a_boolean_is_not_taken_for_the_number_one():
    with pytest.raises(SearchSpaceError, match=r"units=True"):
        HyperParameters(fixed={"units": True}).Choice("units", [1, 2])


# --- scopes, look-ups and copies -------------------------------------------------------


def test_name_scope_prefixes_names_as_keras_tuner_does():
    hp = HyperParameters(fixed={"block1/conv/filters": 16})
    with hp.name_scope("block1"):
        hp.Choice("kind", ["conv", "dense"])
        with hp.name_scope("conv"):
            assert hp.Int("filters", 8, 64, step=8) == 16
        with hp.conditional_scope("kind", ["conv"]):  # the parent's name is scoped too
            assert hp.Int("kernel", 1, 7, default=3) == 3
        assert hp.get("kind") == "conv" and hp["conv/filters"] == 16
    assert hp.values == {"block1/kind": "conv", "block1/conv/filters": 16, "block1/kernel": 3}
    assert "block1/kind" in hp and "kind" not in hp


def test_get_raises_key_error_when_unknown_and_value_error_when_inactive():
    hp = HyperParameters()
    hp.Choice("model_type", ["mlp", "cnn"])
    with hp.conditional_scope("model_type", "cnn"):
        assert hp.Int("filters", 8, 64) is None
    with pytest.raises(ValueError, match="'filters' is inactive"):
        hp.get("filters")
    with pytest.raises(KeyError, match="'kernel' has not been declared"):
        hp["kernel"]
    assert "model_type" in hp and "filters" not in hp and "kernel" not in hp


def test_nested_conditional_scopes_need_every_condition():
    hp = HyperParameters(fixed={"model_type": "mlp", "dropout": True})
    hp.Choice("model_type", ["mlp", "cnn"])
    with hp.conditional_scope("model_type", ["mlp"]):
        hp.Boolean("dropout")
        with hp.conditional_scope("dropout", [True]):
            assert hp.Float("rate", 0.0, 0.5, default=0.25) == 0.25
    with hp.conditional_scope("model_type", ["cnn"]):
        assert hp.Boolean("batchnorm") is None
        with hp.conditional_scope("batchnorm", [True]):  # its parent is inactive: so is it
            assert hp.Float("momentum", 0.0, 1.0) is None
    assert hp.values == {"model_type": "mlp", "dropout": True, "rate": 0.25}


def test_a_conditional_scope_needs_its_parent_declared_and_not_its_own_name():
    hp = HyperParameters()
    with pytest.raises(SearchSpaceError, match=r"conditional_scope\('model_type', ...\).*not declared"):
        with hp.conditional_scope("model_type", ["mlp"]):
            pass
    with pytest.raises(SearchSpaceError, match="not declared"):
        hp.Int("units", 1, 8, parent_name="model_type", parent_values=["mlp"])
    hp.Boolean("flag", default=True)
    with hp.conditional_scope("flag", [True]), pytest.raises(SearchSpaceError, match="same name as its"):
        hp.Boolean("flag")


def test_copy_has_the_same_values_and_is_independent_afterwards():
    hp = HyperParameters(fixed={"units": 8})
    hp.Int("units", 1, 64)
    with hp.name_scope("outer"):
        twin = hp.copy()
    assert twin.values == hp.values and twin.declared == hp.declared
    assert twin.Int("depth", 1, 4, default=2) == 2  # a copy starts outside the original's scopes
    twin.values["units"] = 99
    assert hp.values == {"units": 8} and set(hp.declared) == {"units"}
    assert twin.Int("width", 1, 64, default=3) == 3 and "width" not in hp


def test_a_name_declared_again_must_admit_its_value():
    # rnnstudy declares batch_size first; a hypermodel's fit may declare it as a Choice
    hp = HyperParameters(fixed={"batch_size": 32})
    hp.Int("batch_size", 1, 10**6, default=32)
    assert hp.Choice("batch_size", [16, 32]) == 32
    with pytest.raises(SearchSpaceError, match=r"batch_size=8 \(the study fixes\) .*allowed one of 16, 32"):
        hp = HyperParameters(fixed={"batch_size": 8})
        hp.Int("batch_size", 1, 10**6, default=32)
        hp.Choice("batch_size", [16, 32])
    with pytest.raises(SearchSpaceError, match=r"batch_size: searched value\(s\) 8 not allowed"):
        hp = HyperParameters(search={"batch_size": Choice((8, 16))})
        hp.Int("batch_size", 1, 10**6, default=32)
        hp.Choice("batch_size", [16, 32])
