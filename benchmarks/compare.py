"""rnnstudy against what a user would write instead: same models, same data, same budget.

    .venv/bin/python -m pip install -e '.[bench]'         # once: optuna-integration, tensorboard
    .venv/bin/python benchmarks/compare.py                # the figures in BENCHMARKS.md (~20 min, 2 cores)
    .venv/bin/python benchmarks/compare.py --quick        # every path once on tiny settings (~5 min)
    .venv/bin/python benchmarks/compare.py --backends     # TensorFlow, JAX and PyTorch side by side

Every run is a process of its own, one after another, so each pays its start-up as a user's
script would:

- bare: a Keras loop over the grid points (the floor): build, fit, evaluate on the test set;
- optuna: Optuna's GridSampler, optuna-integration's MLflowCallback (each epoch's metrics
  through its ``track_in_mlflow``) and KerasPruningCallback;
- kerastuner: Keras Tuner's GridSearch over the same hypermodel;
- rnnstudy: ``rnnstudy optimize`` on a generated study file: the driver and worker processes.

The models and data are rnnstudy's own plugins, called directly by the other tools, so every
tool trains the very same networks on the very same arrays with the same seed. The printed
figures: wall time and each tool's ratio to rnnstudy, rnnstudy's overhead over the bare loop,
pruning efficiency, throughput with 1 and 2 workers, and float32 against mixed bfloat16.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TOLERANCE = 0.005  # "within 0.5 percentage points" of accuracy
FAST = "rnnstudy auto, 2 workers, no artifacts"  # its fastest settings here
RUNNER_KEYS = ("epochs", "batch_size", "learning_rate", "seed", "subset", "train_samples")


@dataclass(frozen=True)
class Workload:
    """One grid study: which plugins, what is searched, what is fixed."""

    name: str
    title: str
    dataset: str
    model: str
    grid: dict[str, list]
    fixed: dict[str, Any]

    @property
    def points(self) -> list[dict[str, Any]]:
        names = list(self.grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*self.grid.values())]

    @property
    def epochs(self) -> int:
        return int(self.fixed["epochs"])


def workloads(quick: bool) -> list[Workload]:
    """Seed 003's channel grid and seed 002's cell × sequence-length grid, small enough for 2 cores.

    Each has 9 points × 5 epochs: a study of about a minute here, with room for pruning to act
    (Hyperband's first rung is epoch 1). ``train_samples`` draws a seeded subset of the
    training set and ``subset`` caps the validation and test sets.
    """
    cnn = {"batch_size": 128, "validation_samples": 1000}
    # the plays' first million characters, a window every 50: 16,000 / 2,000 / 2,000 windows;
    # Adam at 0.01 and batches of 64, so that the cells part ways within 5 short epochs
    chars = {"corpus": "plays", "max_chars": 1_000_000, "stride": 50, "batch_size": 64, "learning_rate": 0.01}
    if quick:
        return [
            Workload(
                "cnn",
                "CNN channels on Fashion-MNIST (quick)",
                "fashion_mnist",
                "cnn",
                {"c1": [10, 50], "c2": [20, 60]},
                {**cnn, "epochs": 2, "train_samples": 600, "subset": 600},
            ),
            Workload(
                "charrnn",
                "char-RNN cell × sequence length on Shakespeare (quick)",
                "char_text",
                "language_model",
                {"cell": ["simple_rnn", "gru"], "sequence_length": [10, 20]},
                {**chars, "epochs": 2, "train_samples": 600, "subset": 600},
            ),
        ]
    return [
        Workload(
            "cnn",
            "seed 003's CNN channel grid (3×3) on a Fashion-MNIST subset",
            "fashion_mnist",
            "cnn",
            {"c1": [10, 50, 90], "c2": [20, 60, 100]},
            {**cnn, "epochs": 5, "train_samples": 1500, "subset": 1500},
        ),
        Workload(
            "charrnn",
            "seed 002's char-RNN grid (SimpleRNN/LSTM/GRU × 10/20/30 characters) on Shakespeare's plays",
            "char_text",
            "language_model",
            {"cell": ["simple_rnn", "lstm", "gru"], "sequence_length": [10, 20, 30]},
            {**chars, "epochs": 5, "train_samples": 1500, "subset": 1500},
        ),
    ]


@dataclass
class Run:
    """One study run by one tool; what it measured."""

    label: str
    tool: str
    precision: str = "float32"
    workers: int = 1
    artifacts: bool = True  # rnnstudy's per-trial files (curves, summary, generated text)
    pruner: str = "none"
    backend: str = "tensorflow"  # the Keras backend of its processes
    wall_s: float = 0.0
    cpu_s: float = 0.0  # user + system seconds of every process: steadier than wall time on a busy machine
    trials: list[dict] = field(default_factory=list)  # params, state, epochs, objective, seconds
    policy: str = ""
    started_at: float = 0.0  # the clock when its process started
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def best(self) -> float:
        done = [t["objective"] for t in self.trials if t["state"] == "COMPLETE"]
        return max(done) if done else float("nan")

    @property
    def epochs(self) -> int:
        return sum(t["epochs"] for t in self.trials)

    @property
    def outside_training_s(self) -> float:
        """Wall time not spent in ``fit`` or the test evaluation: start-up, data, building,
        logging, reports. Training is the same computation in every tool; its own run-to-run
        variation (10-20 % here) would hide an overhead of a few percent."""
        return self.wall_s - sum(t["fit_s"] + t["eval_s"] for t in self.trials)


def plan(pruner: str, repeat: int) -> list[Run]:
    """The runs of one workload, in the order they run.

    The compared runs (the bare loop, the other tools, rnnstudy's plain and fast settings) run
    ``repeat`` times in rounds, and the figures use each one's median: on a 2-core machine a
    study's wall time drifts by 10-20 % over minutes, as much as the differences measured, and
    rounds give every tool the same drift. The other runs (throughput, precision, pruning) run
    once, after the first round. rnnstudy's pruned study runs with each of its pruners;
    Optuna's with ``pruner``, the very pruner rnnstudy makes.
    """

    def compared() -> list[Run]:
        return [
            Run("bare Keras loop", "bare"),
            Run("rnnstudy float32, 1 worker", "rnnstudy"),
            Run("Optuna + MLflowCallback", "optuna"),
            Run("Keras Tuner GridSearch", "kerastuner"),
            Run("rnnstudy float32, 1 worker, no artifacts", "rnnstudy", artifacts=False),
            Run(FAST, "rnnstudy", precision="auto", workers=2, artifacts=False),
        ]

    once = [
        Run("rnnstudy float32, 2 workers", "rnnstudy", workers=2),
        Run("rnnstudy mixed_bfloat16, 1 worker", "rnnstudy", precision="mixed_bfloat16"),
        Run(f"Optuna, {pruner} pruning", "optuna", pruner=pruner),
        *(
            Run(f"rnnstudy float32, {name} pruning", "rnnstudy", pruner=name)
            for name in ("hyperband", "successive_halving", "median")
        ),
    ]
    runs = compared() + once
    for _ in range(repeat - 1):
        runs += compared()
    return runs


def plan_backends(repeat: int) -> list[Run]:
    """The runs of ``--backends``: the bare loop and rnnstudy on each Keras backend, in rounds
    (as :func:`plan`), then the bare loop in mixed bfloat16 on each, once."""
    from rnnstudy.runtime.backend import BACKENDS, installed

    names = [b for b in BACKENDS if b != "auto" and installed(b)]
    compared = [
        run
        for name in names
        for run in (
            Run(f"bare Keras loop, {name}", "bare", backend=name),
            Run(f"rnnstudy float32, 1 worker, {name}", "rnnstudy", backend=name),
        )
    ]
    once = [
        Run(f"bare Keras loop, {name}, mixed_bfloat16", "bare", precision="mixed_bfloat16", backend=name)
        for name in names
    ]
    return compared + once + compared * (repeat - 1)


def median_runs(runs: list[Run]) -> dict[str, Run]:
    """One run per label: the one of median wall time where a label ran several times."""
    labels: dict[str, list[Run]] = {}
    for run in runs:
        labels.setdefault(run.label, []).append(run)
    return {
        label: sorted(same, key=lambda r: r.wall_s)[(len(same) - 1) // 2] for label, same in labels.items()
    }


# --- the parent: runs every tool in its own process, then prints ------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings: check every path")
    parser.add_argument("--only", help="comma-separated workload names (cnn, charrnn)")
    parser.add_argument("--runs", help="comma-separated indexes into the run plan (0-11, then repeats)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the compared runs (medians used)")
    parser.add_argument("--pruner", default="hyperband", help="pruner of the pruned runs (rnnstudy's names)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--keep", type=Path, help="keep each run's folder (logs, MLflow, Optuna) here")
    parser.add_argument(
        "--backends", action="store_true", help="the bare loop and rnnstudy on each installed Keras backend"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(json.loads(args.child))

    chosen = [w for w in workloads(args.quick) if not args.only or w.name in args.only.split(",")]
    results = {"machine": machine(), "quick": args.quick, "workloads": {}}
    # every tool offline and equally quiet (MLflow 3 sends usage telemetry unless told not to)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MLFLOW_DISABLE_TELEMETRY": "true"}
    with tempfile.TemporaryDirectory(prefix="rnnstudy-bench-") as tmp:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = str(args.keep.resolve())
        for workload in chosen:
            runs = plan_backends(args.repeat) if args.backends else plan(args.pruner, args.repeat)
            if args.runs:
                runs = [runs[int(i)] for i in args.runs.split(",")]
            print(f"\n== {workload.name}: {workload.title}", flush=True)
            for number, run in enumerate(runs):
                folder = Path(tmp) / f"{workload.name}-{number}"
                folder.mkdir()
                measure(run, workload, folder, env)
                print(
                    f"   {run.label:<38} {run.wall_s:7.1f} s  cpu {run.cpu_s:7.1f} s  best {run.best:.4f}  "
                    f"{run.epochs} epochs  {run.policy}  {run.backend}",
                    flush=True,
                )
            results["workloads"][workload.name] = {
                "workload": asdict(workload),
                "runs": [{**asdict(r), "best": r.best, "epochs": r.epochs} for r in runs],
            }
            (report_backends if args.backends else report)(workload, runs)
    print("\nmachine:", ", ".join(f"{k} {v}" for k, v in results["machine"].items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def machine() -> dict[str, str]:
    """The CPU model, cores and load: timings mean little without them."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "?",
    )
    flags = next(
        (line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), ""
    )
    bf16 = [f for f in ("amx_bf16", "avx512_bf16") if f in flags.split()]
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "bf16": ",".join(bf16) or "none",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def measure(run: Run, workload: Workload, folder: Path, env: dict[str, str]) -> None:
    """Run one study in a fresh process; fill in its wall time and trials."""
    log = open(folder / "log.txt", "w")
    if run.tool == "rnnstudy":
        study = folder / "bench_study.py"
        study.write_text(_study_file(workload, run))
        command = [sys.executable, "-m", "rnnstudy", "optimize", str(study), "--workers", str(run.workers)]
        command += [
            "--storage",
            str(folder / "optuna.journal"),
            "--tracking-uri",
            f"sqlite:///{folder}/mlflow.db",
        ]
        command += ["--set", f"precision={run.precision}", "--set", f"artifacts={run.artifacts}"]
    else:
        spec = {"run": asdict(run), "workload": asdict(workload), "folder": str(folder)}
        command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    if run.tool in ("rnnstudy", "optuna"):
        _tracking_store(folder)
    before, started, run.started_at = (
        resource.getrusage(resource.RUSAGE_CHILDREN),
        time.perf_counter(),
        time.time(),
    )
    # the backend for the whole process tree (rnnstudy's driver and workers read it at start)
    env = {**env, "KERAS_BACKEND": run.backend}
    code = subprocess.call(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    run.wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the whole process tree, workers too
    run.cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if code != 0:
        raise SystemExit(
            f"{run.label} failed (exit {code}); see {folder / 'log.txt'}:\n"
            + (folder / "log.txt").read_text()[-3000:]
        )
    if run.tool == "rnnstudy":
        run.trials, run.policy, run.phases = _rnnstudy_trials(folder, workload, run)
    else:
        found = json.loads((folder / "trials.json").read_text())
        run.trials, run.policy = found["trials"], found["policy"]


def _tracking_store(folder: Path) -> None:
    """Make the MLflow database before the clock starts: a project makes it once (its schema
    migrations take ~5 s), not once per study, so no study should be timed with it."""
    import logging

    from mlflow import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    MlflowClient(f"sqlite:///{folder}/mlflow.db").search_experiments()


def _study_file(workload: Workload, run: Run) -> str:
    return (
        "from rnnstudy import Study\n\n"
        f"study = Study(dataset={workload.dataset!r}, model={workload.model!r}, optimizer='adam',\n"
        f"    search={workload.grid!r},\n    fixed={workload.fixed!r},\n"
        f"    objective='val_accuracy', pruner={run.pruner!r}, name='bench')\n"
    )


def _rnnstudy_trials(folder: Path, workload: Workload, run: Run) -> tuple[list[dict], str, dict]:
    """What rnnstudy logged: Optuna's states and values, MLflow's epochs and run times, and
    from the runs' clocks where the time outside trials went."""
    import optuna
    from mlflow import MlflowClient

    from rnnstudy.stores.optuna_storage import open_storage

    study = optuna.load_study(study_name="bench", storage=open_storage(str(folder / "optuna.journal")))
    client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
    trials, policy, starts, ends = [], "", [], []
    for trial in sorted(study.trials, key=lambda t: t.datetime_start):
        logged = client.get_run(trial.user_attrs["mlflow_run_id"])
        history = client.get_metric_history(logged.info.run_id, "val_accuracy")
        policy = logged.data.params.get("precision_policy", "")
        starts.append(logged.info.start_time / 1000)
        ends.append(logged.info.end_time / 1000)
        trials.append(
            {
                "params": {
                    k: trial.params.get(k, trial.system_attrs.get("fixed_params", {}).get(k))
                    for k in workload.grid
                },
                "state": trial.state.name,
                "epochs": len(history),
                "objective": trial.value if trial.value is not None else max(m.value for m in history),
                "seconds": (logged.info.end_time - logged.info.start_time) / 1000,
                "fit_s": logged.data.metrics.get("train_time_s", float("nan")),
                "eval_s": logged.data.metrics.get("inference_time_s", float("nan")),
            }
        )
    parent = client.get_run(study.user_attrs["mlflow_parent_run_id"]).info.start_time / 1000
    phases = {  # seconds: the driver's checks and set-up, a worker's start, the closing report
        "driver set-up": parent - run.started_at,
        "worker start-up": min(starts) - parent,
        "close": run.started_at + run.wall_s - max(ends),
    }
    return trials, policy, phases


# --- the figures ---------------------------------------------------------------------------


def report(workload: Workload, runs: list[Run]) -> None:
    """Print one workload's figures."""
    by = median_runs(runs)
    n, epochs = len(workload.points), workload.epochs
    grid_epochs = n * epochs
    reference = by.get("rnnstudy float32, 1 worker")
    fast = by.get(FAST)
    print(f"\n{workload.name}: {n} trials × {epochs} epochs = {grid_epochs} epochs per full grid")
    print(
        f"{'run':<44}{'wall s':>8}{'× rs f32 1w':>13}{'× rs fast':>11}{'cpu s':>8}{'best val acc':>14}{'epochs':>8}"
    )
    for run in by.values():
        ratios = [f"{run.wall_s / r.wall_s:.2f}" if r else "-" for r in (reference, fast)]
        walls = sorted(r.wall_s for r in runs if r.label == run.label)
        spread = f" ({len(walls)} runs {walls[0]:.1f}–{walls[-1]:.1f})" if len(walls) > 1 else ""
        print(
            f"{run.label:<44}{run.wall_s:8.1f}{ratios[0]:>13}{ratios[1]:>11}{run.cpu_s:8.1f}"
            f"{run.best:14.4f}{run.epochs:8d}{spread}"
        )

    bare = by.get("bare Keras loop")
    if bare and reference:
        per_bare = sum(t["seconds"] for t in bare.trials) / n
        per_rs = sum(t["seconds"] for t in reference.trials) / n
        fit_bare = sum(t["fit_s"] for t in bare.trials) / n
        fit_rs = sum(t["fit_s"] for t in reference.trials) / n
        print(
            f"\noverhead of rnnstudy (float32, 1 worker) over the bare loop, medians: "
            f"{100 * (reference.wall_s / bare.wall_s - 1):+.1f} % of the study's wall time "
            f"({reference.wall_s - bare.wall_s:+.1f} s; goal < 3 %)\n"
            f"  per trial, start-up excluded: {per_rs:.2f} s against {per_bare:.2f} s "
            f"({100 * (per_rs / per_bare - 1):+.1f} %); fit alone {fit_rs:.2f} s against {fit_bare:.2f} s\n"
            f"  start-up and close (wall minus trials): rnnstudy "
            f"{reference.wall_s - per_rs * n:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in reference.phases.items())
            + f"), bare {bare.wall_s - per_bare * n:.1f} s (imports and data)"
            + f"\n  CPU seconds: rnnstudy {reference.cpu_s:.1f}, bare {bare.cpu_s:.1f} "
            f"({100 * (reference.cpu_s / bare.cpu_s - 1):+.1f} %)"
        )

        def outside(label: str) -> float:  # the median over the repeated runs
            return statistics.median(r.outside_training_s for r in runs if r.label == label)

        floor = outside(bare.label)
        for label, name in (
            (reference.label, ""),
            ("rnnstudy float32, 1 worker, no artifacts", " without per-trial files"),
        ):
            if label in by:
                extra = outside(label) - floor
                print(
                    f"  outside training (wall minus every fit and test evaluation), medians: rnnstudy{name} "
                    f"{outside(label):.1f} s, bare {floor:.1f} s: overhead {extra:+.1f} s = "
                    f"{100 * extra / bare.wall_s:+.1f} % of the bare study (goal < 3 %)"
                )
        lean = by.get("rnnstudy float32, 1 worker, no artifacts")
        if lean:
            per_lean = sum(t["seconds"] for t in lean.trials) / n
            print(
                f"  without the per-trial files (--set artifacts=False): "
                f"{100 * (lean.wall_s / bare.wall_s - 1):+.1f} % ({lean.wall_s - bare.wall_s:+.1f} s); "
                f"per trial {per_lean:.2f} s ({100 * (per_lean / per_bare - 1):+.1f} %)"
            )
    alternatives = [r for r in by.values() if r.tool in ("optuna", "kerastuner") and r.pruner == "none"]
    if fast and alternatives:
        fastest = min(alternatives, key=lambda r: r.wall_s)
        equal = abs(fast.best - fastest.best) <= TOLERANCE
        print(
            f"\nwall time, {FAST} against the fastest alternative "
            f"({fastest.label}): {fast.wall_s / fastest.wall_s:.2f}× "
            f"(goal ≤ 0.50×); best accuracy {fast.best:.4f} against {fastest.best:.4f}"
            f" ({'equal within 0.5 points' if equal else 'NOT equal'})"
        )
    one, two = reference, by.get("rnnstudy float32, 2 workers")
    if one and two:
        print(
            f"\nthroughput: 1 worker {60 * n / one.wall_s:.1f} trials/min, 2 workers "
            f"{60 * n / two.wall_s:.1f} trials/min ({one.wall_s / two.wall_s:.2f}×)"
        )
    bf16 = by.get("rnnstudy mixed_bfloat16, 1 worker")
    if one and bf16:
        fit32 = sum(t["fit_s"] for t in one.trials)
        fit16 = sum(t["fit_s"] for t in bf16.trials)
        print(
            f"\nprecision: float32 {one.wall_s:.1f} s (fit {fit32:.1f} s), best val acc {one.best:.4f}; "
            f"mixed_bfloat16 {bf16.wall_s:.1f} s (fit {fit16:.1f} s, {fit32 / fit16:.2f}× faster), "
            f"best val acc {bf16.best:.4f} ({100 * (bf16.best - one.best):+.2f} points)"
        )
        for a, b in zip(one.trials, bf16.trials):
            print(
                f"  {a['params']}: {a['objective']:.4f} → {b['objective']:.4f}, fit {a['fit_s']:.1f} → {b['fit_s']:.1f} s"
            )
    if one:
        print()
        for pruned in (r for r in by.values() if r.pruner != "none"):
            print(efficiency(one, pruned, grid_epochs))


def report_backends(workload: Workload, runs: list[Run]) -> None:
    """Print one workload's figures per Keras backend: wall and fit time next to accuracy."""
    by = median_runs(runs)
    n, epochs = len(workload.points), workload.epochs
    print(f"\n{workload.name}: {n} trials × {epochs} epochs, per Keras backend")
    print(
        f"{'run':<48}{'wall s':>8}{'fit s':>8}{'fit × TF':>10}{'cpu s':>8}"
        f"{'best val acc':>14}{'mean val acc':>14}"
    )
    for run in by.values():
        same_tool = by.get(
            f"{'bare Keras loop' if run.tool == 'bare' else 'rnnstudy float32, 1 worker'}, tensorflow"
        )
        fit = sum(t["fit_s"] for t in run.trials)
        ratio = f"{fit / sum(t['fit_s'] for t in same_tool.trials):.2f}" if same_tool else "-"
        mean = statistics.mean(t["objective"] for t in run.trials if t["state"] == "COMPLETE")
        walls = sorted(r.wall_s for r in runs if r.label == run.label)
        spread = f" ({len(walls)} runs {walls[0]:.1f}–{walls[-1]:.1f})" if len(walls) > 1 else ""
        print(
            f"{run.label:<48}{run.wall_s:8.1f}{fit:8.1f}{ratio:>10}{run.cpu_s:8.1f}"
            f"{run.best:14.4f}{mean:14.4f}{spread}"
        )
    tf = by.get("bare Keras loop, tensorflow")
    if not tf:
        return
    print("\nper point, bare loop: fit seconds (× TensorFlow's) and best val acc")
    others = [r for r in by.values() if r.tool == "bare" and r.precision == "float32"]
    for index, point in enumerate(workload.points):
        cells = []
        for run in others:
            trial = run.trials[index]
            cells.append(
                f"{run.backend} {trial['fit_s']:.1f} s ({trial['fit_s'] / tf.trials[index]['fit_s']:.2f}×) "
                f"{trial['objective']:.4f}"
            )
        print(f"  {point}: " + "; ".join(cells))


def efficiency(full: Run, pruned: Run, grid_epochs: int) -> str:
    """Epochs the pruned study spent until a trial came within 0.5 points of the full grid's best."""
    target = full.best - TOLERANCE
    spent = 0
    for trial in pruned.trials:
        spent += trial["epochs"]
        if trial["state"] == "COMPLETE" and trial["objective"] >= target:
            return (
                f"pruning ({pruned.label}): within 0.5 points of the grid's best {full.best:.4f} "
                f"after {spent} of {grid_epochs} epochs = {spent / grid_epochs:.0%} (goal ≤ 40 %); "
                f"whole pruned study {pruned.epochs} epochs = {pruned.epochs / grid_epochs:.0%}, "
                f"best {pruned.best:.4f}, {sum(t['state'] == 'PRUNED' for t in pruned.trials)} pruned"
            )
    return (
        f"pruning ({pruned.label}): never within 0.5 points of the grid's best {full.best:.4f} "
        f"(best {pruned.best:.4f}); {pruned.epochs} of {grid_epochs} epochs spent"
    )


# --- the children: the other tools, each in its own process --------------------------------


def _child(spec: dict) -> None:
    """Run one study with one of the other tools; write its trials to trials.json."""
    from rnnstudy.runtime import backend, precision

    run, workload, folder = Run(**spec["run"]), Workload(**spec["workload"]), Path(spec["folder"])
    backend.start(run.backend)
    precision.apply(run.precision)
    tool = {"bare": _bare, "optuna": _optuna, "kerastuner": _kerastuner}[run.tool]
    trials = tool(workload, run, folder)
    import keras

    policy = keras.mixed_precision.global_policy().name
    (folder / "trials.json").write_text(json.dumps({"trials": trials, "policy": policy}))


def _plugins(workload: Workload):
    from rnnstudy.plugins.registry import default_registry

    registry = default_registry()
    return registry.get("dataset", workload.dataset).obj, registry.get("model", workload.model).obj


def _data(workload: Workload, point: dict):
    """The arrays rnnstudy's runner would give this point: the plugin's data, sliced the same way."""
    import keras_tuner

    load, _ = _plugins(workload)
    values = {**workload.fixed, **point}
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        if name not in RUNNER_KEYS:
            hp.Fixed(name, value)
    data = load(hp)
    if values.get("train_samples"):
        data = data.sample_train(values["train_samples"], values.get("seed", 0))
    if values.get("subset"):
        data = data.limit(values["subset"])
    return data


def _model(workload: Workload, point: dict, info: dict, hp=None):
    """The plugin's model for this point, compiled as rnnstudy compiles it."""
    import keras
    import keras_tuner

    _, factory = _plugins(workload)
    if hp is None:
        hp = keras_tuner.HyperParameters()
        for name, value in point.items():
            hp.Fixed(name, value)
    keras.utils.set_random_seed(workload.fixed.get("seed", 0))
    hypermodel = factory(info)
    model = hypermodel.build(hp)
    optimizer = keras.optimizers.Adam(learning_rate=workload.fixed.get("learning_rate", 0.001))
    extra = getattr(hypermodel, "metrics", None)  # the language model's perplexity, as rnnstudy compiles it
    model.compile(optimizer=optimizer, loss=info["loss"], metrics=["accuracy", *(extra() if extra else [])])
    return model


def _fit(workload: Workload, model, data, callbacks=()):
    """Fit with validation each epoch, then evaluate on the test set: what every tool does."""
    started = time.perf_counter()
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=workload.epochs,
        batch_size=workload.fixed["batch_size"],
        callbacks=list(callbacks),
        verbose=0,
    )
    fitted = time.perf_counter()
    model.evaluate(data.x_test, data.y_test, batch_size=workload.fixed["batch_size"], verbose=0)
    return history, fitted - started, time.perf_counter() - fitted


def _bare(workload: Workload, run: Run, folder: Path) -> list[dict]:
    trials = []
    for point in workload.points:
        started = time.perf_counter()
        data = _data(workload, point)
        model = _model(workload, point, data.info)
        history, fit_s, eval_s = _fit(workload, model, data)
        history = history.history
        trials.append(
            {
                "params": point,
                "state": "COMPLETE",
                "epochs": len(history["val_accuracy"]),
                "objective": max(history["val_accuracy"]),
                "seconds": time.perf_counter() - started,
                "fit_s": fit_s,
                "eval_s": eval_s,
            }
        )
    return trials


def _optuna(workload: Workload, run: Run, folder: Path) -> list[dict]:
    import keras
    import mlflow
    import optuna
    from optuna_integration import KerasPruningCallback, MLflowCallback

    from rnnstudy import Study
    from rnnstudy.spec.samplers import make_pruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tracking = MLflowCallback(tracking_uri=f"sqlite:///{folder}/mlflow.db", metric_name="val_accuracy")
    fits: dict[int, float] = {}

    @tracking.track_in_mlflow()
    def objective(trial) -> float:
        point = {name: trial.suggest_categorical(name, values) for name, values in workload.grid.items()}
        data = _data(workload, point)
        model = _model(workload, point, data.info)
        log_epoch = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: mlflow.log_metrics(logs, step=epoch + 1)
        )
        started = time.perf_counter()
        try:
            history, _, _ = _fit(
                workload, model, data, [KerasPruningCallback(trial, "val_accuracy"), log_epoch]
            )
        finally:
            fits[trial.number] = time.perf_counter() - started
        return max(history.history["val_accuracy"])

    # the very pruner rnnstudy makes for the same study
    pruner = make_pruner(
        Study(workload.dataset, workload.model, pruner=run.pruner, fixed=dict(workload.fixed))
    )
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.GridSampler(workload.grid, seed=0), pruner=pruner
    )
    study.optimize(objective, n_trials=len(workload.points), callbacks=[tracking])
    return [
        {
            "params": trial.params,
            "state": trial.state.name,
            "epochs": len(trial.intermediate_values),
            "objective": trial.value if trial.value is not None else max(trial.intermediate_values.values()),
            "seconds": trial.duration.total_seconds(),
            "fit_s": fits.get(trial.number, float("nan")),
        }
        for trial in study.trials
    ]


