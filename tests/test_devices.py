"""GPU placement with fake device lists: no GPU and no nvidia-smi needed."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from rnnstudy.errors import RnnstudyError
from rnnstudy.runtime import devices
from rnnstudy.runtime.devices import DeviceError, Gpu

UUIDS = [
    "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6",
    "GPU-1a2b3c4d-0000-1111-2222-333344445555",
    "GPU-1a2b9999-6666-7777-8888-999900001111",
    "GPU-deadbeef-aaaa-bbbb-cccc-ddddeeeeffff",
]


def smi_output(count: int) -> str:
    """What nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits prints."""
    return "".join(f"{i}, {UUIDS[i]}, NVIDIA H200, 143771\n" for i in range(count))


def fake_gpus(count: int) -> list[Gpu]:
    return devices.parse(smi_output(count))


# --- finding the GPUs ---------------------------------------------------------------------------


def test_parse_reads_index_uuid_name_memory_with_or_without_units():
    text = f"0, {UUIDS[0]}, NVIDIA H200, 143771 MiB\n1, {UUIDS[1]}, Tesla V100-SXM2-16GB, 16384\n"
    assert devices.parse(text) == [
        Gpu(0, UUIDS[0], "NVIDIA H200", 143771),
        Gpu(1, UUIDS[1], "Tesla V100-SXM2-16GB", 16384),
    ]


def test_parse_skips_lines_that_are_no_gpu_row():
    assert devices.parse("No devices were found\n\n") == []
    assert devices.parse(f"WARNING: infoROM is corrupted\n0, {UUIDS[0]}, A, B, 100\n") == [
        Gpu(0, UUIDS[0], "A, B", 100)
    ]


@pytest.mark.parametrize("count", [1, 2, 4])
def test_all_gpus_are_visible_without_cuda_visible_devices(count):
    found = devices.visible_gpus(query=lambda: smi_output(count), env={})
    assert [g.index for g in found] == list(range(count))


def test_cuda_visible_devices_indices_restrict_and_reorder():
    found = devices.visible_gpus(query=lambda: smi_output(4), env={"CUDA_VISIBLE_DEVICES": "2,0"})
    assert [g.index for g in found] == [2, 0]


def test_cuda_visible_devices_uuids_full_and_unique_prefix():
    env = {"CUDA_VISIBLE_DEVICES": f"{UUIDS[3]}, GPU-8932f937"}
    found = devices.visible_gpus(query=lambda: smi_output(4), env=env)
    assert [g.index for g in found] == [3, 0]


def test_cuda_visible_devices_invalid_entry_hides_the_rest():
    # as CUDA documents: 0,2,-1,1 shows 0 and 2; an ambiguous UUID prefix names no GPU either
    gpus = fake_gpus(4)
    assert [g.index for g in devices.restrict(gpus, "0,2,-1,1")] == [0, 2]
    assert [g.index for g in devices.restrict(gpus, "3,GPU-1a2b,1")] == [3]
    assert [g.index for g in devices.restrict(gpus, "7")] == []


def test_cuda_visible_devices_empty_means_no_gpus():
    assert devices.visible_gpus(query=lambda: smi_output(2), env={"CUDA_VISIBLE_DEVICES": ""}) == []


def test_mig_instance_is_kept_as_named():
    mig = "MIG-3b5d8c7e-1111-2222-3333-444455556666"
    (gpu,) = devices.restrict(fake_gpus(1), mig)
    assert gpu.uuid == mig and gpu.index is None
    assert devices.worker_env(gpu, env={})["CUDA_VISIBLE_DEVICES"] == mig


def fake_nvidia_smi(tmp_path: Path, monkeypatch, script: str) -> None:
    """An executable nvidia-smi first on PATH that runs ``script`` (a shell body)."""
    path = tmp_path / "nvidia-smi"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def test_real_probe_runs_nvidia_smi_with_the_query(tmp_path, monkeypatch):
    fake_nvidia_smi(
        tmp_path,
        monkeypatch,
        f'[ "$1 $2" = "{" ".join(devices.QUERY)}" ] || exit 3\necho "{smi_output(2)}"\n',
    )
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [g.uuid for g in devices.visible_gpus()] == UUIDS[:2]


def test_no_nvidia_smi_means_no_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: nvidia-smi is nowhere
    assert devices.nvidia_smi() is None
    assert devices.visible_gpus() == []


def test_nvidia_smi_failing_means_no_gpus(tmp_path, monkeypatch):
    fake_nvidia_smi(
        tmp_path, monkeypatch, 'echo "NVIDIA-SMI has failed because it couldn\'t communicate"\nexit 9\n'
    )
    assert devices.nvidia_smi() is None
    assert devices.visible_gpus() == []


def test_nvidia_smi_hanging_means_no_gpus(tmp_path, monkeypatch):
    fake_nvidia_smi(tmp_path, monkeypatch, "exec sleep 30\n")
    assert devices.nvidia_smi(timeout=0.3) is None


# --- placement -----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 4])
@pytest.mark.parametrize("per_gpu", [1, 2, 4])
def test_default_workers_fill_every_gpu_round_robin(count, per_gpu):
    gpus = fake_gpus(count)
    slots = devices.placement(gpus, per_gpu)
    assert len(slots) == count * per_gpu
    assert [g.index for g in slots] == [i % count for i in range(count * per_gpu)]


def test_fewer_workers_than_slots_spread_over_the_gpus_first():
    slots = devices.placement(fake_gpus(4), workers_per_gpu=2, workers=3)
    assert [g.index for g in slots] == [0, 1, 2]


def test_workers_alone_are_spread_evenly():
    slots = devices.placement(fake_gpus(2), workers=5)
    assert [g.index for g in slots] == [0, 1, 0, 1, 0]


def test_more_workers_than_the_gpus_take_is_refused():
    with pytest.raises(DeviceError, match=r"--workers 5 is more than 2 GPU\(s\) × --workers-per-gpu 2 = 4"):
        devices.placement(fake_gpus(2), workers_per_gpu=2, workers=5)


@pytest.mark.parametrize("bad", [0, -1])
def test_workers_per_gpu_below_one_is_a_one_line_user_error(bad):
    with pytest.raises(RnnstudyError, match=rf"--workers-per-gpu {bad} must be >= 1") as caught:
        devices.placement(fake_gpus(1), bad)
    assert "\n" not in str(caught.value)


def test_without_gpus_nothing_changes():
    assert devices.placement([], workers_per_gpu=4) == [None]
    assert devices.placement([], workers=3) == [None, None, None]
    assert devices.worker_env(None, env={}) == {}


def test_a_replacement_worker_takes_the_gpu_that_lost_one():
    g0, g1, g2 = fake_gpus(3)
    assert devices.least_loaded([g0, g1, g2], [g0, g1, g2, g0, g2]) == g1
    assert devices.least_loaded([], [None]) is None


# --- the worker's environment ---------------------------------------------------------------------


def test_worker_env_pins_one_gpu_and_lets_tensorflow_grow():
    gpu = fake_gpus(2)[1]
    assert devices.worker_env(gpu, env={}) == {
        "CUDA_VISIBLE_DEVICES": UUIDS[1],
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        devices.DEVICE_ENV: "GPU 1: NVIDIA H200 (140 GiB)",
    }


def test_worker_env_for_jax_and_torch():
    gpu = fake_gpus(1)[0]
    jax = devices.worker_env(gpu, backend="jax", env={})
    assert jax["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false" and "TF_FORCE_GPU_ALLOW_GROWTH" not in jax
    torch = devices.worker_env(gpu, backend="torch", env={})
    assert set(torch) == {"CUDA_VISIBLE_DEVICES", devices.DEVICE_ENV}


@pytest.mark.parametrize(
    ("backend", "users"),
    [
        ("tensorflow", {"TF_FORCE_GPU_ALLOW_GROWTH": "false"}),
        ("jax", {"XLA_PYTHON_CLIENT_PREALLOCATE": "true"}),
        ("jax", {"XLA_PYTHON_CLIENT_MEM_FRACTION": ".30"}),  # a fraction only works with preallocation
        ("jax", {"XLA_CLIENT_MEM_FRACTION": ".30"}),
    ],
)
def test_a_users_memory_settings_win(backend, users):
    made = devices.worker_env(fake_gpus(1)[0], backend=backend, env=users)
    assert set(made) == {"CUDA_VISIBLE_DEVICES", devices.DEVICE_ENV}


def test_worker_env_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("TF_FORCE_GPU_ALLOW_GROWTH", "false")
    assert "TF_FORCE_GPU_ALLOW_GROWTH" not in devices.worker_env(fake_gpus(1)[0])


# --- what a trial logs ----------------------------------------------------------------------------


def test_describe_a_cpu_from_cpuinfo():
    cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 9B14 96-Core Processor\nflags\t: fpu\n"
    assert devices.describe(None, cpuinfo=cpuinfo, cores=2) == "CPU: AMD EPYC 9B14 96-Core Processor, 2 cores"
    assert devices.describe(None, cpuinfo="", cores=1) == "CPU: unknown model, 1 core"


def test_describe_a_gpu_without_known_memory():
    assert devices.describe(Gpu(3, UUIDS[3], "NVIDIA A100-SXM4-80GB")) == "GPU 3: NVIDIA A100-SXM4-80GB"


def test_current_device_is_what_the_driver_set_else_the_cpu():
    assert devices.current_device({devices.DEVICE_ENV: "GPU 0: X"}) == "GPU 0: X"
    assert devices.current_device({}).startswith("CPU: ")
