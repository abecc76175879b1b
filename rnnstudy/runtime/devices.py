"""Which GPU each worker process trains on, and the environment that keeps it there.

Without this, every worker of a GPU machine lands on GPU 0 and TensorFlow maps nearly all of
its memory at start, so a second process on that GPU fails. Here the driver finds the visible
GPUs without importing a deep learning framework (``nvidia-smi``, honouring an existing
``CUDA_VISIBLE_DEVICES``), places the worker slots round-robin over them, ``workers_per_gpu``
trials per GPU, and gives each worker one GPU and on-demand memory allocation.

On a machine without GPUs (or without ``nvidia-smi``) nothing changes: one worker by default,
no variables set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rnnstudy.errors import RnnstudyError

NVIDIA_SMI = "nvidia-smi"
QUERY = ("--query-gpu=index,uuid,name,memory.total", "--format=csv,noheader,nounits")
PROBE_SECONDS = 10.0  # nvidia-smi answers in well under a second; a hung driver must not hang the driver
DEVICE_ENV = "RNNSTUDY_DEVICE"  # the worker's device as text, for the trial to log

# A user's own setting of any of these means they manage the framework's GPU memory themselves.
TF_MEMORY_VARS = ("TF_FORCE_GPU_ALLOW_GROWTH",)
JAX_MEMORY_VARS = (
    "XLA_PYTHON_CLIENT_PREALLOCATE",
    "XLA_PYTHON_CLIENT_MEM_FRACTION",
    "XLA_CLIENT_MEM_FRACTION",  # the newer name of the fraction
    "XLA_PYTHON_CLIENT_ALLOCATOR",
)


class DeviceError(RnnstudyError):
    """The requested placement of workers on GPUs is impossible."""


@dataclass(frozen=True)
class Gpu:
    """One GPU as ``nvidia-smi`` lists it."""

    index: int | None  # nvidia-smi's index; None for a MIG instance named in CUDA_VISIBLE_DEVICES
    uuid: str  # what the worker's CUDA_VISIBLE_DEVICES names: unambiguous whatever CUDA_DEVICE_ORDER
    name: str
    memory_mib: int = 0  # 0 when unknown


Query = Callable[[], "str | None"]


def nvidia_smi(timeout: float = PROBE_SECONDS) -> str | None:
    """The output of ``nvidia-smi --query-gpu=...``, or None when there is none to be had.

    Any failure (not installed, no driver, non-zero exit, a hang past ``timeout``) means no
    GPUs: the study then runs on the CPU as it would without this module.
    """
    path = shutil.which(NVIDIA_SMI)
    if path is None:
        return None
    try:
        done = subprocess.run([path, *QUERY], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def parse(text: str) -> list[Gpu]:
    """The GPUs of ``nvidia-smi``'s CSV lines (index, uuid, name, memory in MiB); lines that are
    not such a row (a warning, say) are skipped."""
    found = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 4:
            continue
        index, uuid, memory = fields[0], fields[1], fields[-1].removesuffix("MiB").strip()
        name = ", ".join(fields[2:-1])  # a name with a comma in it survives
        if not index.isdigit() or not uuid:
            continue
        found.append(Gpu(int(index), uuid, name, int(memory) if memory.isdigit() else 0))
    return found


def restrict(gpus: Sequence[Gpu], cuda_visible_devices: str | None) -> list[Gpu]:
    """The GPUs a CUDA program sees under ``CUDA_VISIBLE_DEVICES``, in its order.

    As CUDA reads it: unset, all of them; empty, none; else a comma-separated list of indices,
    ``GPU-`` UUIDs (a unique prefix is enough) or ``MIG-`` instances, enumerated in that order,
    and an entry that names no GPU hides it and every entry after it.

    Indices are read as nvidia-smi's (PCI bus order). CUDA's own default order, fastest
    first, is the same on a machine of identical GPUs; on a mixed one, name GPUs by UUID or
    set ``CUDA_DEVICE_ORDER=PCI_BUS_ID``.
    """
    if cuda_visible_devices is None:
        return list(gpus)
    chosen: list[Gpu] = []
    for token in (t.strip() for t in cuda_visible_devices.split(",")):
        if token.startswith("MIG-"):
            gpu = Gpu(None, token, "MIG instance")  # nvidia-smi --query-gpu lists only whole GPUs
        elif token.isdigit():
            gpu = next((g for g in gpus if g.index == int(token)), None)
        else:
            matches = [g for g in gpus if token and g.uuid.startswith(token)]
            gpu = matches[0] if len(matches) == 1 else None
        if gpu is None:
            break
        if gpu not in chosen:
            chosen.append(gpu)
    return chosen


def visible_gpus(*, query: Query = nvidia_smi, env: Mapping[str, str] | None = None) -> list[Gpu]:
    """The GPUs this process may use: ``query``'s list, restricted by ``CUDA_VISIBLE_DEVICES``.

    Args:
        query: returns ``nvidia-smi``'s CSV output or None; tests pass a fake.
        env: the environment to read ``CUDA_VISIBLE_DEVICES`` from; ``os.environ`` when None.
    """
    env = os.environ if env is None else env
    text = query()
    return restrict(parse(text), env.get("CUDA_VISIBLE_DEVICES")) if text else []


def placement(
    gpus: Sequence[Gpu], workers_per_gpu: int | None = None, workers: int | None = None
) -> list[Gpu | None]:
    """The GPU of each worker slot (None: the CPU); its length is the number of workers.

    Slots go round-robin over ``gpus``, so fewer workers than slots still spread over every GPU.

    Args:
        gpus: the visible GPUs (see :func:`visible_gpus`).
        workers_per_gpu: ``--workers-per-gpu``, trials that share one GPU; 1 when None.
        workers: ``--workers``; when None, every GPU gets ``workers_per_gpu`` workers (one worker
            on a machine without GPUs). Given alone, it is spread evenly over the GPUs.

    Raises:
        DeviceError: ``workers_per_gpu`` < 1, or ``workers`` more than ``workers_per_gpu`` per GPU.
    """
    if workers_per_gpu is not None and workers_per_gpu < 1:
        raise DeviceError(
            f"--workers-per-gpu {workers_per_gpu} must be >= 1: it is how many trials share one GPU "
            "(e.g. --workers-per-gpu 2; leave it out for 1)"
        )
    if workers is not None and workers < 1:
        raise DeviceError(f"--workers {workers} must be >= 1")
    if not gpus:
        return [None] * (workers or 1)
    per_gpu = workers_per_gpu or 1
    if workers is None:
        workers = len(gpus) * per_gpu
    elif workers_per_gpu is not None and workers > len(gpus) * per_gpu:
        raise DeviceError(
            f"--workers {workers} is more than {len(gpus)} GPU(s) × --workers-per-gpu {per_gpu} = "
            f"{len(gpus) * per_gpu}: raise --workers-per-gpu, or leave out --workers for {len(gpus) * per_gpu}"
        )
    slots: list[Gpu | None] = []
    for _ in range(workers):
        slots.append(least_loaded(gpus, slots))
    return slots


def least_loaded(gpus: Sequence[Gpu], in_use: Sequence[Gpu | None]) -> Gpu | None:
    """The GPU for one more worker: the one fewest of ``in_use`` hold, the first of ties.

    What a worker started to replace one that ended (recycled or dead) should get, given the
    GPUs of the workers still running. None when there are no GPUs.
    """
    if not gpus:
        return None
    return min(gpus, key=lambda g: sum(u == g for u in in_use))  # min keeps the first of ties


def worker_env(
    gpu: Gpu | None, backend: str = "tensorflow", env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables a worker process starts with to train on ``gpu`` only (none for the CPU).

    ``CUDA_VISIBLE_DEVICES`` names the GPU by UUID, so inside the worker it is device 0; it
    replaces a user's setting, which :func:`visible_gpus` has already honoured. The memory
    settings make the framework take GPU memory as it needs it instead of mapping it all at
    start. They are set whatever the number of workers per GPU: even with one, the driver
    shares the first GPU while it checks the study and times its models, and so does any
    second ``rnnstudy`` command on the machine. A user's own memory settings win.

    Args:
        gpu: the worker's GPU (from :func:`placement`), or None.
        backend: Keras' backend: ``tensorflow`` and ``jax`` need a variable; ``torch``
            allocates on demand already; ``auto`` (decided after the worker starts) gets the
            variables of both that may be chosen.
        env: the environment the user's settings are read from; ``os.environ`` when None.
    """
    if gpu is None:
        return {}
    wanted = {"CUDA_VISIBLE_DEVICES": gpu.uuid, DEVICE_ENV: describe(gpu)}
    for name in ("tensorflow", "jax") if backend == "auto" else (backend,):
        wanted.update(memory_env(name, env))
    return wanted