def _kerastuner(workload: Workload, run: Run, folder: Path) -> list[dict]:
    import keras_tuner

    class Grid(keras_tuner.HyperModel):
        """The plugin's model; a dataset hyperparameter (sequence length) picks the data too."""

        def build(self, hp):
            point = {name: hp.get(name) for name in workload.grid}
            return _model(workload, point, _data(workload, point).info, hp)

        def fit(self, hp, model, *args, callbacks=(), **kwargs):
            point = {name: hp.get(name) for name in workload.grid}
            started = time.perf_counter()
            history, fit_s, _ = _fit(workload, model, _data(workload, point), callbacks)
            values = history.history["val_accuracy"]
            trials.append(
                {
                    "params": point,
                    "state": "COMPLETE",
                    "epochs": len(values),
                    "objective": max(values),
                    "seconds": time.perf_counter() - started,  # without the tuner's own work
                    "fit_s": fit_s,
                }
            )
            return history

    trials: list[dict] = []
    space = keras_tuner.HyperParameters()
    for name, values in workload.grid.items():
        space.Choice(name, values)
    tuner = keras_tuner.GridSearch(
        Grid(),
        objective="val_accuracy",
        max_trials=len(workload.points),
        hyperparameters=space,
        tune_new_entries=False,  # the model's other hyperparameters keep their defaults
        directory=str(folder),
        project_name="kerastuner",
        seed=0,
    )
    tuner.search(verbose=0)
    return trials


if __name__ == "__main__":
    main()
