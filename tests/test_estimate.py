"""The time estimate: --budget parsing, the arithmetic, its text and the refusal's suggestions."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from rnnstudy.durations import DurationError, human, parse_duration
from rnnstudy.errors import RnnstudyError
from rnnstudy.run import _estimate as estimate
from rnnstudy.run._estimate import Estimate, OverBudgetError, StepTime

# --- --budget -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("45m", 45 * 60),
        ("2h", 2 * 3600),
        ("1h30m", 90 * 60),
        ("1.5h", 90 * 60),
        ("2d", 2 * 86400),
        ("1d2h3m4s", 86400 + 2 * 3600 + 3 * 60 + 4),
        (" 1h 30m ", 90 * 60),
        ("2H", 2 * 3600),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "90", "2x", "h", "1h30", "30m1h", "1h1h", "0s", "-1h", "1.5.h", "2 hours"]
)
def test_parse_duration_refuses_with_the_value_and_the_forms(text):
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert isinstance(caught.value, RnnstudyError) and "\n" not in message
    assert repr(text) in message and "90s, 45m, 2h, 1h30m, 1.5h, 2d" in message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "< 1 s"),
        (40, "40 s"),
        (40.4, "40 s"),
        (59.7, "1 m"),  # rounded before it is split: not "60 s"
        (150, "2 m 30 s"),
        (12 * 60 + 3, "12 m"),
        (2 * 3600, "2 h"),
        (4 * 3600 + 10 * 60 + 20, "4 h 10 m"),
        (41 * 3600 + 1400, "41 h"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
    ],
)
def test_human_durations(seconds, text):
    assert human(seconds) == text


# --- the arithmetic -------------------------------------------------------------------------------

SMALL = StepTime(train_s=0.02, batch_size=32, eval_s=0.005, warmup_s=0.7)
BIG = StepTime(train_s=0.09, batch_size=64, eval_s=0.03, warmup_s=1.1)


def one_trial(
    step: StepTime, epochs, n_train, n_val, n_test, *, every_epoch=False, overhead=0.0, subset=None
):
    """A trial's seconds, written out the long way: the formula the estimate must follow."""
    cut = (lambda n: min(n, subset)) if subset else (lambda n: n)
    train_batches = math.ceil(cut(n_train) / step.batch_size)
    val_batches = math.ceil(cut(n_val) / step.batch_size)
    test_batches = math.ceil(cut(n_test) / step.batch_size)
    per_epoch = (
        train_batches * step.train_s + (val_batches + (test_batches if every_epoch else 0)) * step.eval_s
    )
    return step.warmup_s + epochs * per_epoch + test_batches * step.eval_s + overhead


def test_one_worker_adds_up_every_trial():
    made = Estimate((SMALL, BIG, SMALL), epochs=7, n_train=1000, n_val=300, n_test=250, overhead_s=0.4)
    expected = sum(one_trial(s, 7, 1000, 300, 250, overhead=0.4) for s in (SMALL, BIG, SMALL))
    assert made.seconds() == pytest.approx((expected, expected))
    assert made.trials == 3


def test_test_every_epoch_and_subset_change_the_passes():
    made = Estimate(
        (SMALL, BIG), epochs=5, n_train=1000, n_val=300, n_test=250, test_every_epoch=True, subset=200
    )
    expected = sum(one_trial(s, 5, 1000, 300, 250, every_epoch=True, subset=200) for s in (SMALL, BIG))
    assert made.seconds()[1] == pytest.approx(expected)


def test_forward_steps_default_to_a_third_of_a_training_step():
    untimed = StepTime(train_s=0.06, batch_size=10)
    made = Estimate((untimed,), epochs=2, n_train=100, n_val=50)
    assert made.seconds()[0] == pytest.approx(2 * (10 * 0.06 + 5 * 0.06 / 3))


def test_workers_share_the_work_at_their_measured_efficiency():
    steps = (SMALL,) * 9
    each = one_trial(SMALL, 3, 1000, 300, 250)
    alone = Estimate(steps, epochs=3, n_train=1000, n_val=300, n_test=250)
    two = Estimate(steps, epochs=3, n_train=1000, n_val=300, n_test=250, workers=2, efficiency=0.54)
    assert alone.seconds()[0] == pytest.approx(9 * each)
    assert two.seconds()[0] == pytest.approx(9 * each / (2 * 0.54))