def memory_env(backend: str = "tensorflow", env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables that make ``backend`` allocate GPU memory on demand, unless the user set
    their own. Also for the driver's own environment before it imports the framework."""
    env = os.environ if env is None else env
    if backend == "tensorflow" and not any(v in env for v in TF_MEMORY_VARS):
        return {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    if backend == "jax" and not any(v in env for v in JAX_MEMORY_VARS):
        # on demand rather than XLA_PYTHON_CLIENT_MEM_FRACTION=1/K: fixed shares would leave
        # nothing for the driver's check on the first GPU
        return {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    return {}


def describe(gpu: Gpu | None, *, cpuinfo: str | None = None, cores: int | None = None) -> str:
    """The device as a trial logs it: ``GPU 1: NVIDIA H200 (140 GiB)`` or
    ``CPU: AMD EPYC 9B14 96-Core Processor, 2 cores``.

    Args:
        gpu: the GPU, or None for the CPU.
        cpuinfo: the text of ``/proc/cpuinfo``; read when None.
        cores: the cores this process may run on; counted when None.
    """
    if gpu is not None:
        where = f"GPU {gpu.uuid}" if gpu.index is None else f"GPU {gpu.index}"
        memory = f" ({round(gpu.memory_mib / 1024)} GiB)" if gpu.memory_mib else ""
        return f"{where}: {gpu.name}{memory}"
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:  # not Linux
            cpuinfo = ""
    model = next(
        (ln.partition(":")[2].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")),
        "",
    )
    if cores is None:
        cores = cores_here()
    return f"CPU: {model or 'unknown model'}, {cores} core{'s' if cores != 1 else ''}"


def cores_here() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def current_device(env: Mapping[str, str] | None = None) -> str:
    """This process's device as text: what the driver put in :data:`DEVICE_ENV`, else the CPU."""
    env = os.environ if env is None else env
    return env.get(DEVICE_ENV) or describe(None)
