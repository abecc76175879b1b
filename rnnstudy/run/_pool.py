"""The worker processes of one ``rnnstudy optimize``: started early, sent to work later.

A worker spends seconds importing TensorFlow, Optuna and MLflow before it can run a trial,
and the driver spends as long checking the study. So the driver starts its workers first;
each gets ready, then waits for the go: the study's MLflow ids once the driver has checked
the study and set it up. Workers it turns out not to need (the check failed, or fewer trials
are left than workers) are killed before they have written anything.

Workers never run the user's main module. A spawned process normally imports the parent's
``__main__`` again (a script without an ``if __name__ == "__main__":`` guard, ``python -``, a
module run with ``-m``), which would start the study again in every worker; the pool starts
its workers with the main module hidden (:func:`_main_hidden`). What a worker needs of a study
defined there comes pickled by value (rnnstudy.spec.study.pack_study).

Each worker's standard error goes to a file of the pool's, which the driver copies to its own
standard error as it comes (:meth:`Pool.show_stderr`): so when a worker dies, its last words
are still there to quote (:meth:`Pool.last_words`).

On a machine with GPUs each worker trains on one of them (rnnstudy.runtime.devices): a worker
started later, to replace one that was recycled or died, goes to the GPU fewest of the
running workers hold.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
import types
from collections.abc import Iterator, Sequence
from dataclasses import replace
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from rnnstudy.run import _worker as worker
from rnnstudy.runtime import devices

LOGS_PREFIX = "rnnstudy-workers-"  # then the driver's pid: a folder whose driver is gone is swept


def _stderr_folder() -> Path:
    """A new folder for this driver's workers' stderr files, after removing those of drivers
    that are gone: a driver killed with SIGKILL cannot remove its own."""
    for folder in Path(tempfile.gettempdir()).glob(f"{LOGS_PREFIX}*-*"):
        pid = folder.name.removeprefix(LOGS_PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{LOGS_PREFIX}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class Pool:
    """Worker processes, and one pipe to each: the worker's messages one way, the driver's
    orders the other. A pipe per worker, not a queue for all: a queue's writers share a lock,
    which a worker killed while it writes (kill -9, out of memory) holds for ever, and every
    other worker then blocks on its next message."""

    def __init__(
        self,
        config: worker.WorkerConfig,
        gpus: Sequence[devices.Gpu] = (),
        backend: str = "tensorflow",
        searched: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """``config`` is every worker's; each gets its GPU of ``gpus`` (none: the CPU) added to
        its ``env``, with the memory settings of Keras' ``backend`` (``auto``: any it may be).
        In a study that compares backends, each worker runs one of ``searched``, with that
        backend's environment (rnnstudy.runtime.backend.env)."""
        self.config = config
        self.gpus = list(gpus)
        self.backend = backend
        self.searched = dict(searched or {})  # the backends a study compares, and their env
        self.backends: dict[int, str | None] = {}  # pid -> the backend it was started for
        self.placed: dict[int, devices.Gpu | None] = {}  # pid -> its GPU
        self._context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
        self.procs: dict[int, Any] = {}  # pid -> process
        self._pipes: dict[int, Any] = {}  # pid -> the driver's end of its pipe
        self._ended_pipes: set = set()  # pipes whose worker closed them (it is ending)
        self._waiting: list[int] = []  # started, not told to go yet
        self._go: dict[str, str] | None = None  # the study's MLflow ids, once the driver has them
        self._logs = _stderr_folder()  # each worker's stderr
        self._stderr: dict[int, Path] = {}  # pid -> its stderr file
        self._shown: dict[Path, int] = {}  # bytes of each file copied to the driver's stderr
        self._started = 0

    def start(self, backend: str | None = None) -> None:
        """Start a worker: at work at once after :meth:`go`, else ready and waiting for it.
        ``backend``: in a study that searches it, the one this worker runs (and claims); by
        default the one fewest workers run."""
        if backend is None and self.searched:
            running = list(self.backends.values())
            backend = min(self.searched, key=running.count)
        gpu, config = self.next_worker(list(self.placed.values()), backend)
        self._started += 1
        log = self._logs / f"worker-{self._started}.stderr"
        config = replace(config, stderr_path=str(log))
        mine, theirs = self._context.Pipe(duplex=True)
        proc = self._context.Process(target=worker.main, args=(config, theirs))
        with _main_hidden():
            proc.start()
        theirs.close()  # the worker's end: closed here, so its death reads as the pipe's end
        self._stderr[proc.pid] = log
        self.procs[proc.pid] = proc
        self.placed[proc.pid] = gpu
        self.backends[proc.pid] = backend
        self._pipes[proc.pid] = mine
        if self._go is None:
            self._waiting.append(proc.pid)
        else:
            self.send(proc.pid, self._go)

    def next_worker(
        self, in_use: Sequence[devices.Gpu | None], backend: str | None = None
    ) -> tuple[devices.Gpu | None, worker.WorkerConfig]:
        """The GPU and config of a worker started beside workers on ``in_use``: the least
        loaded GPU (round-robin from none), its variables over the shared ``env``; with
        ``backend``, that backend's variables too."""
        gpu = devices.least_loaded(self.gpus, in_use)
        config = self.config
        if backend is not None:
            config = replace(config, env={**config.env, **self.searched[backend]}, backend=backend)
        placed = devices.worker_env(gpu, backend or self.backend)
        return gpu, replace(config, env={**config.env, **placed}) if placed else config

    def go(self, go: dict[str, str], count: int) -> None:
        """Have ``count`` workers at work with ``go``: the waiting ones first, new ones if too
        few wait; kill the waiting ones left over."""
        self._go = go
        for pid in self._waiting[:count]:
            self.send(pid, go)
        for _ in range(count - len(self._waiting)):
            self.start()
        self._waiting = self._waiting[count:]
        self.dismiss()

    def send(self, pid: int, order) -> None:
        """Send worker ``pid`` an order (an Assignment, or None: nothing left). A worker that
        died meanwhile is reaped as a dead worker, whatever it held ended then."""
        with contextlib.suppress(OSError):  # it died: reaped as a dead worker
            self._pipes[pid].send(order)

    def show_stderr(self, out=None) -> None:
        """Copy what the workers wrote to standard error since the last call to ``out``."""
        out = out or sys.stderr
        for log in self._stderr.values():
            text = self._unread(log)
            if text:
                out.write(text)
                out.flush()

    def last_words(self, pid: int, lines: int = 5) -> str:
        """The last lines worker ``pid`` wrote to standard error (it may have ended)."""
        log = self._stderr.get(pid)
        if log is None or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").strip().splitlines()[-lines:])

    def _unread(self, log: Path) -> str:
        try:
            with log.open("rb") as file:
                file.seek(self._shown.get(log, 0))
                data = file.read()
        except FileNotFoundError:
            return ""
        self._shown[log] = self._shown.get(log, 0) + len(data)
        return data.decode(errors="replace")

    def dismiss(self) -> None:
        """Kill the workers still waiting: nothing of theirs is written before the go."""
        for pid in self._waiting:
            self.procs[pid].kill()
            self.procs[pid].join()
            self.remove(self.procs[pid])
        self._waiting = []

    def close(self) -> None:
        """End the pool: kill what still runs, close every pipe, remove the stderr files."""
        self._waiting = []  # killed below with the rest
        for proc in list(self.procs.values()):
            proc.kill()
            proc.join()
            self.remove(proc)
        self.show_stderr()
        shutil.rmtree(self._logs, ignore_errors=True)

    def messages(self, timeout: float) -> Iterator:
        """The workers' messages: waits up to ``timeout`` for the first, then takes what is there.
        A pipe that ends (its worker exited or died, maybe halfway through a message) is
        left; the worker's end is judged by :meth:`ended`."""
        ready = wait(self._open_pipes(), timeout)
        while ready:
            for pipe in ready:
                try:
                    yield pipe.recv()
                except (EOFError, OSError, pickle.UnpicklingError):
                    self._ended_pipes.add(pipe)
            ready = wait(self._open_pipes(), 0)

    def _open_pipes(self) -> list:
        return [pipe for pipe in self._pipes.values() if pipe not in self._ended_pipes]

    def ended(self, exiting: set[int]) -> list:
        """The workers that have ended (or said they exit), joined and forgotten."""
        done = [p for p in self.procs.values() if p.pid in exiting or not p.is_alive()]
        for proc in done:
            proc.join()
            self.remove(proc)
        return done

    def interrupt(self) -> None:
        """Ask every worker to stop: each ends its running trial INTERRUPTED."""
        for proc in self.procs.values():
            if proc.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGINT)

    def stop(self, seconds: float) -> None:
        """Interrupt every worker (Ctrl-C may have reached only the driver), give them
        ``seconds`` to end their trials, and kill those still running."""
        self.interrupt()
        for proc in list(self.procs.values()):
            proc.join(timeout=seconds)
            if proc.is_alive():
                proc.kill()
                proc.join()
            self.remove(proc)

    def remove(self, proc) -> None:
        """Forget a worker that has ended (its stderr file stays until the pool closes)."""
        del self.procs[proc.pid]
        self.placed.pop(proc.pid, None)
        self.backends.pop(proc.pid, None)
        pipe = self._pipes.pop(proc.pid)
        self._ended_pipes.discard(pipe)
        pipe.close()


@contextlib.contextmanager
def _main_hidden():
    """While a process is spawned: a bare ``__main__``, so that the child does not import the
    user's main module (multiprocessing's spawn re-imports it by path or by module name, which
    runs a script's top level again in every worker; a worker needs none of it)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main