def test_a_study_takes_at_least_its_longest_trial():
    made = Estimate((SMALL, BIG), epochs=3, n_train=1000, n_val=300, workers=8)
    assert made.seconds()[0] == pytest.approx(
        max(one_trial(SMALL, 3, 1000, 300, 0), one_trial(BIG, 3, 1000, 300, 0))
    )


def test_racing_gives_a_range_from_the_fewest_to_the_most_repeats():
    made = Estimate((SMALL, BIG), epochs=4, n_train=500, n_val=100, repeats=(3, 10))
    both = one_trial(SMALL, 4, 500, 100, 0) + one_trial(BIG, 4, 500, 100, 0)
    assert made.seconds() == pytest.approx((3 * both, 10 * both))


# --- the text -------------------------------------------------------------------------------------


def test_the_line_of_the_dry_run():
    # 25 trials of 1,000 epochs of 5,904 one-sample steps of 1 ms: 147,600 s = 41 h
    made = Estimate((StepTime(train_s=0.001, batch_size=1),) * 25, epochs=1000, n_train=5904)
    assert made.text([made.knob("subset", 600)]) == (
        "estimated time: 25 trials × 1,000 epochs ≈ 41 h on 1 worker; --subset 600 ≈ 4 h 10 m"
    )


def test_the_line_names_repeats_workers_and_subset():
    made = Estimate((SMALL,) * 4, epochs=1, n_train=3200, repeats=(2, 5), workers=2, subset=1000)
    low, high = made.seconds()
    assert made.text() == (
        f"estimated time: 4 trials × 2–5 repeats × 1 epoch (--subset 1000) ≈ {human(low)}–{human(high)} "
        "on 2 workers (if they scale perfectly)"
    )
    measured = Estimate((SMALL,), epochs=1, n_train=3200, workers=2, efficiency=0.6)
    assert measured.text().endswith("on 2 workers (1.20× one worker's throughput, measured)")


# --- --budget: fits, suggestions, refusal -----------------------------------------------------------

STUDY = Estimate(
    (SMALL, BIG) * 5, epochs=50, n_train=20000, n_val=2000, n_test=2000, repeats=(2, 4), overhead_s=0.5
)


def test_each_suggestion_fits_and_one_more_would_not():
    budget = STUDY.seconds()[1] / 3
    assert not STUDY.fits(budget)
    found = STUDY.suggestions(budget)
    assert [k.name for k in found] == ["epochs", "subset", "trials", "repeats"]
    for knob in found:
        assert knob.estimate.fits(budget)
        assert not STUDY.knob(knob.name, knob.value + 1).estimate.fits(budget)
    by_name = {k.name: k for k in found}
    assert by_name["epochs"].estimate.epochs == by_name["epochs"].value
    assert by_name["trials"].estimate.steps == STUDY.steps[: by_name["trials"].value]


def test_a_setting_that_cannot_fit_even_at_one_is_left_out():
    # repeats: even one repeat of every trial is more than the budget
    budget = STUDY.knob("repeats", 1).estimate.seconds()[1] * 0.9
    assert "repeats" not in [k.name for k in STUDY.suggestions(budget)]


def test_check_refuses_on_one_line_naming_the_budget_and_what_fits():
    budget = STUDY.seconds()[1] / 3
    with pytest.raises(OverBudgetError) as caught:
        STUDY.check(budget, "2h")
    message = str(caught.value)
    assert isinstance(caught.value, RnnstudyError) and "\n" not in message
    assert message.startswith(STUDY.text() + ", over --budget 2h: it would fit with --epochs ")
    for knob in STUDY.suggestions(budget):
        assert knob.text() in message


def test_check_passes_a_study_that_fits():
    STUDY.check(STUDY.seconds()[1])  # the most repeats, exactly at the budget


def test_nothing_fits_when_a_trial_alone_is_over_the_budget():
    made = Estimate((SMALL,), epochs=3, n_train=100, overhead_s=100.0)
    assert made.suggestions(50.0) == []
    assert made.refusal(50.0).endswith("raise --budget")


