"""The whole stack in one process tree: embedded nats-server, one worker process per
extractor, and the gateway in this process. Used by `serve`, `extract` (no --gateway),
the benchmark and the tests, so they all run the same real parts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence

from aiohttp import web
from prometheus_client import CollectorRegistry

from stylestream.config import Settings
from stylestream.extractors import CATALOG

from .embedded import EmbeddedNats, die_with_parent

log = logging.getLogger("stylestream.stack")

STOP_GRACE_S = 10.0


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(
        self,
        settings: Settings,
        *,
        embedded_nats: bool = True,
        data_dir: str | None = None,
        workers: Sequence[str] | None = None,
        replicas: Mapping[str, int] | None = None,
        concurrency: int | None = None,
        registry: CollectorRegistry | None = None,
        ready_timeout_s: float = 60.0,
        worker_env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.embedded_nats = embedded_nats
        self.data_dir = data_dir
        self.workers = list(workers if workers is not None else CATALOG)
        self.replicas = dict(replicas or {})
        self.concurrency = concurrency or settings.worker_concurrency
        self.registry = registry if registry is not None else CollectorRegistry()
        self.ready_timeout_s = ready_timeout_s
        self.worker_env = dict(worker_env or {})
        self.nats: EmbeddedNats | None = None
        self.procs: list[asyncio.subprocess.Process] = []
        #: each worker process's /metrics URL, as it announced it
        self.worker_metrics: list[str] = []
        self._readers: list[asyncio.Task[None]] = []
        self.runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self.url = ""

    @property
    def nats_url(self) -> str:
        return self.settings.nats_url

    async def start(self) -> Stack:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def _start(self) -> None:
        from stylestream.gateway.app import (  # the edge is optional for workers
            BUS,
            create_app,
        )

        if self.embedded_nats:
            self.nats = EmbeddedNats(self.data_dir)
            url = self.nats.start()
            self.settings = dataclasses.replace(self.settings, nats_url=url)
        # the gateway serves exactly the extractors this stack runs workers for
        catalog = {name: CATALOG[name] for name in self.workers}
        self.app = create_app(self.settings, registry=self.registry, catalog=catalog)
        self.runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self.runner.setup()  # connects to NATS and creates streams + consumers
        site = web.TCPSite(self.runner, self.settings.host, self.settings.port)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        # one process per extractor, except groups (the model worker hosts depth + style)
        processes = list(dict.fromkeys(CATALOG[n].process_group for n in self.workers))
        for name in processes:
            for _ in range(self.replicas.get(name, 1)):
                self.procs.append(await self._spawn_worker(name))
        bus = self.app[BUS]
        ready = asyncio.create_task(bus.wait_all_live(self.ready_timeout_s))
        exited = [asyncio.create_task(p.wait()) for p in self.procs]
        done, _ = await asyncio.wait({ready, *exited}, return_when=asyncio.FIRST_COMPLETED)
        for task in exited:
            task.cancel()
        if ready not in done:
            ready.cancel()
            codes = [p.returncode for p in self.procs]
            raise StackError(f"a worker exited during start-up (exit codes {codes})")
        if not ready.result():
            raise StackError(f"workers not live after {self.ready_timeout_s:g}s: {bus.liveness()}")

    async def _spawn_worker(self, name: str) -> asyncio.subprocess.Process:
        env = {**os.environ, **self.worker_env}
        if self.settings.plugins:
            env["STYLESTREAM_PLUGINS"] = ",".join(self.settings.plugins)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "stylestream.cli", "worker", name,
            "--nats", self.settings.nats_url, "--concurrency", str(self.concurrency),
            "--metrics-port", "0",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            preexec_fn=die_with_parent,
        )
        self._readers.append(asyncio.create_task(self._read_stdout(proc)))
        return proc

    async def _read_stdout(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            if line.startswith("metrics: "):
                self.worker_metrics.append(line.removeprefix("metrics: "))
            elif line:
                print(line, flush=True)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
            except TimeoutError:
                log.warning("worker %s did not stop in %ss; killing", proc.pid, STOP_GRACE_S)
                proc.kill()
                await proc.wait()
        self.procs.clear()
        for reader in self._readers:
            await reader  # EOF once the process exited
        self._readers.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None

    async def __aenter__(self) -> Stack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
