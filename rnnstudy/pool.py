"""The worker processes of one ``rnnstudy optimize``: started early, sent to work later.

A worker spends seconds importing TensorFlow, Optuna and MLflow before it can run a trial,
and the driver spends as long checking the study. So the driver starts its workers first;
each gets ready, then waits for the go: the study's MLflow ids once the driver has checked
the study and set it up. Workers it turns out not to need (the check failed, or fewer trials
are left than workers) are killed before they have written anything.

On a machine with GPUs each worker trains on one of them (rnnstudy.devices): a worker
started later, to replace one that was recycled or died, goes to the GPU fewest of the
running workers hold.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_module
import signal
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from rnnstudy import devices, worker


class Pool:
    """Worker processes, the order pipe of each, and the one queue they all report on."""

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
        backend's environment (rnnstudy.backend.env)."""
        self.config = config
        self.gpus = list(gpus)
        self.backend = backend
        self.searched = dict(searched or {})  # the backends a study compares, and their env
        self.backends: dict[int, str | None] = {}  # pid -> the backend it was started for
        self.placed: dict[int, devices.Gpu | None] = {}  # pid -> its GPU
        self._context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
        self.events = self._context.Queue()
        self.procs: dict[int, Any] = {}  # pid -> process
        self._orders: dict[int, Any] = {}  # pid -> the sending end of its order pipe
        self._waiting: list[int] = []  # started, not told to go yet
        self._go: dict[str, str] | None = None  # the study's MLflow ids, once the driver has them

    def start(self, backend: str | None = None) -> None:
        """Start a worker: at work at once after :meth:`go`, else ready and waiting for it.
        ``backend``: in a study that searches it, the one this worker runs (and claims); by
        default the one fewest workers run."""
        if backend is None and self.searched:
            running = list(self.backends.values())
            backend = min(self.searched, key=running.count)
        gpu, config = self.next_worker(list(self.placed.values()), backend)
        receive, send = self._context.Pipe(duplex=False)
        proc = self._context.Process(target=worker.main, args=(config, self.events, receive))
        proc.start()
        receive.close()  # the worker's end
        self.procs[proc.pid] = proc
        self.placed[proc.pid] = gpu
        self.backends[proc.pid] = backend
        self._orders[proc.pid] = send
        if self._go is None:
            self._waiting.append(proc.pid)
        else:
            send.send(self._go)

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
            with contextlib.suppress(OSError):  # it died getting ready: reaped as a dead worker
                self._orders[pid].send(go)
        for _ in range(count - len(self._waiting)):
            self.start()
        self._waiting = self._waiting[count:]
        self.dismiss()

    def dismiss(self) -> None:
        """Kill the workers still waiting: nothing of theirs is written before the go."""
        for pid in self._waiting:
            self.procs[pid].kill()
            self.procs[pid].join()
            self.remove(self.procs[pid])
        self._waiting = []

    def close(self) -> None:
        """End the pool: kill what still runs, free the event queue's semaphores now. The CLI
        ends with ``os._exit``, which runs no finalizers: a queue left to them is reported
        as leaked at exit."""
        self._waiting = []  # killed below with the rest
        for proc in list(self.procs.values()):
            proc.kill()
            proc.join()
            self.remove(proc)
        self.events.close()
        self.events = None  # the last reference: its locks unlink their semaphores

    def messages(self, timeout: float) -> Iterator:
        """The workers' messages: waits up to ``timeout`` for the first, then takes what is there."""
        try:
            message = self.events.get(timeout=timeout)
            while True:
                yield message
                message = self.events.get_nowait()
        except queue_module.Empty:
            return

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
        """Forget a worker that has ended."""
        del self.procs[proc.pid]
        self.placed.pop(proc.pid, None)
        self.backends.pop(proc.pid, None)
        self._orders.pop(proc.pid).close()
