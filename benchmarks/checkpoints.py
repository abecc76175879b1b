"""What a kill costs a checkpointed trial, and what checkpoints cost a trial that is not killed.

    .venv/bin/python benchmarks/checkpoints.py                 # seed 003's CNN, 10 epochs
    .venv/bin/python benchmarks/checkpoints.py --every 3 --kill-after 5

Runs `rnnstudy optimize` in a fresh folder on one trial of seed 003's CNN (Fashion-MNIST,
6,000 training images), saving a checkpoint every ``--every`` epochs:

1. ``kill -9`` of the whole command once the trial has logged ``--kill-after`` epochs, then the
   same command again: prints the epochs the killed run had logged, the epoch the rerun resumed
   at, the epochs it trained, and so the epochs (and seconds) of training lost;
2. SIGTERM at the same point, then the same command again: the same figures;
3. from the finished runs, the seconds spent saving checkpoints against the training time.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY = """\
from rnnstudy import Study

study = Study(
    dataset="fashion_mnist",
    model="cnn",
    optimizer="adam",
    search={{"c1": [50]}},
    fixed={{
        "epochs": {epochs},
        "batch_size": 128,
        "train_samples": 6000,
        "validation_samples": 2000,
        "c2": 60,
        "checkpoint_every": {every},
    }},
    name="{name}",
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--every", type=int, default=4, help="checkpoint_every, in epochs")
    parser.add_argument("--kill-after", type=int, default=6, help="epochs logged before the kill")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rnnstudy-checkpoints-") as tmp:
        root = Path(tmp)
        for how in (signal.SIGKILL, signal.SIGTERM):
            name = f"stopped-by-{how.name.lower()}"
            (root / f"{name}.py").write_text(STUDY.format(epochs=args.epochs, every=args.every, name=name))
            logged, seconds_per_epoch = stop_mid_trial(root, name, how, args.kill_after)
            rerun = subprocess.run(command(name), cwd=root, capture_output=True, text=True)
            if rerun.returncode != 0:
                sys.exit(f"the rerun failed:\n{rerun.stdout}{rerun.stderr}")
            run = finished_run(root, name)
            resumed_at = int(run.data.tags.get("rnnstudy.resumed_at_epoch", 0))
            trained = int(run.data.metrics["epochs_trained"])
            lost = logged - resumed_at
            print(
                f"{how.name}: the killed run had logged {logged} epoch(s); the rerun resumed at epoch "
                f"{resumed_at} and trained {trained}; lost {lost} epoch(s), about {lost * seconds_per_epoch:.0f} s "
                f"of training (checkpoint_every={args.every} epochs, {seconds_per_epoch:.1f} s per epoch)"
            )
            print(
                f"  the resumed trial: train_time_s {run.data.metrics['train_time_s']:.1f} (every attempt), "
                f"checkpoint_s {run.data.metrics['checkpoint_s']:.2f} (this attempt's saves), "
                f"test_accuracy {run.data.metrics['test_accuracy']:.4f}"
            )


def command(name: str) -> list[str]:
    return [sys.executable, "-m", "rnnstudy", "optimize", f"{name}.py"]


def stop_mid_trial(root: Path, name: str, how: signal.Signals, after: int) -> tuple[int, float]:
    """Start the study, send ``how`` to the whole command once ``after`` epochs are logged;
    return the epochs its run had logged by then, and the seconds an epoch took."""
    process = subprocess.Popen(
        command(name), cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    started = None
    while True:
        time.sleep(0.5)
        steps = logged_epochs(root, name)
        if steps and started is None:
            started = (time.monotonic(), len(steps))
        if len(steps) >= after:
            break
        if process.poll() is not None:
            sys.exit(f"the study ended before {after} epochs were logged: raise --epochs")
    per_epoch = (time.monotonic() - started[0]) / max(len(steps) - started[1], 1)
    os.killpg(process.pid, how)
    process.wait()
    return len(logged_epochs(root, name)), per_epoch


def logged_epochs(root: Path, name: str) -> list[int]:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(name) if (root / "mlruns" / "mlflow.db").exists() else None
    if experiment is None:
        return []
    runs = [r for r in client.search_runs([experiment.experiment_id]) if "rnnstudy.trial" in r.data.tags]
    return sorted({m.step for r in runs[:1] for m in client.get_metric_history(r.info.run_id, "val_loss")})


def finished_run(root: Path, name: str):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(name)
    [run] = client.search_runs([experiment.experiment_id], filter_string="tags.`rnnstudy.state` = 'COMPLETE'")
    return run


if __name__ == "__main__":
    main()
