"""--workers auto: the worker count measured fastest for a model on this machine, remembered."""

from __future__ import annotations

import json

import pytest

from rnnstudy import Study
from rnnstudy.run import _throughput as throughput
from rnnstudy.run import preflight
from rnnstudy.runtime import devices


def test_more_workers_win_only_by_the_margin():
    assert throughput.choose({1: 10.0, 2: 10.9}) == 1, "9 % faster is within noise: one worker"
    assert throughput.choose({1: 10.0, 2: 11.5}) == 2
    assert throughput.choose({1: 10.0, 2: 13.0, 4: 12.0}) == 2
    assert throughput.choose({1: 10.0, 2: 13.0, 4: 15.0}) == 4
    assert throughput.choose({2: 13.0}) == 1, "one worker unmeasured: nothing to compare with"


def test_the_memory_keeps_each_machine_and_model_apart_and_survives_a_broken_file(tmp_path):
    memory = throughput.Memory(tmp_path / "workers.json")
    assert memory.get("cnn") is None
    memory.put("cnn", {1: 10.0, 2: 14.0}, where="machine A")
    memory.put("lstm", {1: 10.0, 2: 10.5}, where="machine A")
    memory.put("cnn", {1: 10.0, 2: 9.0}, where="machine B")
    assert memory.get("cnn", "machine A").workers == 2
    assert memory.get("cnn", "machine A").efficiency == pytest.approx(0.7)
    assert memory.get("lstm", "machine A").workers == 1 and memory.get("cnn", "machine B").workers == 1
    assert json.loads((tmp_path / "workers.json").read_text())["machine A"]["cnn"]["speeds"] == {
        "1": 10.0,
        "2": 14.0,
    }

    (tmp_path / "workers.json").write_text("{not json")
    assert memory.get("cnn", "machine A") is None
    memory.put("cnn", {1: 5.0}, where="machine A")  # a broken file is replaced, not a reason to stop
    assert memory.get("cnn", "machine A").speeds == {1: 5.0}


def test_the_line_says_what_auto_chose_and_by_how_much():
    two = throughput.Remembered({1: 10.0, 2: 13.1})
    assert two.line("measured now") == "workers auto: 2 (measured now: 1.31× one worker's speed)"
    one = throughput.Remembered({1: 10.0, 2: 10.4})
    assert one.line("remembered") == (
        "workers auto: 1 (remembered: 2 workers 1.04× one worker's speed, under the 1.10× it takes)"
    )


@pytest.mark.skipif(bool(devices.visible_gpus()), reason="auto on GPUs is one worker per GPU, not measured")
def test_auto_takes_the_remembered_count_and_a_given_count_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(throughput.CACHE_ENV, str(tmp_path))
    study = Study(name="s", dataset="tiny_images", model="tiny_mlp", search={"units": [2, 4]})
    assert preflight.resolve(study, preflight.RunOptions()).options.workers == 1
    key = throughput.model_key(study, study.backend)
    throughput.Memory().put(key, {1: 10.0, 2: 14.0})

    auto = preflight.resolve(study, preflight.RunOptions())
    assert auto.options.workers == 2 and auto.auto == "remembered"
    assert auto.options.workers == 2 and auto.backend_env("tensorflow")["TF_NUM_INTRAOP_THREADS"] == str(
        max(1, devices.cores_here() // 2)
    )
    given = preflight.resolve(study, preflight.RunOptions(workers=1))
    assert given.options.workers == 1 and given.auto == ""


def test_bad_workers_is_one_line(tmp_path):
    from click.testing import CliRunner

    from rnnstudy.cli import cli

    (tmp_path / "s.py").write_text("")
    result = CliRunner().invoke(cli, ["optimize", str(tmp_path / "s.py"), "--workers", "many"])
    assert result.exit_code == 2
    assert "--workers 'many' must be a whole number or auto (e.g. --workers 2)" in result.output


@pytest.mark.slow  # three probe processes import TensorFlow
def test_the_probe_times_one_and_two_workers_of_a_real_model(plugin_dist):
    study = Study(name="s", dataset="tiny_images", model="tiny_mlp", fixed={"batch_size": 8, "units": 4})
    speeds = throughput.measure(study, None, "tensorflow", None, cores=2)
    assert set(speeds) == {1, 2} and all(s > 0 for s in speeds.values())


@pytest.mark.slow  # a real study: the probes, then its workers
@pytest.mark.skipif(devices.cores_here() < 2, reason="one core: there is only one worker count")
def test_a_long_enough_study_measures_remembers_and_runs_on_the_count_it_chose(
    plugin_dist, workdir, tmp_path, monkeypatch
):
    import io

    from rnnstudy.run import driver

    monkeypatch.setenv(throughput.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(throughput, "MEASURE_AFTER_S", 0.0)  # this tiny study "pays for" measuring
    monkeypatch.setattr(throughput, "choose", lambda speeds: 2)  # whatever was measured: run on two
    study = Study(
        name="auto", dataset="tiny_images", model="tiny_mlp", search={"units": [2, 4, 8]}, fixed={"epochs": 1}
    )
    out = io.StringIO()
    finished = driver.optimize(study, preflight.RunOptions(), out=out, table=False)

    text = out.getvalue()
    assert "workers auto: timing 1 and 2 worker(s) on" in text
    assert "workers auto: 2 (measured now, remembered in" in text
    assert "on 2 workers" in text  # the estimate is on the chosen count
    assert sorted(t.state.name for t in finished.study.trials) == ["COMPLETE"] * 3
    assert len({t.system_attrs["rnnstudy.heartbeat"]["pid"] for t in finished.study.trials}) == 2
    remembered = throughput.Memory().get(throughput.model_key(study, study.backend))
    assert set(remembered.speeds) == {1, 2}
