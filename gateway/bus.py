"""The gateway's side of the bus: connection, topology, consumer liveness, request I/O."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from stylestream.config import (
    IMAGES_STREAM,
    IMAGES_SUBJECT_PREFIX,
    RESULTS_STREAM,
    RESULTS_SUBJECT_PREFIX,
    Settings,
)
from stylestream.errors import BusUnavailable, ExtractorUnavailable
from stylestream.schemas import (
    RECORD_TOKEN,
    ErrorInfo,
    ImageEvent,
    RequestRecord,
    encode_event,
    images_subject,
    results_subject,
)
from stylestream.schemas.bus import ExtractorStatus, encode_record
from stylestream.services.connection import close_connection, connect
from stylestream.services.status import get_status, status_bucket
from stylestream.services.topology import consumer_name, ensure_topology

log = logging.getLogger("stylestream.gateway.bus")

#: how long a request waits on the bus (subscribe flush, event publish) before BUS_UNAVAILABLE
BUS_TIMEOUT_S = 3.0


class GatewayBus:
    def __init__(self, nc: NATS, js: JetStreamContext, settings: Settings,
                 extractors: Iterable[str]) -> None:
        self.nc = nc
        self.js = js
        self.settings = settings
        self.extractors = list(extractors)
        self._last_live: dict[str, float] = {}
        self._status: dict[str, ExtractorStatus] = {}
        self._kv: KeyValue | None = None
        self._all_live = asyncio.Event()
        self._stop_polling = asyncio.Event()

    @classmethod
    async def connect(cls, settings: Settings, extractors: Iterable[str]) -> GatewayBus:
        nc = await connect(settings.nats_url, "stylestream-gateway")
        js = nc.jetstream()
        bus = cls(nc, js, settings, extractors)
        await ensure_topology(js, bus.extractors, settings)
        bus._kv = await status_bucket(js)
        return bus

    async def close(self) -> None:
        await close_connection(self.nc)

    # --- liveness -----------------------------------------------------------------------
    def is_live(self, extractor: str) -> bool:
        seen = self._last_live.get(extractor)
        return seen is not None and time.monotonic() - seen < self.settings.liveness_grace_s

    def liveness(self) -> dict[str, bool]:
        return {name: self.is_live(name) for name in self.extractors}

    def unavailable_reason(self, extractor: str) -> ErrorInfo | None:
        """Why a request cannot run this extractor now, or None if it can."""
        status = self._status.get(extractor)
        if status is not None and not status.available and status.error is not None:
            return status.error  # e.g. MODEL_UNAVAILABLE: no weights configured
        if not self.is_live(extractor):
            return ErrorInfo(ExtractorUnavailable.code, f"no live worker serves {extractor!r}")
        return None

    def status(self, extractor: str) -> ExtractorStatus | None:
        return self._status.get(extractor)

    async def wait_all_live(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._all_live.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def poll_liveness(self) -> None:
        """One pass: a consumer is live when a worker waits on it or holds a message."""
        for name in self.extractors:
            try:
                info = await self.js.consumer_info(IMAGES_STREAM, consumer_name(name), timeout=2)
            except NotFoundError:
                continue
            except (NatsError, TimeoutError) as exc:
                log.debug("consumer_info %s: %s", name, exc)
                continue
            if (info.num_waiting or 0) > 0 or (info.num_ack_pending or 0) > 0:
                self._last_live[name] = time.monotonic()
            if self._kv is not None:
                status = await get_status(self._kv, name)
                if status is not None:
                    self._status[name] = status
        if all(self.liveness().values()):
            self._all_live.set()
        else:
            self._all_live.clear()

    async def liveness_loop(self) -> None:
        """Poll until ``stop_polling()``; each pass is bounded by its requests' timeouts."""
        while not self._stop_polling.is_set():
            await self.poll_liveness()
            with contextlib.suppress(TimeoutError):  # the period between polls
                await asyncio.wait_for(self._stop_polling.wait(), self.settings.liveness_interval_s)

    def stop_polling(self) -> None:
        self._stop_polling.set()

    async def streams_exist(self) -> bool:
        try:
            await self.js.stream_info(IMAGES_STREAM)
            await self.js.stream_info(RESULTS_STREAM)
        except (NatsError, TimeoutError):
            return False
        return True

    # --- request I/O ----------------------------------------------------------------------
    async def subscribe_results(self, request_id: str) -> tuple[Subscription, asyncio.Queue[Msg]]:
        """Subscribe to ``style.results.<id>.>`` and make sure the server has seen it."""
        queue: asyncio.Queue[Msg] = asyncio.Queue()

        async def on_result(msg: Msg) -> None:
            queue.put_nowait(msg)

        if not self.nc.is_connected:
            raise BusUnavailable("not connected to NATS (reconnecting)")
        try:
            sub = await self.nc.subscribe(
                results_subject(RESULTS_SUBJECT_PREFIX, request_id), cb=on_result
            )
            # the server must know the subscription before any result can be published
            await self.nc.flush(timeout=BUS_TIMEOUT_S)
        except (NatsError, TimeoutError) as exc:
            raise BusUnavailable(f"could not subscribe to results: {exc!r}") from None
        return sub, queue

    async def publish_record(self, record: RequestRecord) -> None:
        """Store what a finished request sent, for replay. Best effort: a lost record only
        makes that request unreplayable, so failures are logged, not raised."""
        try:
            await self.js.publish(
                results_subject(RESULTS_SUBJECT_PREFIX, record.request_id, RECORD_TOKEN),
                encode_record(record), timeout=BUS_TIMEOUT_S,
            )
        except (NatsError, TimeoutError) as exc:
            log.warning("could not store the record of %s: %r", record.request_id, exc)

    async def stored_result(self, request_id: str, token: str) -> bytes | None:
        """The last message stored on ``style.results.<id>.<token>``, or None."""
        try:
            msg = await self.js.get_last_msg(
                RESULTS_STREAM, results_subject(RESULTS_SUBJECT_PREFIX, request_id, token))
        except NotFoundError:
            return None
        except (NatsError, TimeoutError) as exc:
            raise BusUnavailable(f"could not read stored results: {exc!r}") from None
        return msg.data

    async def publish_event(self, event: ImageEvent, dedupe_key: str) -> None:
        try:
            await self.js.publish(
                images_subject(IMAGES_SUBJECT_PREFIX, event.request_id),
                encode_event(event),
                timeout=BUS_TIMEOUT_S,
                headers={"Nats-Msg-Id": dedupe_key},
            )
        except (NatsError, TimeoutError) as exc:
            raise BusUnavailable(f"could not publish image event: {exc!r}") from None
