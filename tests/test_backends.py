"""Keras backends: every built-in model trains on TensorFlow, JAX and PyTorch, and the other two
never import TensorFlow.

Keras' backend is fixed per process, so each backend runs in a subprocess of its own
(``PROBE``): it builds every built-in model plugin from its dataset plugin on tiny generated
data, fits it for one epoch, writes its per-trial files, and reports what it saw as JSON.
A backend that is not installed is skipped, or fails with ``$RNNSTUDY_REQUIRE_SERVICES`` set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REQUIRE_ENV, installed_or_skip, write_fashion

from rnnstudy.errors import RnnstudyError
from rnnstudy.runtime import backend

KERAS_BACKENDS = ("tensorflow", "jax", "torch")
ROOT = Path(__file__).parents[1]  # the probe imports this checkout's rnnstudy

# model plugin -> its dataset plugin and the tiny sizes of both
CASES = {
    "cnn": ("fashion_mnist", {"validation_samples": 20, "c1": 3, "c2": 3, "dense_units": 8}),
    "language_model": ("char_text", {"corpus": "tiny", "sequence_length": 6, "units": 4, "embedding_dim": 4}),
    "numpy_rnn": ("char_text", {"corpus": "tiny", "sequence_length": 6, "units": 4}),
    "char_classifier": ("names", {"embedding_dim": 4, "units": 4}),
    "embedding_bilstm": ("text_csv", {"max_length": 12, "units": 4, "embedding_dim": 4}),
    "text_cnn": ("text_csv", {"max_length": 12, "window": 3, "filters": 4, "conv_layers": 1}),
    "text_rnn": ("text_csv", {"max_length": 12, "units": 4}),
}

PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    name, data_dir, out, cases, through_trial = sys.argv[1], sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5] == "1"
    from rnnstudy.runtime import backend
    backend.start(name)
    import keras
    import numpy as np
    from rnnstudy.runtime import precision
    from rnnstudy.spec.hyperparameters import HyperParameters
    from rnnstudy.plugins.registry import default_registry

    registry = default_registry()
    report = {"backend": keras.backend.backend(), "models": {}}

    def made(model, dataset, fixed, policy="float32"):
        hp = HyperParameters(fixed={**fixed, "seed": 0})
        hp.Int("seed", 0, 2**31 - 1, default=0)  # the runner declares these; numpy_rnn reads them
        hp.Choice("optimizer", ["adam"], default="adam")
        data = registry.get("dataset", dataset).obj(hp, data_dir=data_dir).limit(8)
        precision.apply(policy)
        keras.utils.set_random_seed(0)
        hypermodel = registry.get("model", model).obj(data.info)
        network = hypermodel.build(hp)
        optimizer = registry.get("optimizer", "adam").obj(hp)
        if isinstance(network, keras.Model):
            extra = getattr(hypermodel, "metrics", None)
            network.compile(optimizer, data.info["loss"],
                            metrics=["accuracy", *(extra() if extra else [])])
        return hp, data, hypermodel, network

    def first_weights(network):
        if isinstance(network, keras.Model):
            return [float(np.asarray(keras.ops.convert_to_numpy(w)).ravel()[0]) for w in network.weights[:2]]
        return [float(v.ravel()[0]) for v in list(network.params.values())[:2]]

    def fitted(model, dataset, fixed, policy="float32"):
        hp, data, hypermodel, network = made(model, dataset, fixed, policy)
        weights = first_weights(network)
        args = dict(x=data.x_train, y=data.y_train, validation_data=(data.x_val, data.y_val),
                    epochs=1, batch_size=4, verbose=0)
        logs = {}
        class Keep(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, epoch_logs=None):
                logs.update({k: float(v) for k, v in (epoch_logs or {}).items()})
        args["callbacks"] = [Keep()]
        if hasattr(hypermodel, "fit"):
            hypermodel.fit(hp, network, **args)
        else:
            network.fit(**args)
        test = network.evaluate(data.x_test, data.y_test, batch_size=4, verbose=0, return_dict=True)
        folder = out / f"{model}-{policy}"
        folder.mkdir(parents=True)
        if hasattr(hypermodel, "artifacts"):
            hypermodel.artifacts(network, data, folder)
        return {"weights": weights, "logs": logs, "test": {k: float(v) for k, v in test.items()},
                "files": sorted(p.name for p in folder.iterdir()), "policy": policy}

    for model, (dataset, fixed) in cases.items():
        report["models"][model] = fitted(model, dataset, fixed)
        report["models"][model]["seeded_again"] = first_weights(made(model, dataset, fixed)[3])
    report["bf16_cnn"] = fitted("cnn", *cases["cnn"], policy="mixed_bfloat16")
    report["gpus"] = list(precision._gpu_capabilities())
    if through_trial:  # the runner's own build, as a worker calls it
        from rnnstudy.trial.runner import build_trial
        dataset, fixed = cases["text_rnn"]
        build_trial(HyperParameters(fixed={"dataset": dataset, "model": "text_rnn", **fixed}), registry, data_dir)
    if name == "torch":
        import torch
        report["torch_threads"] = torch.get_num_threads()
    report["tensorflow_imported"] = "tensorflow" in sys.modules
    (out / "report.json").write_text(json.dumps(report))
    backend.exit_now(7)  # the fast exit, after a fit on this backend
    """
)