# --- timing the steps -------------------------------------------------------------------------------


class FakeModel:
    """Advances a fake clock: the first step of each kind traces, the later ones vary."""

    def __init__(self, clock):
        self.clock = clock
        self.train_costs = iter([1.5, 0.10, 0.30, 0.12, 0.11, 0.10])
        self.test_costs = iter([0.6, 0.04, 0.03, 0.05, 0.03, 0.20])
        self.batches = []

    def train_on_batch(self, x, y):
        self.batches.append((x, y))
        self.clock.now += next(self.train_costs)

    def test_on_batch(self, x, y):
        self.clock.now += next(self.test_costs)


class FakeClock:
    now = 0.0

    def __call__(self):
        return self.now


def test_time_steps_takes_the_median_after_the_first_step():
    clock = FakeClock()
    model = FakeModel(clock)
    x = {"tokens": np.zeros((100, 3)), "extra": np.zeros((100, 2))}
    timed = estimate.time_steps(model, x, np.zeros(100), batch_size=16, steps=5, clock=clock)
    assert timed.train_s == pytest.approx(0.11) and timed.eval_s == pytest.approx(0.04)
    assert timed.warmup_s == pytest.approx((1.5 - 0.11) + (0.6 - 0.04))
    assert timed.batch_size == 16
    bx, by = model.batches[0]
    assert bx["tokens"].shape == (16, 3) and bx["extra"].shape == (16, 2) and by.shape == (16,)


def test_time_steps_on_less_data_than_a_batch_times_what_there_is():
    clock = FakeClock()
    timed = estimate.time_steps(
        FakeModel(clock), [np.zeros((5, 2))], np.zeros(5), batch_size=32, steps=5, clock=clock
    )
    assert timed.batch_size == 5


def test_time_steps_trains_a_real_keras_model():
    import keras

    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 2, 64)
    before = [w.copy() for w in model.get_weights()]
    timed = estimate.time_steps(model, x, y, batch_size=16, steps=3)
    assert int(model.optimizer.iterations) == 3 + 1  # the first step and the timed ones
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert timed.train_s > 0 and timed.eval_s > 0 and timed.warmup_s >= 0 and timed.batch_size == 16


def test_the_driver_can_import_these_without_a_framework():
    code = "import sys, rnnstudy.run._estimate, rnnstudy.runtime.devices; print(sorted({'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- the study's estimate from the dry run ------------------------------------------------------

A = StepTime(train_s=0.02, batch_size=32, eval_s=0.005, sizes=(1000, 300, 250))
B = StepTime(train_s=0.09, batch_size=32, eval_s=0.03, sizes=(500, 300, 250))


def test_each_trial_uses_its_own_split_sizes():
    made = Estimate((A, B), epochs=3, n_train=1, n_val=1, n_test=1)
    assert made.seconds()[0] == pytest.approx(
        one_trial(A, 3, 1000, 300, 250) + one_trial(B, 3, 500, 300, 250)
    )
    assert made.knob("subset", 400).estimate.seconds()[0] == pytest.approx(
        one_trial(A, 3, 1000, 300, 250, subset=400) + one_trial(B, 3, 500, 300, 250, subset=400)
    )


def test_a_grids_trials_knob_counts_runs_seed_by_seed():
    made = Estimate((A, B), epochs=1, n_train=100, repeats=(3, 3), trials_cap="runs")
    cut = made.knob("trials", 3).estimate
    assert cut.steps == (A, B, A) and cut.repeats == (1, 1)  # seed 0 of both points, seed 1 of the first
    budget = made.knob("trials", 4).estimate.seconds()[1]
    assert {k.name: k.value for k in made.suggestions(budget)}["trials"] == 4


def test_a_race_is_not_cut_by_trials():
    made = Estimate((A, B), epochs=1, n_train=100, repeats=(3, 10), trials_cap="none")
    assert "trials" not in [k.name for k in made.suggestions(made.seconds()[1] / 2)]


