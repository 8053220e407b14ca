"""The aiohttp edge: WebSocket + NDJSON extraction, health, metrics and the demo page.

Handlers stay thin: they validate, then hand an ``Extraction`` an ``emit`` coroutine. State
lives under ``web.AppKey``s; the NATS connection and liveness poller live in a cleanup_ctx.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from importlib import resources

from aiohttp import WSMsgType, web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from stylestream.config import Settings
from stylestream.errors import (
    BadParameter,
    ImageTooLarge,
    NoImage,
    OverCapacity,
    RequestError,
    StylestreamError,
)
from stylestream.extractors import CATALOG, ExtractorSpec
from stylestream.extractors.image import probe
from stylestream.schemas import ErrorInfo, Metadata, StreamMessage, encode_message

from .bus import GatewayBus
from .extraction import Extraction, ExtractionRequest, RequestParams, parse_params
from .metrics import GatewayMetrics
from .replay import replay

log = logging.getLogger("stylestream.gateway")
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

SETTINGS = web.AppKey("settings", Settings)
CATALOG_KEY = web.AppKey("catalog", dict)
METRICS = web.AppKey("metrics", GatewayMetrics)
BUS = web.AppKey("bus", GatewayBus)
WEBSOCKETS = web.AppKey("websockets", set)


SEND_QUEUE_SIZE = 32


def failed_message(error: StylestreamError, request_id: str | None = None) -> StreamMessage:
    return StreamMessage(stage="failed", metadata=Metadata(
        request_id=request_id, error=ErrorInfo(error.code, error.message),
    ))


# --- request admission (shared by WS and HTTP) -----------------------------------------------

class Admission:
    """Bounded requests in flight: refuse (OVER_CAPACITY) rather than queue."""

    def __init__(self, limit: int, metrics: GatewayMetrics) -> None:
        self.limit = limit
        self.metrics = metrics
        self.inflight = 0

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        if self.inflight >= self.limit:
            raise OverCapacity(f"{self.inflight} requests in flight (limit {self.limit})")
        self.inflight += 1
        self.metrics.inflight.inc()
        try:
            yield
        finally:
            self.inflight -= 1
            self.metrics.inflight.dec()


ADMISSION = web.AppKey("admission", Admission)


def _build_request(app: web.Application, params: RequestParams, image: bytes) -> ExtractionRequest:
    settings = app[SETTINGS]
    if len(image) > settings.max_image_bytes:
        raise ImageTooLarge(f"{len(image)} bytes exceeds the limit of {settings.max_image_bytes}")
    info = probe(image, max_pixels=settings.max_image_pixels)
    return ExtractionRequest(image, info, params.extractors, params.mode, params.scale,
                             params.budget_usd, params.explicit)


# --- WebSocket ---------------------------------------------------------------------------------

async def ws_extract(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    settings = app[SETTINGS]
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=2 * settings.max_image_bytes)
    await ws.prepare(request)
    app[WEBSOCKETS].add(ws)
    app[METRICS].ws_connections.inc()
    outbox: asyncio.Queue[StreamMessage | None] = asyncio.Queue(SEND_QUEUE_SIZE)
    sender = asyncio.create_task(_ws_sender(ws, outbox))
    try:
        await _ws_serve(app, request, ws, outbox)
    finally:
        await outbox.put(None)
        with contextlib.suppress(ConnectionError):
            await sender
        if not ws.closed:
            await ws.close()
        app[WEBSOCKETS].discard(ws)
        app[METRICS].ws_connections.dec()
    return ws


async def _ws_sender(ws: web.WebSocketResponse, outbox: asyncio.Queue[StreamMessage | None]) -> None:
    """The one task that writes to this socket, in order."""
    while (message := await outbox.get()) is not None:
        if ws.closed:
            continue  # drain so producers never block on a dead client
        try:
            await ws.send_str(encode_message(message).decode())
        except ConnectionError:
            continue


async def _ws_serve(app: web.Application, request: web.Request, ws: web.WebSocketResponse,
                    outbox: asyncio.Queue[StreamMessage | None]) -> None:
    settings = app[SETTINGS]
    try:
        # bad parameters fail before the client spends time uploading
        params = parse_params(request.query, app[CATALOG_KEY], settings)
        image = await _receive_image(ws, settings)
        extraction_request = _build_request(app, params, image)
        with app[ADMISSION].admit():
            extraction = Extraction(app[BUS], app[CATALOG_KEY], settings, app[METRICS],
                                    extraction_request)
            run = asyncio.create_task(extraction.run(outbox.put))
            watcher = asyncio.create_task(_wait_client_gone(ws))
            done, _ = await asyncio.wait({run, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if run not in done:
                run.cancel()  # client left: stop waiting on results nobody will read
                app[METRICS].requests.labels(extraction_request.mode, "client_gone").inc()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
                await watcher
    except RequestError as exc:
        app[METRICS].requests.labels(request.query.get("mode", "") or "-", exc.code).inc()
        await outbox.put(failed_message(exc))


async def _receive_image(ws: web.WebSocketResponse, settings: Settings) -> bytes:
    try:
        msg = await ws.receive(timeout=settings.image_wait_s)
    except TimeoutError:
        raise NoImage(f"no image frame within {settings.image_wait_s:g}s") from None
    if msg.type == WSMsgType.BINARY:
        return msg.data
    if msg.type == WSMsgType.TEXT:
        raise NoImage("send the image as one binary frame, not text")
    if msg.type == WSMsgType.ERROR and "size" in str(msg.data).lower():
        raise ImageTooLarge(f"frame exceeds {2 * settings.max_image_bytes} bytes")
    raise NoImage("connection closed before an image was sent")


async def _wait_client_gone(ws: web.WebSocketResponse) -> None:
    """Keep reading (control frames, close) until the client goes away."""
    async for _ in ws:
        pass


# --- HTTP NDJSON -------------------------------------------------------------------------------

async def http_extract(request: web.Request) -> web.StreamResponse:
    app = request.app
    try:
        image = await request.read()
    except web.HTTPRequestEntityTooLarge:
        image = None
    try:
        if image is None:
            raise ImageTooLarge(f"body exceeds {app[SETTINGS].max_image_bytes} bytes")
        params = parse_params(request.query, app[CATALOG_KEY], app[SETTINGS])
        extraction_request = _build_request(app, params, image)
        with app[ADMISSION].admit():
            extraction = Extraction(app[BUS], app[CATALOG_KEY], app[SETTINGS], app[METRICS],
                                    extraction_request)
            response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
            prepared = False

            async def emit(message: StreamMessage) -> None:
                nonlocal prepared
                if not prepared:
                    await response.prepare(request)
                    prepared = True
                await response.write(encode_message(message) + b"\n")

            await extraction.run(emit)
            await response.write_eof()
            return response
    except RequestError as exc:
        app[METRICS].requests.labels(request.query.get("mode", "") or "-", exc.code).inc()
        return web.Response(
            status=exc.http_status, body=encode_message(failed_message(exc)) + b"\n",
            content_type="application/x-ndjson",
        )


async def http_replay(request: web.Request) -> web.Response:
    """GET /v1/extractions/{request_id}: the finished request's messages, as NDJSON."""
    request_id = request.match_info["request_id"]
    try:
        if not _REQUEST_ID.fullmatch(request_id):
            raise BadParameter(f"not a request id: {request_id!r}")
        messages = await replay(request.app[BUS], request_id)
    except RequestError as exc:
        return web.Response(status=exc.http_status,
                            body=encode_message(failed_message(exc, request_id)) + b"\n",
                            content_type="application/x-ndjson")
    body = b"".join(encode_message(m) + b"\n" for m in messages)
    return web.Response(body=body, content_type="application/x-ndjson")


