"""The extractor worker: pull image events for one or more extractors, publish results.

One ``ExtractorWorker`` per extractor binds to the durable consumer ``ex-<name>``; several
processes (replicas) bound to the same consumer split the work. Extractor code runs in a
thread pool so the event loop keeps acking, heart-beating and fetching.

Ordering of side effects per message: run -> publish result (JetStream, persisted) -> ack.
A crash between publish and ack redelivers; the gateway ignores the duplicate result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
import time
from typing import Any

import msgspec
from aiohttp import web
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, NoServersError
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry

from stylestream.config import IMAGES_STREAM, RESULTS_SUBJECT_PREFIX, Settings
from stylestream.errors import (
    BadMessage,
    ExtractorError,
    PublishFailed,
    StylestreamError,
)
from stylestream.extractors import CATALOG, ExtractFn, ExtractorSpec, prepare
from stylestream.extractors.image import decode
from stylestream.schemas import (
    ErrorInfo,
    ExtractorResult,
    ImageEvent,
    decode_event,
    encode_result,
    results_subject,
)

from .connection import close_connection, connect
from .dispositions import settle
from .metrics import WorkerMetrics, metrics_app
from .topology import consumer_name, ensure_topology

log = logging.getLogger("stylestream.worker")

PUBLISH_TIMEOUT_S = 5.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_extractor(fn: ExtractFn, event: ImageEvent, max_pixels: int) -> dict[str, Any]:
    """Decode the event's image and run one extractor on it (called in a worker thread)."""
    image, ctx = prepare(
        decode(event.image, max_pixels=max_pixels),
        request_id=event.request_id, scale=event.scale, source_format=event.image_format,
    )
    return fn(image, ctx)


class ExtractorWorker:
    """Serves one extractor from its durable consumer."""

    def __init__(
        self,
        js: JetStreamContext,
        spec: ExtractorSpec,
        settings: Settings,
        *,
        concurrency: int = 1,
        ident: str | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.js = js
        self.metrics = metrics or WorkerMetrics(CollectorRegistry())
        self.spec = spec
        self.settings = settings
        self.concurrency = max(1, concurrency)
        self.ident = ident or worker_id()
        self._fn: ExtractFn | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix=f"ex-{spec.name}"
        )
        self._slots = asyncio.Semaphore(self.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.processed = 0

    def load(self) -> None:
        """Import the extractor (and its models) once, before taking work."""
        self._fn = self.spec.load()

    async def run(self, stop: asyncio.Event) -> None:
        if self._fn is None:
            self.load()
        sub = await self.js.pull_subscribe_bind(
            durable=consumer_name(self.spec.name), stream=IMAGES_STREAM
        )
        log.info("worker %s serving %s", self.ident, self.spec.name)
        try:
            while not stop.is_set():
                await self._slots.acquire()
                if stop.is_set():
                    self._slots.release()
                    break
                try:
                    msgs = await sub.fetch(1, timeout=self.settings.fetch_wait_s)
                except (TimeoutError, NatsTimeoutError):
                    self._slots.release()
                    continue
                except (ConnectionClosedError, NoServersError):
                    self._slots.release()
                    break
                for msg in msgs:
                    task = asyncio.create_task(self._handle(msg))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(NatsError):  # connection already closing
                await sub.unsubscribe()
            self._pool.shutdown(wait=True)

    async def _handle(self, msg: Msg) -> None:
        name = self.spec.name
        self.metrics.inflight.labels(name).inc()
        try:
            outcome = await self._process(msg)
        finally:
            self.metrics.inflight.labels(name).dec()
            self._slots.release()
        self.metrics.messages.labels(name, outcome).inc()

    async def _process(self, msg: Msg) -> str:
        """Handle one message; returns the outcome label for metrics."""
        try:
            event = decode_event(msg.data)
        except msgspec.DecodeError as exc:  # ValidationError is a subclass
            log.warning("terminating undecodable event on %s: %s", msg.subject, exc)
            await settle(msg, BadMessage(str(exc)))
            return "termed"
        if self.spec.name not in event.extractors:
            await settle(msg)
            return "skipped"
        if event.deadline and time.time() > event.deadline:
            log.info("skipping expired event %s", event.request_id)
            await settle(msg)
            return "expired"

        attempt = msg.metadata.num_delivered or 1
        if attempt > 1:
            self.metrics.redeliveries.labels(self.spec.name).inc()
        started = time.perf_counter()
        error: StylestreamError | None = None
        tokens: dict[str, Any] = {}
        try:
            tokens = await self._run_with_heartbeat(msg, event)
        except StylestreamError as exc:
            error = exc
        except Exception as exc:  # an extractor bug must not take the worker down
            log.exception("extractor %s failed on %s", self.spec.name, event.request_id)
            error = ExtractorError(f"{type(exc).__name__}: {exc}")
        duration_ms = (time.perf_counter() - started) * 1000.0
        self.metrics.processing.labels(self.spec.name).observe(duration_ms / 1000.0)

        result = ExtractorResult(
            request_id=event.request_id,
            extractor=self.spec.name,
            ok=error is None,
            tokens=tokens,
            error=None if error is None else ErrorInfo(error.code, error.message),
            duration_ms=round(duration_ms, 3),
            worker=self.ident,
            attempt=attempt,
        )
        try:
            await self.js.publish(
                results_subject(RESULTS_SUBJECT_PREFIX, event.request_id, self.spec.name),
                encode_result(result),
                timeout=PUBLISH_TIMEOUT_S,
                headers={"Nats-Msg-Id": f"{event.request_id}.{self.spec.name}"},
            )
        except (TimeoutError, NatsTimeoutError, ConnectionClosedError) as exc:
            log.warning("result publish failed for %s: %s", event.request_id, exc)
            await settle(msg, PublishFailed(str(exc)))
            return "retried"
        self.processed += 1
        await settle(msg, error)
        return "ok" if error is None else error.code

    async def _run_with_heartbeat(self, msg: Msg, event: ImageEvent) -> dict[str, Any]:
        assert self._fn is not None
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self._pool, run_extractor, self._fn, event, self.settings.max_image_pixels
        )
        interval = max(self.settings.ack_wait_s / 3.0, 0.05)
        while True:
            done, _ = await asyncio.wait({future}, timeout=interval)
            if done:
                return future.result()
            # Long work (models): tell JetStream we are alive so it is not redelivered.
            await msg.in_progress()