def test_only_a_measured_efficiency_is_given_and_the_text_says_where():
    cnn = estimate.measured_efficiency(2, cores=2)
    rnn = estimate.measured_efficiency(2, cores=2, recurrent=True)
    assert cnn[0] == 0.54 and rnn[0] == 0.65 and "BENCHMARKS.md" in cnn[1]
    for unmeasured in (
        estimate.measured_efficiency(2, cores=2, gpus=1),
        estimate.measured_efficiency(3, cores=2),
        estimate.measured_efficiency(2, cores=16),
        estimate.measured_efficiency(1, cores=2),
    ):
        assert unmeasured is None
    made = Estimate((A,) * 4, epochs=1, n_train=100, workers=2, efficiency=rnn[0], efficiency_source=rnn[1])
    assert made.text().endswith(f"on 2 workers (1.30× one worker's throughput, {rnn[1]})")


def spec(**fields):
    from rnnstudy import Study

    return Study(dataset="tiny_images", model="tiny_mlp", **fields)


def timer_of(points, step=A, epochs=2):
    timer = estimate.Timer()
    timer.epochs = epochs
    timer.by_point = {estimate.point_key(p): step for p in points}
    return timer


def test_for_study_grid_repeats_race_trials_and_sampling():
    grid = spec(search={"units": [2, 4, 8]}, repeats=3)
    points = grid.grid_points
    made = estimate.for_study(grid, timer_of(points), points, workers=1)
    assert made.trials == 3 and made.repeats == (3, 3) and made.epochs == 2 and made.n_train == 1000

    raced = spec(search={"units": [2, 4, 8]}, repeats="adaptive")
    assert estimate.for_study(raced, timer_of(points), points, workers=1).repeats == (3, 10)

    capped = spec(
        search={"units": [2, 4, 8]}, repeats=3, trials=4
    )  # --trials 4: seed 0 of all, seed 1 of one
    made = estimate.for_study(capped, timer_of(points), points, workers=1)
    assert made.trials == 4 and made.repeats == (1, 1)

    sampled = spec(search={"units": [2, 4, 8]}, sampler="tpe", trials=7, repeats=2)
    made = estimate.for_study(sampled, timer_of([None]), None, workers=2)
    assert made.trials == 7 and made.repeats == (2, 2) and made.workers == 2


def test_for_study_leaves_out_points_that_did_not_build_and_has_no_estimate_untimed():
    grid = spec(search={"units": [2, 4, 8]})
    points = grid.grid_points
    unbuilt = timer_of(points[:2])
    unbuilt.failed(points[2])
    assert estimate.for_study(grid, unbuilt, points, workers=1).trials == 2
    untimed = timer_of(points)
    untimed.untimed = "model 'x' is not Keras"
    assert estimate.for_study(grid, untimed, points, workers=1) is None


def test_untimed_points_cost_the_timed_ones_mean():
    grid = spec(search={"units": [2, 4, 8]})
    points = grid.grid_points
    slow = StepTime(train_s=A.train_s * 3, batch_size=A.batch_size, eval_s=A.forward_s * 3, sizes=A.sizes)
    timer = timer_of(points[:1])
    timer.by_point[estimate.point_key(points[1])] = slow
    made = estimate.for_study(grid, timer, points, workers=1)
    assert made.trials == 3
    assert made.steps[2].train_s == pytest.approx(2 * A.train_s)
    assert made.steps[2].forward_s == pytest.approx(2 * A.forward_s)


def test_timing_stops_at_its_share_of_the_study_and_a_budget_times_every_point():
    timer = estimate.Timer(share=0.02)
    assert not timer.enough(1e6), "nothing timed yet: the first model is always timed"
    timer._by_model["one"], timer.seconds = A, 10.0  # one model timed in 10 s
    assert timer.enough(400.0) and not timer.enough(600.0)
    assert not estimate.Timer(share=None).enough(1.0)


def test_a_short_study_times_one_model_and_says_the_rest_are_taken_at_the_mean(plugin_dist):
    import io

    from rnnstudy.plugins.registry import default_registry
    from rnnstudy.run.preflight import validate

    study = spec(search={"units": [2, 4, 8]}, fixed={"epochs": 1, "batch_size": 8})
    timer, models = estimate.Timer(steps=1), []
    points = validate(study, default_registry(), None, io.StringIO(), models=models, timer=timer)
    assert len(models) == 1, "timing one tiny model costs more than 2 % of the study: no more are built"
    assert timer.models == 1 and len(estimate.for_study(study, timer, points, workers=1).steps) == 3


