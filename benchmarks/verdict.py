"""Time to a verdict: which grid point is best, and which are worse than it, tool by tool.

    .venv/bin/python benchmarks/verdict.py                   # both workloads (an hour on 2 busy cores)
    .venv/bin/python benchmarks/verdict.py --quick           # every path on tiny settings
    .venv/bin/python benchmarks/verdict.py --workload cnn --json verdict.json
    .venv/bin/python benchmarks/verdict.py --reference-only  # just (re)compute the cached references

(``pip install -e '.[bench]'`` first: optuna-integration, keras-tuner.) The cached references
took 15 min each to compute here; without the cache a run computes them first, untimed.

Two workloads: the demo's CNN channel grid (studies/demo.py) and a small version of seed 002's
char-RNN cell × sequence-length grid. Each method runs in a process of its own, one after
another, so each pays its start-up as a user's script would:

1. careful: the alternative a user writes by hand (benchmarks/careful_verdict.py): Optuna's
   GridSampler over grid × seeds 0-4, optuna-integration's MLflowCallback (MLflow on SQLite),
   then a paired t-test of every point against the best, Holm-corrected at alpha 0.05;
2. kerastuner: Keras Tuner's GridSearch with ``executions_per_trial=5`` (its averaging); its
   verdict is its best point only: it tests nothing;
3. rnnstudy --repeats 5: ``rnnstudy optimize`` on a generated study file, seeds 0-4 per point;
4. rnnstudy default: ``rnnstudy optimize`` with :data:`DEFAULT_MODE` (rnnstudy's default
   comparison mode), plus ``--workers`` when given.

rnnstudy's verdict is its own (``rnnstudy.load(...).verdict``, read from the stores after the
clock stops; ``rnnstudy optimize`` printed the same one in its closing report). Seed k of every
tool is rnnstudy's repeat k (rnnstudy.trial.runner: the hyperparameter ``seed`` = k draws the
training subset and, through ``keras.utils.set_random_seed``, the initial weights), and every
tool trains rnnstudy's own dataset and model plugins (benchmarks/compare.py's helpers), so
all of them train the very same trials.

**The reference verdict** is the careful script's test (paired t-test against the best, Holm,
alpha 0.05) on :data:`REFERENCE_SEEDS` seeds per point, each trained once by a plain Keras
loop with no tracking; it is computed once and cached in benchmarks/cache/, keyed by the
workload's settings. **Same verdict** means: the same best point and the same set of points
called worse (so the same ties); for Keras Tuner, which calls nothing worse, the same best
point. The summary lines compare rnnstudy's default mode (method 4) with the careful
alternative: their wall times, the ratio rnnstudy / careful, and "same verdict yes" when
rnnstudy's verdict is the reference's. The last line sums both workloads (yes only if both).
Each other method's "same trials" line checks the seeds: its objective on every point × seed
it shares with the careful script (0.0000 apart here on CPU: the very same trials).

The reference's seeds 0..11 include the tools' 0..4, so it is not independent of them: a
tool's verdict on seeds 0-4 is checked against a verdict partly made of the same trials.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from careful_verdict import ALPHA, verdict
from compare import Workload, _tracking_store, machine

DEFAULT_MODE = ("--repeats", "adaptive")  # rnnstudy's default comparison mode: one place to change it
REPEATS = 5  # seeds per point of the careful script, Keras Tuner and rnnstudy --repeats
REFERENCE_SEEDS = 12  # seeds per point of the reference verdict
QUICK_REPEATS, QUICK_REFERENCE_SEEDS = 2, 6  # 2 seeds: the fewest a paired test takes
QUICK_RACE = "min_repeats=2, max_repeats=3, "  # --quick's adaptive race (rnnstudy's default: 3 to 10)
SHOWN = ("seeds by point", "phases")  # the notes printed under a method's line
HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"


def workload(name: str, quick: bool = False) -> Workload:
    """The demo's CNN grid, or a small char-RNN grid (a few seconds a trial on 2 cores)."""
    # the plays' first million characters, a window every 50, Adam at 0.01 (as compare.py)
    chars = {"corpus": "plays", "max_chars": 1_000_000, "stride": 50, "batch_size": 64, "learning_rate": 0.01}
    if name == "cnn":
        fixed = {"epochs": 3, "batch_size": 128, "train_samples": 6000, "validation_samples": 2000}
        if quick:
            fixed = {**fixed, "epochs": 1, "train_samples": 600, "validation_samples": 600, "subset": 600}
        grid = {"c1": [10, 50], "c2": [20, 60]}
        return Workload(
            "cnn", "the demo's CNN channel grid on Fashion-MNIST", "fashion_mnist", "cnn", grid, fixed
        )
    if name == "charrnn":
        fixed = {**chars, "epochs": 3, "train_samples": 1500, "subset": 1500}
        grid = {"cell": ["simple_rnn", "lstm", "gru"], "sequence_length": [10, 30]}
        if quick:
            fixed = {**fixed, "epochs": 1, "train_samples": 300, "subset": 300}
            grid = {"cell": ["simple_rnn", "gru"], "sequence_length": [10, 20]}
        title = "seed 002's char-RNN cell × sequence length on Shakespeare, small"
        return Workload("charrnn", title, "char_text", "language_model", grid, fixed)
    raise SystemExit(f"unknown workload {name!r}: cnn or charrnn")