async def poll_consumers(js: JetStreamContext, names: list[str], metrics: WorkerMetrics,
                         interval_s: float) -> None:
    """Export each served consumer's backlog (num_pending, num_ack_pending)."""
    while True:
        for name in names:
            try:
                info = await js.consumer_info(IMAGES_STREAM, consumer_name(name), timeout=2)
            except (NatsError, TimeoutError):
                continue
            metrics.pending.labels(consumer_name(name)).set(info.num_pending or 0)
            metrics.ack_pending.labels(consumer_name(name)).set(info.num_ack_pending or 0)
        await asyncio.sleep(interval_s)  # periodic export, not a wait


async def run_workers(
    names: list[str], settings: Settings, *, concurrency: int, stop: asyncio.Event,
    metrics_port: int | None = None, metrics_host: str = "127.0.0.1",
) -> None:
    """Connect, ensure topology, serve the named extractors until ``stop`` is set.

    With ``metrics_port`` (0 = any free port) the worker serves /metrics and prints
    ``metrics: http://host:port/metrics`` on stdout once listening.
    """
    specs = [CATALOG[n] for n in names]
    metrics = WorkerMetrics(CollectorRegistry())
    runner: web.AppRunner | None = None
    if metrics_port is not None:
        runner = web.AppRunner(metrics_app(metrics), handle_signals=False, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, metrics_host, metrics_port).start()
        host, port = runner.addresses[0][:2]
        print(f"metrics: http://{host}:{port}/metrics", flush=True)
    nc = await connect(settings.nats_url, f"stylestream-worker-{'+'.join(names)}")
    poller: asyncio.Task[None] | None = None
    try:
        js = nc.jetstream()
        await ensure_topology(js, names, settings)
        workers = [ExtractorWorker(js, s, settings, concurrency=concurrency, metrics=metrics)
                   for s in specs]
        for w in workers:
            w.load()
        poller = asyncio.create_task(
            poll_consumers(js, names, metrics, settings.liveness_interval_s * 5))
        await asyncio.gather(*(w.run(stop) for w in workers))
    finally:
        if poller is not None:
            poller.cancel()
        await close_connection(nc)
        if runner is not None:
            await runner.cleanup()