# --- health, metrics, demo ---------------------------------------------------------------------

async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    bus = request.app[BUS]
    connected = bus.nc.is_connected
    streams = connected and await bus.streams_exist()
    consumers = bus.liveness()
    ready = connected and streams and all(consumers.values())
    # live but unable to run (no weights, no key): ready, and says so
    unavailable = {name: {"code": r.code, "message": r.message}
                   for name in consumers if (r := bus.unavailable_reason(name)) is not None}
    return web.json_response(
        {"ready": ready, "nats_connected": connected, "streams": streams, "consumers": consumers,
         "unavailable": unavailable},
        status=200 if ready else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def list_extractors(request: web.Request) -> web.Response:
    bus = request.app[BUS]
    out = {}
    for name, spec in request.app[CATALOG_KEY].items():
        reason = bus.unavailable_reason(name)
        status = bus.status(name)
        out[name] = {"tier": spec.tier, "weight": spec.weight, "description": spec.description,
                     "live": bus.is_live(name), "available": reason is None,
                     "runs_on": status.description if status else None,
                     "error": None if reason is None else {"code": reason.code,
                                                           "message": reason.message}}
    return web.json_response(out)


async def index(request: web.Request) -> web.Response:
    html = resources.files("stylestream.gateway").joinpath("static/index.html").read_text()
    return web.Response(text=html, content_type="text/html")


# --- lifecycle ---------------------------------------------------------------------------------

async def _bus_ctx(app: web.Application) -> AsyncIterator[None]:
    bus = await GatewayBus.connect(app[SETTINGS], app[CATALOG_KEY])
    app[BUS] = bus
    await bus.poll_liveness()
    poller = asyncio.create_task(bus.liveness_loop())
    yield
    # stopped by an event, not cancel(): a cancel that lands while a nats-py request
    # completes can be swallowed (Python 3.11 wait_for), leaving the loop running forever
    bus.stop_polling()
    await poller
    await bus.close()


async def _close_websockets(app: web.Application) -> None:
    for ws in list(app[WEBSOCKETS]):
        await ws.close(code=1001, message=b"server shutdown")


def create_app(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    catalog: Mapping[str, ExtractorSpec] | None = None,
) -> web.Application:
    app = web.Application(client_max_size=settings.max_image_bytes + 1024)
    app[SETTINGS] = settings
    app[CATALOG_KEY] = dict(catalog if catalog is not None else CATALOG)
    app[METRICS] = GatewayMetrics(registry if registry is not None else CollectorRegistry())
    app[WEBSOCKETS] = set()
    app[ADMISSION] = Admission(settings.max_inflight, app[METRICS])
    app.cleanup_ctx.append(_bus_ctx)
    app.on_shutdown.append(_close_websockets)
    app.router.add_get("/v1/extract", ws_extract)
    app.router.add_post("/v1/extractions", http_extract)
    app.router.add_get("/v1/extractions/{request_id}", http_replay)
    app.router.add_get("/v1/extractors", list_extractors)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", index)
    return app