def test_the_dry_run_builds_every_point_and_times_each_distinct_model_once(plugin_dist):
    import io

    from rnnstudy.plugins.registry import default_registry
    from rnnstudy.run.preflight import validate

    # learning_rate does not change the computation: 4 points, 2 models to time
    study = spec(search={"units": [2, 4], "learning_rate": [0.01, 0.1]}, fixed={"epochs": 3, "batch_size": 8})
    timer, models = estimate.Timer(steps=1, share=None), []  # share None: as under --budget
    points = validate(study, default_registry(), None, io.StringIO(), models=models, timer=timer)
    assert len(models) == 4, "the check alone would build one: the estimate builds every point"
    assert timer.models == 2 and set(timer.by_point) == {estimate.point_key(p) for p in points}
    assert timer.epochs == 3 and timer.seconds > 0
    step = timer.by_point[estimate.point_key(points[0])]
    assert step.batch_size == 8 and step.sizes == (32, 32, 32) and step.train_s > 0


def test_the_dry_run_of_a_model_that_is_not_keras_says_why_there_is_no_estimate(plugin_dist):
    import io

    from rnnstudy import Study
    from rnnstudy.plugins.registry import default_registry
    from rnnstudy.run.preflight import validate

    study = Study(dataset="tiny_images", model="scripted", search={"quality": [0.2, 0.8]})
    timer = estimate.Timer(steps=1)
    validate(study, default_registry(), None, io.StringIO(), timer=timer)
    assert timer.untimed == (
        "model 'scripted' is not Keras and has no train_on_batch and test_on_batch: "
        "its training steps cannot be timed"
    )
    assert estimate.unknown(timer.untimed).startswith("estimated time: unknown (model 'scripted'")


def test_a_model_that_is_not_keras_is_timed_by_its_own_train_on_batch(tmp_path):
    """The NumPy RNN (seed 001's slowest model) has Keras' two step methods: its study gets an
    estimate, and the timed steps trained the dry run's network with the trial's optimizer."""
    import io

    from rnnstudy import Study
    from rnnstudy.plugins.registry import default_registry
    from rnnstudy.run.preflight import validate

    (tmp_path / "tiny.txt").write_text("abcdefgh" * 50)
    fixed = {"corpus": "tiny", "sequence_length": 4, "epochs": 2, "batch_size": 8, "optimizer": "sgd"}
    study = Study(dataset="char_text", model="numpy_rnn", fixed=fixed, search={"units": [2, 6]})
    timer, models = estimate.Timer(steps=2, share=None), []
    points = validate(study, default_registry(), str(tmp_path), io.StringIO(), models=models, timer=timer)
    assert timer.untimed is None and timer.models == 2
    assert all(step.train_s > 0 and step.forward_s > 0 for step in timer.by_point.values())
    assert {type(m.optimizer).__name__ for m in models} == {"NumpyOptimizer"}
    assert {m.optimizer.name for m in models} == {"sgd"} and all(m.optimizer.iterations == 3 for m in models)
    made = estimate.for_study(study, timer, points, workers=1)
    assert made is not None and made.trials == 2


def test_a_trials_cost_is_its_points_estimate_its_seed_aside_and_the_mean_where_untimed():
    grid = spec(search={"units": [2, 8]}, repeats=2)
    points = grid.grid_points
    timer = timer_of(points)
    slow = StepTime(train_s=A.train_s * 4, batch_size=A.batch_size, sizes=A.sizes)
    timer.by_point[estimate.point_key({"units": 8})] = slow
    made = estimate.for_study(grid, timer, points, workers=1)
    cost = estimate.trial_cost(made, timer)
    cheap, dear = made.trial_seconds(A), made.trial_seconds(slow)
    assert dear > 3 * cheap
    assert cost({"units": 2, "seed": 1}) == cheap and cost({"units": 8, "seed": 0}) == dear
    assert cost({"units": 5}) == pytest.approx((cheap + dear) / 2)  # a point the dry run did not build