def _tiny_data(folder: Path) -> Path:
    write_fashion(folder, n_train=60, n_test=12)
    (folder / "tiny.txt").write_text("to be or not to be, that is the question. " * 8)
    rows = [
        f"{'sport' if i % 2 else 'music'},{'ball goal team run' if i % 2 else 'song band play tune'} {i}"
        for i in range(40)
    ]
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    return folder


def _probe(
    name: str, tmp_path: Path, *, env: dict[str, str] | None = None, through_trial: bool = False
) -> dict:
    data = _tiny_data(tmp_path / "data")
    out = tmp_path / "out"
    clean = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    command = [
        sys.executable,
        "-c",
        PROBE,
        name,
        str(data),
        str(out),
        json.dumps(CASES),
        str(int(through_trial)),
    ]
    done = subprocess.run(
        command, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert done.returncode == 7, done.stderr[-3000:]
    return json.loads((out / "report.json").read_text())


@pytest.fixture(
    scope="module",
    # JAX's probe takes 20 s: in the slow tests (its own-build test below stays in the default ones)
    params=[pytest.param(n, marks=pytest.mark.slow) if n == "jax" else n for n in KERAS_BACKENDS],
)
def probed(request, tmp_path_factory) -> tuple[str, dict, dict]:
    name = request.param
    installed_or_skip(name)
    env = backend.env(name, workers=2)  # as the second of two workers: its share of the cores
    return name, env, _probe(name, tmp_path_factory.mktemp(name), env=env)


def test_every_built_in_model_trains_and_writes_its_files(probed):
    name, _, report = probed
    assert report["backend"] == name
    assert set(report["models"]) == set(CASES)
    for model, seen in report["models"].items():
        assert seen["logs"]["loss"] > 0 and "val_accuracy" in seen["logs"], model
        assert 0.0 <= seen["test"]["accuracy"] <= 1.0, model
    files = {model: set(seen["files"]) for model, seen in report["models"].items()}
    assert {
        f"feature_maps_image{i}_{layer}.png" for i in (0, 1) for layer in ("input", "c1", "s1", "c2", "s2")
    } <= files["cnn"]
    assert "generated_text.txt" in files["language_model"] and "generated_text.txt" in files["numpy_rnn"]
    assert {"confusion_matrix.csv", "predictions.txt"} <= files["char_classifier"]


def test_only_tensorflow_imports_tensorflow(probed):
    name, _, report = probed
    assert report["tensorflow_imported"] == (name == "tensorflow")


def test_a_seed_gives_the_same_initial_weights_again(probed):
    _, _, report = probed
    for model, seen in report["models"].items():
        assert seen["weights"] == seen["seeded_again"], model


def test_mixed_bfloat16_trains_on_every_backend(probed):
    _, _, report = probed
    cnn = report["bf16_cnn"]
    assert cnn["policy"] == "mixed_bfloat16" and cnn["logs"]["loss"] > 0
    assert "feature_maps_image0_c1.png" in cnn["files"]  # bf16 maps are written as float32 images
    assert report["gpus"] == []  # asked of the running backend; none on a CPU machine


def test_torch_takes_its_share_of_the_cores(probed):
    name, env, report = probed
    if name != "torch":
        pytest.skip("thread settings of PyTorch")
    if "OMP_NUM_THREADS" not in env:
        pytest.skip("one worker, or OMP_NUM_THREADS set by the user: no share set")
    assert report["torch_threads"] == int(env["OMP_NUM_THREADS"])


def test_the_runners_own_build_imports_no_tensorflow_on_jax(tmp_path):
    installed_or_skip("jax")
    report = _probe("jax", tmp_path, through_trial=True)
    assert not report["tensorflow_imported"]


# --- choosing and checking a backend -----------------------------------------------------


def test_an_unknown_backend_names_the_allowed_ones():
    with pytest.raises(
        RnnstudyError, match=r"^backend 'mxnet' is not known; allowed: tensorflow, jax, torch, auto$"
    ):
        backend.check("mxnet")


def test_a_backend_not_installed_names_its_pip_extra(monkeypatch):
    for name in ("jax", "torch"):  # modules that are not there, for the real find_spec to miss
        monkeypatch.setitem(backend.MODULES, name, f"rnnstudy_no_{name}_here")
    with pytest.raises(RnnstudyError, match=r"^backend 'jax' is not installed: pip install -e '\.\[jax\]'$"):
        backend.check("jax")
    with pytest.raises(RnnstudyError, match="torch.*pip install -e '.\\[torch\\]'"):
        backend.env("torch")


def test_keras_already_on_another_backend_is_refused():
    import keras

    running = keras.backend.backend()
    other = next(b for b in KERAS_BACKENDS if b != running)
    with pytest.raises(
        RnnstudyError, match=f"backend '{other}' asked for, but Keras already runs on '{running}'"
    ):
        backend.start(other)
    assert backend.start(running) == running  # the same one again: nothing to do


def test_auto_cannot_start_keras():
    with pytest.raises(RnnstudyError, match="decided before"):
        backend.start("auto")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tensorflow", {"TF_NUM_INTRAOP_THREADS": "4", "TF_NUM_INTEROP_THREADS": "4"}),
        ("torch", {"OMP_NUM_THREADS": "4"}),
        ("jax", {}),  # no N-thread setting in XLA
    ],
)
def test_each_backend_gets_its_share_of_eight_cores_for_two_workers(name, expected, monkeypatch):
    monkeypatch.setattr(backend, "_cores", lambda: 8)
    monkeypatch.setattr(backend, "installed", lambda _: True)
    for key in (
        "KERAS_BACKEND",
        "OMP_NUM_THREADS",
        "XLA_FLAGS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
    ):
        monkeypatch.delenv(key, raising=False)
    assert backend.env(name, workers=2) == {"KERAS_BACKEND": name, **expected}
    assert backend.env(name, workers=1) == {"KERAS_BACKEND": name}


