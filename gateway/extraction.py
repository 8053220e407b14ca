"""One extraction request, from accepted image to ``complete`` — transport-agnostic.

The WebSocket and NDJSON handlers both build an ``Extraction`` and hand it an ``emit``
coroutine; this module owns the protocol: which messages, in which order, with which
metadata. Atomic mode publishes one event for every extractor and forwards each result the
moment it arrives; tier mode publishes tier by tier and sends one merged message per tier.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
from nats.aio.msg import Msg

from stylestream.config import Settings
from stylestream.errors import (
    BadParameter,
    ExtractorTimeout,
    UnknownExtractor,
)
from stylestream.extractors import ExtractorSpec
from stylestream.extractors.image import ImageInfo
from stylestream.schemas import (
    ErrorInfo,
    ExtractorResult,
    ImageEvent,
    Metadata,
    RequestRecord,
    StreamMessage,
    decode_result,
    deep_merge,
)
from stylestream.schemas.bus import Mode

from .bus import GatewayBus
from .metrics import GatewayMetrics

Emit = Callable[[StreamMessage], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ExtractionRequest:
    image: bytes
    info: ImageInfo
    extractors: list[str]
    mode: Mode
    scale: float | None = None
    budget_usd: float | None = None
    #: the client named the extractors; otherwise unavailable ones are skipped, not failed
    explicit: bool = True


@dataclass(frozen=True, slots=True)
class RequestParams:
    extractors: list[str]
    mode: Mode
    scale: float | None
    budget_usd: float | None = None
    explicit: bool = True


def parse_params(
    query: Mapping[str, str], catalog: Mapping[str, ExtractorSpec], settings: Settings
) -> RequestParams:
    """Validate ``extractors``, ``mode`` and ``scale`` query parameters."""
    raw = query.get("extractors", "").strip()
    if raw:
        names = list(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
        unknown = [n for n in names if n not in catalog]
        if unknown:
            raise UnknownExtractor(
                f"unknown extractor(s): {', '.join(unknown)}; known: {', '.join(catalog)}"
            )
        if not names:
            raise BadParameter("extractors= is empty")
    else:
        names = list(catalog)
    names.sort(key=lambda n: catalog[n].tier)  # stable: manifest order is by tier

    mode_raw = query.get("mode", "").strip().lower()
    if not mode_raw:
        mode: Mode = "atomic" if settings.atomic_streaming else "tier"
    elif mode_raw in ("atomic", "tier"):
        mode = mode_raw  # type: ignore[assignment]
    else:
        raise BadParameter(f"mode must be atomic or tier, not {mode_raw!r}")

    scale: float | None = None
    if query.get("scale"):
        try:
            scale = float(query["scale"])
        except ValueError:
            raise BadParameter(f"scale must be a number, not {query['scale']!r}") from None
        if not 0 < scale <= 8:
            raise BadParameter("scale must be in (0, 8]")

    budget = settings.request_budget_usd
    if query.get("budget"):
        try:
            budget = float(query["budget"])
        except ValueError:
            raise BadParameter(f"budget must be a number (USD), not {query['budget']!r}") from None
        if budget < 0:
            raise BadParameter("budget must be >= 0")
    return RequestParams(names, mode, scale, budget, explicit=bool(raw))


def new_request_id() -> str:
    # time-ordered prefix (ms, hex) + randomness: sortable in `nats sub` output
    return f"{int(time.time() * 1000):x}{secrets.token_hex(6)}"


@dataclass
class _State:
    t0: float
    completed: int = 0
    cost: float = 0.0
    ttfr_ms: float | None = None
    tokens: dict[str, Any] = field(default_factory=dict)
    elapsed: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def since_accept_ms(self) -> float:
        return round((time.perf_counter() - self.t0) * 1000.0, 3)


class Extraction:
    def __init__(
        self,
        bus: GatewayBus,
        catalog: Mapping[str, ExtractorSpec],
        settings: Settings,
        metrics: GatewayMetrics,
        request: ExtractionRequest,
    ) -> None:
        self.bus = bus
        self.catalog = catalog
        self.settings = settings
        self.metrics = metrics
        self.request = request
        self.request_id = new_request_id()
        self.total = len(request.extractors)
        self._state = _State(t0=0.0)  # set when run() starts

    async def run(self, emit: Emit) -> str:
        """Stream the whole protocol through ``emit``; returns the outcome label.

        Raises ``BusUnavailable`` before anything is emitted if the event cannot be published.
        """
        st = self._state = _State(t0=time.perf_counter())
        reasons = {n: self.bus.unavailable_reason(n) for n in self.request.extractors}
        unavailable = {n: r for n, r in reasons.items() if r is not None}
        if not self.request.explicit:
            # "everything you have": what cannot run is named in `accepted`, not failed
            self.request = replace(self.request, extractors=[
                n for n in self.request.extractors if n not in unavailable])
            self.total = len(self.request.extractors)
        req = self.request
        sent: list[StreamMessage] = []
        client_emit = emit

        async def emit(message: StreamMessage) -> None:
            # keep what was sent for replay; tokens are stored in the results already
            sent.append(StreamMessage(stage=message.stage, metadata=message.metadata))
            await client_emit(message)

        accepted_at = time.time()
        runnable = [n for n in req.extractors if n not in unavailable]
        batches = self._batches(runnable)

        sub, queue = await self.bus.subscribe_results(self.request_id)
        try:
            deadline = accepted_at + self.settings.request_timeout_s
            if batches:
                await self._publish(batches[0][1], accepted_at, deadline, batches[0][0])
            self.metrics.bytes_in.inc(len(req.image))
            await emit(StreamMessage(stage="accepted", metadata=Metadata(
                request_id=self.request_id,
                mode=req.mode,
                extractors=list(req.extractors),
                extractors_total=self.total,
                unavailable=unavailable or None,
            )))
            if req.mode == "atomic":
                for name in req.extractors:
                    if name in unavailable:
                        await self._emit_atomic(
                            emit, name, self._unavailable_result(name, unavailable[name]))
                await self._collect_atomic(emit, queue, set(runnable), deadline)
            else:
                await self._run_tiers(emit, queue, batches, unavailable, accepted_at, deadline)
        finally:
            await sub.unsubscribe()

        outcome = "ok" if not st.failed else ("partial" if len(st.failed) < self.total else "failed")
        total_ms = st.since_accept_ms()
        complete = StreamMessage(stage="complete", tokens=st.tokens, metadata=Metadata(
            request_id=self.request_id,
            mode=req.mode,
            extractors_completed=st.completed,
            extractors_total=self.total,
            is_final=True,
            total_cost=round(st.cost, 6),
            ttfr_ms=st.ttfr_ms,
            total_ms=total_ms,
            elapsed=dict(st.elapsed),
            failed=list(st.failed),
        ))
        # stored before the client hears `complete`, so a replay right after it finds it
        sent.append(StreamMessage(stage="complete", metadata=complete.metadata))
        await self.bus.publish_record(RequestRecord(request_id=self.request_id, messages=sent))
        await client_emit(complete)
        self.metrics.request_duration.labels(req.mode).observe(total_ms / 1000.0)
        self.metrics.requests.labels(req.mode, outcome).inc()
        return outcome

    # --- helpers ---------------------------------------------------------------------------
    def _batches(self, names: list[str]) -> list[tuple[int, list[str]]]:
        """Atomic: one batch of everything. Tier: one batch per tier, lowest first."""
        if not names:
            return []
        if self.request.mode == "atomic":
            return [(0, names)]
        tiers = sorted({self.catalog[n].tier for n in names})
        return [(t, [n for n in names if self.catalog[n].tier == t]) for t in tiers]

    async def _publish(self, names: list[str], accepted_at: float, deadline: float,
                       batch_key: int) -> None:
        req = self.request
        event = ImageEvent(
            request_id=self.request_id,
            extractors=names,
            mode=req.mode,
            image=req.image,
            image_format=req.info.format,
            scale=req.scale,
            budget_usd=req.budget_usd,
            deadline=deadline,
            accepted_at=accepted_at,
        )
        await self.bus.publish_event(event, dedupe_key=f"{self.request_id}.{batch_key}")

    async def _results(self, queue: asyncio.Queue[Msg], pending: set[str], deadline: float):
        """Yield (name, result) as results arrive; then (name, None) for each timed-out one."""
        while pending:
            remaining = deadline - time.time()
            if remaining <= 0:
                break
            try:
                msg = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                break
            try:
                result = decode_result(msg.data)
            except msgspec.DecodeError:
                continue  # not ours to judge; the worker side logs bad publishes
            if result.request_id != self.request_id or result.extractor not in pending:
                continue  # duplicate after redelivery, or a stray
            pending.discard(result.extractor)
            yield result.extractor, result
        for name in sorted(pending, key=self.request.extractors.index):
            yield name, None

    def _record(
        self, name: str, result: ExtractorResult | None
    ) -> tuple[dict[str, Any], ErrorInfo | None, float]:
        """Account one settled extractor; ``None`` means it timed out."""
        st = self._state
        elapsed = st.since_accept_ms()
        st.completed += 1
        st.elapsed[name] = elapsed
        if result is None:
            error: ErrorInfo | None = ErrorInfo(
                ExtractorTimeout.code,
                f"{name} gave no result within {self.settings.request_timeout_s:g}s",
            )
        elif not result.ok:
            error = result.error or ErrorInfo("EXTRACTOR_ERROR", "failed without detail")
        else:
            error = None
        tokens = result.tokens if result is not None and error is None else {}
        if result is not None and result.cost:
            st.cost += result.cost
            self.metrics.cost.inc(result.cost)
        if error is None:
            deep_merge(st.tokens, tokens)
        else:
            st.failed.append(name)
        self.metrics.extractor_latency.labels(name).observe(elapsed / 1000.0)
        self.metrics.extractor_results.labels(name, "ok" if error is None else error.code).inc()
        return tokens, error, elapsed

    def _first_result_sent(self, elapsed_ms: float) -> None:
        """TTFR is the ``elapsed_ms`` of the first message that carried tokens."""
        st = self._state
        if st.ttfr_ms is None:
            st.ttfr_ms = elapsed_ms
            self.metrics.ttfr.labels(self.request.mode).observe(st.ttfr_ms / 1000.0)

    def _unavailable_result(self, name: str, info: ErrorInfo) -> ExtractorResult:
        return ExtractorResult(request_id=self.request_id, extractor=name, ok=False, error=info)

    async def _emit_atomic(self, emit: Emit, name: str, result: ExtractorResult | None) -> None:
        spec = self.catalog[name]
        tokens, error, elapsed = self._record(name, result)
        st = self._state
        await emit(StreamMessage(
            stage="extractor_complete" if error is None else "extractor_failed",
            tokens=tokens,
            metadata=Metadata(
                request_id=self.request_id,
                extractor=name,
                tier=spec.tier,
                weight=spec.weight,
                elapsed_ms=elapsed,
                extractors_completed=st.completed,
                extractors_total=self.total,
                is_final=st.completed == self.total,
                total_cost=round(st.cost, 6),
                worker=(result.worker or None) if result is not None else None,
                duration_ms=(result.duration_ms or None) if result is not None else None,
                error=error,
            ),
        ))
        if error is None:
            self._first_result_sent(elapsed)

    async def _collect_atomic(self, emit: Emit, queue: asyncio.Queue[Msg],
                              pending: set[str], deadline: float) -> None:
        async for name, result in self._results(queue, pending, deadline):
            await self._emit_atomic(emit, name, result)

    async def _run_tiers(self, emit: Emit, queue: asyncio.Queue[Msg],
                         batches: list[tuple[int, list[str]]],
                         unavailable: dict[str, ErrorInfo],
                         accepted_at: float, deadline: float) -> None:
        st = self._state
        tiers = sorted({self.catalog[n].tier for n in self.request.extractors})
        by_tier = dict(batches)
        for index, tier in enumerate(tiers):
            members = [n for n in self.request.extractors if self.catalog[n].tier == tier]
            names = by_tier.get(tier, [])
            if names and index > 0:
                await self._publish(names, accepted_at, deadline, tier)
            settled = [(n, self._unavailable_result(n, unavailable[n]))
                       for n in members if n in unavailable]
            settled += [pair async for pair in self._results(queue, set(names), deadline)]
            tier_tokens: dict[str, Any] = {}
            errors: dict[str, ErrorInfo] = {}
            for name, result in settled:
                tokens, error, _ = self._record(name, result)
                if error is None:
                    deep_merge(tier_tokens, tokens)
                else:
                    errors[name] = error
            elapsed = st.since_accept_ms()
            await emit(StreamMessage(
                stage="cv_complete" if tier <= 1 else "ai_complete",
                tokens=tier_tokens,
                metadata=Metadata(
                    request_id=self.request_id,
                    tier=tier,
                    tier_extractors=members,
                    weight=sum(self.catalog[n].weight for n in members),
                    elapsed_ms=elapsed,
                    extractors_completed=st.completed,
                    extractors_total=self.total,
                    is_final=st.completed == self.total,
                    total_cost=round(st.cost, 6),
                    errors=errors or None,
                ),
            ))
            if tier_tokens:
                self._first_result_sent(elapsed)