def label(point: dict) -> str:
    """A point as rnnstudy's verdict names it: ``c1=10 c2=20``."""
    return " ".join(f"{k}={v}" for k, v in point.items())


@dataclass
class Method:
    """One method's run on one workload, and its verdict."""

    name: str
    wall_s: float = 0.0
    cpu_s: float = 0.0  # user + system seconds of its whole process tree
    trials: int = 0
    epochs: int = 0
    best: str = ""
    worse: list[str] | None = None  # None: the method tests nothing (Keras Tuner)
    agrees: bool = False
    notes: dict = field(default_factory=dict)

    def line(self) -> str:
        called = (
            "best only, nothing tested" if self.worse is None else f"worse: {', '.join(self.worse) or 'none'}"
        )
        return (
            f"   {self.name:<28}{self.wall_s:8.1f} s  cpu {self.cpu_s:7.1f} s  {self.trials:3d} trials  "
            f"{self.epochs:4d} epochs  best {self.best}; {called}; "
            f"{'agrees with' if self.agrees else 'DIFFERS from'} the reference"
            + "".join(f"\n      {k}: {v}" for k, v in self.notes.items() if k in SHOWN)
        )


# --- the parent: each method in its own process, then the verdicts ---------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings: check every path (≤ 5 min)")
    parser.add_argument("--workload", choices=("cnn", "charrnn"), help="run only this one")
    parser.add_argument(
        "--default-args",
        default=" ".join(DEFAULT_MODE),
        help=f"rnnstudy's arguments for its default comparison mode [default: {' '.join(DEFAULT_MODE)}]",
    )
    parser.add_argument(
        "--workers", type=int, help="--workers of the default-mode rnnstudy run [default: its own]"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", type=Path, help="keep each method's folder (logs, MLflow, Optuna) here")
    parser.add_argument(
        "--reference-only",
        action="store_true",
        help="compute (or read) the cached reference verdicts, then stop",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(json.loads(args.child))

    # every tool offline and equally quiet (MLflow 3 sends usage telemetry unless told not to)
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "KERAS_BACKEND": "tensorflow",
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    repeats = QUICK_REPEATS if args.quick else REPEATS
    names = [args.workload] if args.workload else ["cnn", "charrnn"]
    results = {"machine": machine(), "quick": args.quick, "default_args": args.default_args, "workloads": {}}
    totals = {"rnnstudy": 0.0, "careful": 0.0, "same": True}
    with tempfile.TemporaryDirectory(prefix="rnnstudy-verdict-") as tmp:
        root = Path(tmp)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            root = args.keep.resolve()
        for name in names:
            work = workload(name, args.quick)
            print(f"\n== {name}: {work.title}; {len(work.points)} points × {work.epochs} epochs", flush=True)
            reference = reference_verdict(work, args.quick, root / f"{name}-reference", env)
            print(
                f"   reference ({reference['seeds']} seeds a point, plain Keras loop): best {reference['best']}; "
                f"worse: {', '.join(reference['worse']) or 'none'}",
                flush=True,
            )
            if args.reference_only:
                continue
            methods = run_methods(work, args, repeats, root, env, reference)
            summary(name, methods, totals)
            results["workloads"][name] = {
                "workload": asdict(work),
                "reference": reference,
                "methods": [asdict(m) for m in methods],
            }
    if args.reference_only:
        return
    results["machine"]["load after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("\nmachine:", ", ".join(f"{k} {v}" for k, v in results["machine"].items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    ratio = totals["rnnstudy"] / totals["careful"]
    print(
        f"time to verdict: rnnstudy {totals['rnnstudy']:.1f} s, careful alternative {totals['careful']:.1f} s, "
        f"ratio {ratio:.2f}, same verdict {'yes' if totals['same'] else 'no'}"
    )


def run_methods(
    work: Workload, args, repeats: int, root: Path, env: dict[str, str], reference: dict
) -> list[Method]:
    """The four methods on one workload, one after another, each in a folder of its own; each
    verdict held against the reference's as it comes."""
    race = QUICK_RACE if args.quick else ""  # the study file's race settings
    default = args.default_args.split() + ([] if args.workers is None else ["--workers", str(args.workers)])
    runs = [
        lambda folder: careful(work, args.quick, repeats, folder, env),
        lambda folder: kerastuner(work, repeats, folder, env),
        lambda folder: rnnstudy(
            f"rnnstudy --repeats {repeats}", work, ["--repeats", str(repeats)], folder, env
        ),
        lambda folder: rnnstudy(f"rnnstudy {' '.join(default)}", work, default, folder, env, race),
    ]
    methods = []
    for number, run in enumerate(runs):
        folder = root / f"{work.name}-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        method = run(folder)
        method.agrees = same_verdict(method, reference)
        print(method.line(), flush=True)
        methods.append(method)
    for method in methods[1:]:  # the seeds match when the objectives do
        method.notes["same trials"] = same_trials(methods[0], method)
        print(f"   same trials, {method.name}: {method.notes['same trials']}", flush=True)
    return methods


def same_trials(careful_run: Method, other: Method) -> str:
    """How far a tool's objective is from the careful script's on the same point and seed: the
    check that the seeds match (CPU kernels may still differ in the last bits)."""
    pairs = [
        (value, careful_run.notes["scores"][point][seed])
        for point, by_seed in other.notes["scores"].items()
        for seed, value in by_seed.items()
        if seed in careful_run.notes["scores"].get(point, {})
    ]
    if not pairs:
        return "no trial in common with the careful script"
    gap = max(abs(a - b) for a, b in pairs)
    return f"{len(pairs)} trials in common with the careful script; largest objective difference {gap:.4f}"


def same_verdict(method: Method, reference: dict) -> bool:
    """The same best point and the same points called worse; Keras Tuner: the same best."""
    if method.best != reference["best"]:
        return False
    return method.worse is None or sorted(method.worse) == sorted(reference["worse"])


def summary(name: str, methods: list[Method], totals: dict) -> None:
    """The workload's line: rnnstudy's default mode against the careful alternative."""
    careful_run, default = methods[0], methods[-1]
    same = default.agrees
    totals["rnnstudy"] += default.wall_s
    totals["careful"] += careful_run.wall_s
    totals["same"] = totals["same"] and same
    print(
        f"{name}: rnnstudy {default.wall_s:.1f} s, careful alternative {careful_run.wall_s:.1f} s, "
        f"ratio {default.wall_s / careful_run.wall_s:.2f}, same verdict {'yes' if same else 'no'}",
        flush=True,
    )


def timed(command: list[str], folder: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run one process tree to its end; its wall and CPU seconds (children's rusage)."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    with open(folder / "log.txt", "w") as log:
        code = subprocess.call(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # every process of the tree, workers too
    if code != 0:
        raise SystemExit(
            f"{command[:4]} failed (exit {code}); see {folder / 'log.txt'}:\n"
            + (folder / "log.txt").read_text()[-3000:]
        )
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def reference_verdict(work: Workload, quick: bool, folder: Path, env: dict[str, str]) -> dict:
    """The reference verdict from the cache, else computed (untimed) in a child and cached."""
    seeds = QUICK_REFERENCE_SEEDS if quick else REFERENCE_SEEDS
    settings = {"workload": asdict(work), "seeds": seeds, "alpha": ALPHA, "test": "ttest_rel vs best, Holm"}
    path = CACHE / f"verdict-reference-{work.name}{'-quick' if quick else ''}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        if cached["settings"] == json.loads(json.dumps(settings)):  # JSON turns tuples into lists
            return cached
    print(
        f"   computing the reference verdict ({seeds} seeds × {len(work.points)} points); cached in {path}",
        flush=True,
    )
    folder.mkdir(parents=True, exist_ok=True)
    child = {"tool": "reference", "workload": asdict(work), "seeds": seeds, "folder": str(folder)}
    wall, cpu = timed([sys.executable, __file__, "--child", json.dumps(child)], folder, env)
    scores = json.loads((folder / "scores.json").read_text())
    best, worse = verdict(scores)
    found = {"settings": settings, "seeds": seeds, "best": best, "worse": worse, "scores": scores}
    found["means"] = {p: statistics.mean(v) for p, v in scores.items()}
    found["computed_in_s"] = round(wall, 1)
    CACHE.mkdir(exist_ok=True)
    path.write_text(json.dumps(found, indent=1) + "\n")
    return found


# --- the methods -------------------------------------------------------------------------------


def careful(work: Workload, quick: bool, repeats: int, folder: Path, env: dict[str, str]) -> Method:
    _tracking_store(folder)  # a project makes its MLflow database once, not per study: before the clock
    command = [sys.executable, str(HERE / "careful_verdict.py"), work.name, "--seeds", str(repeats)]
    wall, cpu = timed(command + ["--out", "."] + (["--quick"] if quick else []), folder, env)
    found = json.loads((folder / "verdict.json").read_text())
    n = len(found["trials"])
    method = Method("careful (Optuna + MLflow)", wall, cpu, n, n * work.epochs, found["best"], found["worse"])
    scores = method.notes["scores"] = {}
    for trial in found["trials"]:
        point = label({name: trial["params"][name] for name in work.grid})
        scores.setdefault(point, {})[trial["params"]["seed"]] = trial["objective"]
    return method


def kerastuner(work: Workload, repeats: int, folder: Path, env: dict[str, str]) -> Method:
    child = {"tool": "kerastuner", "workload": asdict(work), "seeds": repeats, "folder": str(folder)}
    wall, cpu = timed([sys.executable, __file__, "--child", json.dumps(child)], folder, env)
    found = json.loads((folder / "kerastuner.json").read_text())
    n = len(found["fits"])
    method = Method(f"Keras Tuner ×{repeats}", wall, cpu, n, n * work.epochs, found["best"], None)
    method.notes["seeds by point"] = found["seeds"]
    for fit in found["fits"]:
        method.notes.setdefault("scores", {}).setdefault(fit["point"], {})[fit["seed"]] = fit["objective"]
    return method


def rnnstudy(
    name: str, work: Workload, extra: list[str], folder: Path, env: dict[str, str], race: str = ""
) -> Method:
    """``rnnstudy optimize`` on a generated study file; its verdict read back through rnnstudy.load."""
    import rnnstudy as rs

    (folder / "verdict_study.py").write_text(
        "from rnnstudy import Study\n\n"
        f"study = Study(dataset={work.dataset!r}, model={work.model!r}, optimizer='adam',\n"
        f"    search={work.grid!r},\n    fixed={work.fixed!r},\n"
        f"    {race}objective='val_accuracy', name='verdict')\n"
    )
    _tracking_store(folder)
    tracking = f"sqlite:///{folder}/mlflow.db"
    command = [sys.executable, "-m", "rnnstudy", "optimize", "verdict_study.py", *extra]
    command += ["--storage", str(folder / "optuna.journal"), "--tracking-uri", tracking]
    started = time.time()
    wall, cpu = timed(command, folder, env)

    result = rs.load("verdict", storage=str(folder / "optuna.journal"), tracking_uri=tracking)
    comparison = result.verdict
    done = result.frame[result.frame["state"] == "COMPLETE"]
    known = {label(p) for p in work.points}
    if comparison.best not in known:
        raise SystemExit(
            f"{name}: rnnstudy's best {comparison.best!r} is none of the grid's points {sorted(known)}"
        )
    method = Method(
        name, wall, cpu, len(done), len(done) * work.epochs, comparison.best, sorted(comparison.worse)
    )
    table = comparison.frame()
    method.notes["seeds by point"] = {str(p): int(n) for p, n in table["n"].items()}
    method.notes["verdict"] = comparison.verdict
    method.notes["scores"] = _scores(done, work)
    method.notes["phases"] = _phases(result, done, started, wall)
    return method


def _phases(result, done, started: float, wall: float) -> dict[str, float]:
    """Where the wall time went, from the MLflow runs' clocks: the driver's checks and set-up
    until the parent run, a worker's start until the first trial, the trials' fit and test
    evaluation, the rest of the trials (data, building, logging, files) and the closing report."""
    client = result.tracker.client
    runs = [client.get_run(run_id).info for run_id in done["run_id"]]
    parent = client.get_run(result.optuna.user_attrs["mlflow_parent_run_id"]).info.start_time / 1000
    first, last = min(r.start_time for r in runs) / 1000, max(r.end_time for r in runs) / 1000
    in_trials = sum(r.end_time - r.start_time for r in runs) / 1000
    training = float((done["train_time_s"] + done["inference_time_s"]).sum())
    return {
        "driver set-up": round(parent - started, 1),
        "worker start-up": round(first - parent, 1),
        "fit + test": round(training, 1),
        "trials' other work": round(in_trials - training, 1),
        "between trials": round(last - first - in_trials, 1),
        "close": round(started + wall - last, 1),
    }


def _scores(done, work: Workload) -> dict[str, dict[int, float]]:
    """rnnstudy's objective per point and seed: to check that the tools trained the same trials."""
    scores: dict[str, dict[int, float]] = {}
    for _, row in done.iterrows():
        point = label({n: row[n] for n in work.grid})
        scores.setdefault(point, {})[int(row["seed"])] = float(row["objective"])
    return scores


# --- the children: the reference loop and Keras Tuner, each in its own process -------------


def _child(spec: dict) -> None:
    from rnnstudy.runtime import backend

    backend.start("tensorflow")
    work, folder = Workload(**spec["workload"]), Path(spec["folder"])
    {"reference": _reference, "kerastuner": _kerastuner}[spec["tool"]](work, spec["seeds"], folder)


def _seeded(work: Workload, seed: int) -> Workload:
    """The workload as rnnstudy's repeat ``seed`` runs it: compare.py's helpers read fixed["seed"]."""
    return replace(work, fixed={**work.fixed, "seed": seed})


def _reference(work: Workload, seeds: int, folder: Path) -> None:
    """Every point × seed once, by a plain Keras loop: no tracking, nothing but the scores."""
    from compare import _data, _fit, _model

    scores: dict[str, list[float]] = {}
    for seed in range(seeds):
        seeded = _seeded(work, seed)
        for point in work.points:
            data = _data(seeded, point)
            history, _, _ = _fit(seeded, _model(seeded, point, data.info), data)
            scores.setdefault(label(point), []).append(max(history.history["val_accuracy"]))
        print(f"seed {seed}: {len(work.points)} points trained", flush=True)  # progress, in its log.txt
    (folder / "scores.json").write_text(json.dumps(scores))


def _kerastuner(work: Workload, seeds: int, folder: Path) -> None:
    """Keras Tuner's GridSearch; execution k of a point trains with seed k, as rnnstudy's repeat k."""
    import keras_tuner
    from compare import _data, _fit, _model

    builds: dict[str, int] = {}  # a point's builds so far: its execution number
    fits: list[dict] = []

    class Grid(keras_tuner.HyperModel):
        def build(self, hp):
            point = {name: hp.get(name) for name in work.grid}
            self.seed = builds.get(label(point), 0)
            builds[label(point)] = self.seed + 1
            seeded = _seeded(work, self.seed)
            return _model(seeded, point, _data(seeded, point).info, hp)

        def fit(self, hp, model, *args, callbacks=(), **kwargs):
            point = {name: hp.get(name) for name in work.grid}
            history, _, _ = _fit(
                _seeded(work, self.seed), model, _data(_seeded(work, self.seed), point), callbacks
            )
            fits.append(
                {"point": label(point), "seed": self.seed, "objective": max(history.history["val_accuracy"])}
            )
            return history

    space = keras_tuner.HyperParameters()
    for name, values in work.grid.items():
        space.Choice(name, values)
    tuner = keras_tuner.GridSearch(
        Grid(),
        objective="val_accuracy",
        max_trials=len(work.points),
        executions_per_trial=seeds,
        hyperparameters=space,
        tune_new_entries=False,  # the model's other hyperparameters keep their defaults
        directory=str(folder),
        project_name="kerastuner",
        seed=0,
    )
    builds.clear()  # the tuner built the model once to learn the space: that was no execution
    tuner.search(verbose=0)
    best = tuner.oracle.get_best_trials(1)[0].hyperparameters
    by_point = {p: [f["seed"] for f in fits if f["point"] == p] for p in builds}
    found = {"best": label({name: best.get(name) for name in work.grid}), "fits": fits, "seeds": by_point}
    (folder / "kerastuner.json").write_text(json.dumps(found))


if __name__ == "__main__":
    main()
