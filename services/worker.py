"""The extractor worker: pull image events for one or more extractors, publish results.

One ``ExtractorWorker`` per extractor binds to the durable consumer ``ex-<name>``; several
processes (replicas) bound to the same consumer split the work. Extractor code runs in a
thread pool so the event loop keeps acking, heart-beating and fetching.

A ``Runner`` turns a batch of events into per-event outcomes: pure functions run one image
at a time; loaded extractors (models) take a micro-batch — the first event, then whatever
else arrives within a short window, up to ``max_batch`` — in one forward pass.

Ordering of side effects per message: run -> publish result (JetStream, persisted) -> ack.
A crash between publish and ack redelivers; the gateway ignores the duplicate result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import Any, Protocol

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
    ModelUnavailable,
    PublishFailed,
    StylestreamError,
)
from stylestream.extractors import (
    CATALOG,
    ExtractContext,
    ExtractFn,
    ExtractorSpec,
    LoadedExtractor,
    ModelOptions,
    prepare,
)
from stylestream.extractors.image import decode
from stylestream.schemas import (
    ErrorInfo,
    ExtractorResult,
    ImageEvent,
    decode_event,
    encode_result,
    results_subject,
)
from stylestream.schemas.bus import ExtractorStatus

from .connection import close_connection, connect
from .dispositions import settle
from .metrics import WorkerMetrics, metrics_app
from .status import put_status, status_bucket
from .topology import consumer_name, ensure_topology

log = logging.getLogger("stylestream.worker")

PUBLISH_TIMEOUT_S = 5.0

#: per event: (tokens, or the error that replaces them; USD spent either way)
Outcome = tuple[dict[str, Any] | StylestreamError, float]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _as_error(exc: Exception, what: str) -> StylestreamError:
    if isinstance(exc, StylestreamError):
        return exc
    log.exception("%s failed", what)  # an extractor bug must not take the worker down
    return ExtractorError(f"{type(exc).__name__}: {exc}")


def _prepared(event: ImageEvent, max_pixels: int):
    return prepare(
        decode(event.image, max_pixels=max_pixels),
        request_id=event.request_id, scale=event.scale, source_format=event.image_format,
        budget_usd=event.budget_usd,
    )


class Runner(Protocol):
    max_batch: int
    description: str

    def run(self, events: Sequence[ImageEvent]) -> list[Outcome]: ...


@dataclasses.dataclass
class FunctionRunner:
    """A pure extractor, one image at a time."""

    fn: ExtractFn
    max_pixels: int
    max_batch: int = 1
    description: str = "function"

    def run(self, events: Sequence[ImageEvent]) -> list[Outcome]:
        out: list[Outcome] = []
        for event in events:
            ctx = None
            try:
                image, ctx = _prepared(event, self.max_pixels)
                out.append((self.fn(image, ctx), ctx.meter.cost_usd))
            except Exception as exc:
                spent = ctx.meter.cost_usd if ctx is not None else 0.0
                out.append((_as_error(exc, f"extractor on {event.request_id}"), spent))
        return out


@dataclasses.dataclass
class LoadedRunner:
    """A loaded extractor (model, LLM client): the whole batch in one call."""

    model: LoadedExtractor
    max_pixels: int
    max_batch: int

    @property
    def description(self) -> str:
        return self.model.description

    def run(self, events: Sequence[ImageEvent]) -> list[Outcome]:
        out: list[Outcome | None] = [None] * len(events)
        ready: list[tuple[int, Any, ExtractContext]] = []
        for i, event in enumerate(events):
            try:
                image, ctx = _prepared(event, self.max_pixels)
                ready.append((i, image, ctx))
            except Exception as exc:
                out[i] = (_as_error(exc, f"decode of {event.request_id}"), 0.0)
        if ready:
            try:
                tokens = self.model.extract_batch([r[1] for r in ready], [r[2] for r in ready])
                if len(tokens) != len(ready):
                    raise ExtractorError(f"model returned {len(tokens)} results for {len(ready)}")
                for (i, _, ctx), group in zip(ready, tokens, strict=True):
                    out[i] = (group, ctx.meter.cost_usd)
            except Exception as exc:
                error = _as_error(exc, "model batch")
                for i, _, ctx in ready:
                    out[i] = (error, ctx.meter.cost_usd)  # money spent on a failed call counts
        return out  # type: ignore[return-value]


@dataclasses.dataclass
class UnavailableRunner:
    """The extractor could not load: answer every event at once with why."""

    error: StylestreamError
    max_batch: int = 16
    description: str = "unavailable"

    def run(self, events: Sequence[ImageEvent]) -> list[Outcome]:
        return [(self.error, 0.0) for _ in events]


def build_runner(spec: ExtractorSpec, settings: Settings, options: ModelOptions) -> Runner:
    """Load the extractor once. A loaded extractor that cannot load is not fatal: the worker
    still serves, answering with the reason (MODEL_UNAVAILABLE, LLM_UNAVAILABLE, …)."""
    if spec.kind != "loaded":
        return FunctionRunner(spec.load(), settings.max_image_pixels)
    try:
        model = spec.load()(options)  # type: ignore[call-arg, arg-type]
    except StylestreamError as exc:
        log.warning("%s unavailable: %s: %s", spec.name, exc.code, exc.message)
        return UnavailableRunner(exc)
    except Exception as exc:  # a broken checkpoint can raise anything
        log.exception("%s failed to load", spec.name)
        return UnavailableRunner(ModelUnavailable(f"{spec.name} failed to load: {exc}"))
    max_batch = max(1, min(spec.max_batch, settings.max_batch)) if spec.max_batch > 1 else 1
    log.info("%s loaded: %s (max batch %d)", spec.name, model.description, max_batch)
    return LoadedRunner(model, settings.max_image_pixels, max_batch)


class ExtractorWorker:
    """Serves one extractor from its durable consumer."""

    def __init__(
        self,
        js: JetStreamContext,
        spec: ExtractorSpec,
        settings: Settings,
        runner: Runner,
        *,
        concurrency: int = 1,
        ident: str | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.js = js
        self.spec = spec
        self.settings = settings
        self.runner = runner
        self.concurrency = max(1, concurrency)
        self.ident = ident or worker_id()
        self.metrics = metrics or WorkerMetrics(CollectorRegistry())
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix=f"ex-{spec.name}"
        )
        self._slots = asyncio.Semaphore(self.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.ack_wait_s = settings.ack_wait_s

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self.js.pull_subscribe_bind(
            durable=consumer_name(self.spec.name), stream=IMAGES_STREAM
        )
        # heartbeat by the consumer's real AckWait: whoever created it set it, not us
        info = await self.js.consumer_info(IMAGES_STREAM, consumer_name(self.spec.name))
        self.ack_wait_s = info.config.ack_wait or self.settings.ack_wait_s
        log.info("worker %s serving %s (%s)", self.ident, self.spec.name, self.runner.description)
        try:
            while not stop.is_set():
                await self._slots.acquire()
                if stop.is_set():
                    self._slots.release()
                    break
                try:
                    msgs = await self._gather(sub)
                except (ConnectionClosedError, NoServersError):
                    self._slots.release()
                    break
                if not msgs:
                    self._slots.release()
                    continue
                task = asyncio.create_task(self._handle(msgs))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(NatsError):  # connection already closing
                await sub.unsubscribe()
            self._pool.shutdown(wait=True)

    async def _gather(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Wait for one message; for batching runners, take what else arrives within the
        window, up to max_batch (one forward pass for several requests)."""
        try:
            msgs = await sub.fetch(1, timeout=self.settings.fetch_wait_s)
        except (TimeoutError, NatsTimeoutError):
            return []
        limit = self.runner.max_batch
        deadline = time.monotonic() + self.settings.batch_window_s
        while len(msgs) < limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0.001:
                break
            try:
                msgs += await sub.fetch(limit - len(msgs), timeout=remaining)
            except (TimeoutError, NatsTimeoutError):
                break
        return msgs

    async def _handle(self, msgs: list[Msg]) -> None:
        name = self.spec.name
        self.metrics.inflight.labels(name).inc(len(msgs))
        try:
            outcomes = await self._process(msgs)
        finally:
            self.metrics.inflight.labels(name).dec(len(msgs))
            self._slots.release()
        for outcome in outcomes:
            self.metrics.messages.labels(name, outcome).inc()

    async def _admit(self, msg: Msg) -> ImageEvent | str:
        """The event to work on, or the outcome label of a message settled right here."""
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
        if (msg.metadata.num_delivered or 1) > 1:
            self.metrics.redeliveries.labels(self.spec.name).inc()
        return event

    async def _process(self, msgs: list[Msg]) -> list[str]:
        labels: list[str] = []
        work: list[tuple[Msg, ImageEvent]] = []
        for msg in msgs:
            admitted = await self._admit(msg)
            if isinstance(admitted, str):
                labels.append(admitted)
            else:
                work.append((msg, admitted))
        if not work:
            return labels
        if self.runner.max_batch > 1:
            self.metrics.batch_size.labels(self.spec.name).observe(len(work))
        started = time.perf_counter()
        outcomes = await self._run_with_heartbeat(work)
        duration_ms = (time.perf_counter() - started) * 1000.0
        self.metrics.processing.labels(self.spec.name).observe(duration_ms / 1000.0)
        for (msg, event), outcome in zip(work, outcomes, strict=True):
            labels.append(await self._publish(msg, event, outcome, duration_ms))
        return labels

    async def _publish(self, msg: Msg, event: ImageEvent, outcome: Outcome,
                       duration_ms: float) -> str:
        value, cost = outcome
        error = value if isinstance(value, StylestreamError) else None
        tokens = value if error is None else {}
        result = ExtractorResult(
            request_id=event.request_id,
            extractor=self.spec.name,
            ok=error is None,
            tokens=tokens,
            error=None if error is None else ErrorInfo(error.code, error.message),
            duration_ms=round(duration_ms, 3),
            cost=round(cost, 8),
            worker=self.ident,
            attempt=msg.metadata.num_delivered or 1,
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
        await settle(msg, error)
        return "ok" if error is None else error.code

    async def _run_with_heartbeat(self, work: list[tuple[Msg, ImageEvent]]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self.runner.run, [e for _, e in work])
        interval = max(self.ack_wait_s / 3.0, 0.05)
        while True:
            done, _ = await asyncio.wait({future}, timeout=interval)
            if done:
                return future.result()
            # long work (models): tell JetStream we are alive so it is not redelivered
            for msg, _ in work:
                await msg.in_progress()


async def poll_consumers(js: JetStreamContext, names: list[str], metrics: WorkerMetrics,
                         interval_s: float, stop: asyncio.Event) -> None:
    """Export each served consumer's backlog (num_pending, num_ack_pending) until ``stop``."""
    while not stop.is_set():
        for name in names:
            try:
                info = await js.consumer_info(IMAGES_STREAM, consumer_name(name), timeout=2)
            except (NatsError, TimeoutError):
                continue
            metrics.pending.labels(consumer_name(name)).set(info.num_pending or 0)
            metrics.ack_pending.labels(consumer_name(name)).set(info.num_ack_pending or 0)
        with contextlib.suppress(TimeoutError):  # the period between exports
            await asyncio.wait_for(stop.wait(), interval_s)


async def run_workers(
    names: list[str], settings: Settings, *, concurrency: int, stop: asyncio.Event,
    metrics_port: int | None = None, metrics_host: str = "127.0.0.1",
) -> None:
    """Connect, ensure topology, serve the named extractors until ``stop`` is set.

    Loaded extractors (models) load before the worker takes work; one that cannot load is
    announced as unavailable in the status bucket and answered with its reason.
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
    options = settings.model_options()
    runners = {s.name: build_runner(s, settings, options) for s in specs}
    nc = await connect(settings.nats_url, f"stylestream-worker-{'+'.join(names)}")
    poller: asyncio.Task[None] | None = None
    # its own stop event: a cancel() landing as a nats-py request completes can be lost
    polling = asyncio.Event()
    try:
        js = nc.jetstream()
        await ensure_topology(js, names, settings)
        kv = await status_bucket(js)
        ident = worker_id()
        for spec in specs:
            r = runners[spec.name]
            error = r.error if isinstance(r, UnavailableRunner) else None
            await put_status(kv, ExtractorStatus(
                extractor=spec.name, available=error is None, description=r.description,
                error=None if error is None else ErrorInfo(error.code, error.message),
                worker=ident,
            ))
        workers = [ExtractorWorker(js, s, settings, runners[s.name], ident=ident,
                                   concurrency=concurrency, metrics=metrics) for s in specs]
        poller = asyncio.create_task(
            poll_consumers(js, names, metrics, settings.liveness_interval_s * 5, polling))
        await asyncio.gather(*(w.run(stop) for w in workers))
    finally:
        polling.set()
        if poller is not None:
            await poller
        await close_connection(nc)
        if runner is not None:
            await runner.cleanup()
