"""Memory over a long study: RSS of the worker and the driver, trial after trial.

    .venv/bin/python benchmarks/memory.py                     # 100 trials, recycled every 25
    .venv/bin/python benchmarks/memory.py --trials-per-worker 1000   # one worker for all: the leak

Runs `rnnstudy optimize` on a study of short real Keras trials (seed 003's CNN, small, on 256
Fashion-MNIST images, one epoch each) in a fresh folder, and reads the resident memory of
every process of the command from /proc each time a trial ends. TensorFlow keeps about
8 MiB per trial in a process (7.9 MiB measured with this script); recycled workers do not
accumulate it.
"""

from __future__ import annotations

import argparse
import os
import re
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
    search={{"seed": list(range({trials}))}},  # {trials} trials that differ only in their seed
    fixed={{
        "epochs": 1,
        "subset": 256,  # short trials: the memory per trial is the point, not the accuracy
        "batch_size": 64,
        "c1": 8, "c2": 8, "kernel1": 3, "kernel2": 3, "dense_units": 32,
    }},
)
"""
TRIAL_END = re.compile(r"trial #\d+ (COMPLETE|PRUNED|FAIL) \((\d+)/\d+\)")


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def workers(driver: int) -> list[int]:
    """The driver's worker processes (not multiprocessing's resource tracker)."""
    found = []
    for pid in children(driver):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return found


def measure(trials: int, per_worker: int) -> list[tuple[int, float, float, int]]:
    """Run the study; return (trials done, worker RSS MiB, driver RSS MiB, worker pid) per trial."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="rnnstudy-memory-") as folder:
        Path(folder, "memory.py").write_text(STUDY.format(trials=trials))
        command = [
            sys.executable,
            "-m",
            "rnnstudy",
            "optimize",
            "memory.py",
            "--trials-per-worker",
            str(per_worker),
        ]
        process = subprocess.Popen(
            command,
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},  # offline, like compare.py
        )
        tail = []
        for line in process.stdout:
            tail = (tail + [line])[-20:]
            match = TRIAL_END.search(line)
            if not match:
                continue
            alive = [(rss_mib(pid), pid) for pid in workers(process.pid)]
            alive = [(rss, pid) for rss, pid in alive if rss is not None]
            rss, pid = max(alive) if alive else (float("nan"), 0)
            rows.append((int(match[2]), rss, rss_mib(process.pid) or float("nan"), pid))
        if process.wait() != 0:
            sys.exit("".join(tail))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--trials-per-worker", type=int, default=25)
    args = parser.parse_args()

    started = time.perf_counter()
    rows = measure(args.trials, args.trials_per_worker)
    took = time.perf_counter() - started
    print(f"{args.trials} trials, a worker recycled every {args.trials_per_worker}, in {took:.0f} s")
    print(f"{'trial':>5}  {'worker RSS MiB':>14}  {'driver RSS MiB':>14}  worker pid")
    shown = {1, 2, 10, 25, 26, 50, 75, 99, args.trials}
    for done, worker, driver, pid in rows:
        if done in shown:
            print(f"{done:>5}  {worker:>14.0f}  {driver:>14.0f}  {pid}")
    peak = max(worker for _, worker, _, _ in rows)
    print(f"peak worker RSS {peak:.0f} MiB; processes used: {len({pid for *_, pid in rows})}")


if __name__ == "__main__":
    main()