def test_jax_runs_single_threaded_when_its_share_is_one_core(monkeypatch):
    monkeypatch.setattr(backend, "_cores", lambda: 2)
    monkeypatch.setattr(backend, "installed", lambda _: True)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert "--xla_cpu_multi_thread_eigen=false" in backend.env("jax", workers=2)["XLA_FLAGS"]
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's own setting wins
    monkeypatch.setattr(backend, "_cores", lambda: 8)
    assert "OMP_NUM_THREADS" not in backend.env("torch", workers=2)


def _models():
    import keras

    inputs = keras.Input((5, 3))
    cnn = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Conv1D(2, 2)(inputs)))
    rnn = keras.Model(inputs, keras.layers.GRU(2)(inputs))
    return cnn, rnn


@pytest.mark.parametrize(
    ("which", "gpu", "have_jax"),
    [
        ("rnn", False, True),  # JAX's per-epoch gain did not pay for its compilation in whole trials
        ("cnn", False, True),  # JAX 3.4x slower on the CNN grid
        ("rnn", True, True),  # no GPU figures: the default
    ],
)
def test_auto_chooses_what_the_measurements_back(which, gpu, have_jax):
    import keras

    cell = keras.layers.SimpleRNN(2) if which == "rnn" else keras.layers.Conv1D(2, 1)
    model = keras.Sequential([keras.Input((3, 2)), cell])
    assert backend.choose([model], gpu=gpu, have_jax=have_jax) == "tensorflow"


def test_require_services_turns_a_missing_backend_into_a_failure(monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    monkeypatch.setattr(backend, "installed", lambda _: False)
    with pytest.raises(pytest.fail.Exception, match="not installed"):
        installed_or_skip("torch")


@pytest.mark.slow  # a real command per backend: 10-15 s each
@pytest.mark.parametrize("name", ["tensorflow", "jax", "torch"])
def test_a_tiny_study_runs_through_the_cli_on_each_backend(name, plugin_dist, make_study, workdir):
    """The real command in its own process (Keras' backend is per process), two workers."""
    installed_or_skip(name)
    study = make_study(
        "from rnnstudy import Study\n"
        'study = Study(dataset="tiny_images", model="tiny_mlp", search={"units": [2, 4]}, fixed={"epochs": 1})\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "rnnstudy", "optimize", str(study), "--backend", name, "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 complete" in done.stdout and "Traceback" not in done.stderr
    from rnnstudy.results import trials_frame
    from rnnstudy.stores.mlflow_tracking import Tracker

    frame = trials_frame(Tracker(), "study")
    assert list(frame["keras_backend"]) == [name, name]


@pytest.mark.slow  # workers of three backends, one after another
def test_a_study_that_searches_the_backend_runs_each_trial_in_a_worker_of_its_backend(
    plugin_dist, make_study, workdir
):
    for name in backend.BACKENDS[:3]:
        installed_or_skip(name)
    study = make_study(
        "from rnnstudy import Study\n"
        "study = Study(dataset='tiny_images', model='tiny_mlp', repeats=2,\n"
        "    search={'backend': ['tensorflow', 'jax', 'torch'], 'units': [4]}, fixed={'epochs': 2})\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "rnnstudy", "optimize", str(study)],  # one worker: it is replaced per backend
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 complete" in done.stdout
    from rnnstudy.results import trials_frame
    from rnnstudy.stores.mlflow_tracking import Tracker

    frame = trials_frame(Tracker(), "study")
    assert sorted(frame["backend"]) == ["jax", "jax", "tensorflow", "tensorflow", "torch", "torch"]
    assert list(frame["keras_backend"]) == list(frame["backend"])  # each trained where it said
    assert "backend=jax" in done.stdout and "backend=torch" in done.stdout  # the report's points


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"search": {"backend": ["tensorflow", "auto"]}}, "backend 'auto' cannot be searched"),
        ({"search": {"backend": ["theano"]}}, "backend 'theano' cannot be searched"),
        (
            {"search": {"backend": ["tensorflow", "jax"]}, "sampler": "random", "trials": 2},
            "compare backends on a grid",
        ),
    ],
)
def test_a_backend_search_that_cannot_run_is_one_line(fields, message):
    from rnnstudy.errors import StudyFileError
    from rnnstudy.spec.study import Study

    with pytest.raises(StudyFileError, match=message):
        Study(dataset="d", model="m", **fields)
