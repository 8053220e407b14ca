"""Workers on the real bus: replicas share a consumer, poison is termed, acks follow publishes."""

from __future__ import annotations

import asyncio
import os
import sys

import msgspec
import nats
import pytest

from stylestream.config import IMAGES_STREAM
from stylestream.errors import (
    BadMessage,
    ExtractorError,
    InvalidImage,
    ModelUnavailable,
    PublishFailed,
)
from stylestream.schemas import ImageEvent, decode_event, encode_event
from stylestream.services.dispositions import Action, disposition_for
from stylestream.services.stack import Stack

from .conftest import PLUGIN, ROOT
from .support.wire import collect


async def test_two_replicas_split_the_work(stack: Stack, screenshot_png: bytes) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STYLESTREAM_PLUGINS": PLUGIN}
    replica = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stylestream.cli", "worker", "slow", "--nats", stack.nats_url,
        env=env, stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        # 6 concurrent 400 ms jobs on two single-slot replicas: both must take some
        runs = await asyncio.gather(*(collect(stack.url, screenshot_png, extractors=["slow"])
                                      for _ in range(6)))
        workers = [m.metadata.worker for msgs in runs for m in msgs
                   if m.stage == "extractor_complete"]
        assert len(workers) == 6
        counts = {w: workers.count(w) for w in set(workers)}
        assert len(counts) == 2, counts
        assert any(w.endswith(f":{replica.pid}") for w in counts)
    finally:
        replica.terminate()
        assert await replica.wait() == 0  # graceful stop on SIGTERM


async def test_undecodable_event_is_terminated_and_worker_keeps_serving(
    stack: Stack, screenshot_png: bytes
) -> None:
    nc = await nats.connect(stack.nats_url)
    try:
        advisory = await nc.subscribe(
            f"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{IMAGES_STREAM}.ex-fast"
        )
        await nc.flush()
        js = nc.jetstream()
        await js.publish("style.images.poison0001", b"\x93not an event")
        note = await advisory.next_msg(timeout=10)
        assert msgspec.json.decode(note.data)["consumer"] == "ex-fast"
        await advisory.unsubscribe()
    finally:
        await nc.drain()
    msgs = await collect(stack.url, screenshot_png, extractors=["fast"])
    assert msgs[-1].stage == "complete" and msgs[-1].metadata.failed == []


async def test_results_are_on_the_bus_as_readable_json(stack: Stack, screenshot_png: bytes) -> None:
    nc = await nats.connect(stack.nats_url)
    try:
        sub = await nc.subscribe("style.results.>")
        await nc.flush()
        msgs = await collect(stack.url, screenshot_png, extractors=["fast"])
        request_id = msgs[0].metadata.request_id
        while True:
            bus_msg = await sub.next_msg(timeout=10)
            if bus_msg.subject == f"style.results.{request_id}.fast":
                break
        doc = msgspec.json.decode(bus_msg.data)
        assert doc["ok"] is True and doc["extractor"] == "fast"
        assert doc["tokens"] == msgs[1].tokens
        # and the image event is in STYLE_IMAGES under style.images.<id>
        js = nc.jetstream()
        stored = await js.get_last_msg(IMAGES_STREAM, f"style.images.{request_id}")
        event = decode_event(stored.data)
        assert event.request_id == request_id and event.extractors == ["fast"]
        assert event.image == screenshot_png and event.image_format == "png"
        await sub.unsubscribe()
    finally:
        await nc.drain()


def test_disposition_table() -> None:
    assert disposition_for(None).action is Action.ACK
    assert disposition_for(BadMessage("x")).action is Action.TERM
    nak = disposition_for(PublishFailed("x"))
    assert nak.action is Action.NAK and nak.delay_s and nak.delay_s > 0
    assert disposition_for(ExtractorError("x")).action is Action.ACK
    assert disposition_for(ModelUnavailable("x")).action is Action.ACK  # subclass lookup
    assert disposition_for(InvalidImage("x")).action is Action.ACK


def test_image_event_rejects_bad_fields() -> None:
    good = ImageEvent(request_id="abcdef012345", extractors=["color"], image=b"\x89PNG")
    assert decode_event(encode_event(good)) == good
    raw = msgspec.msgpack.decode(encode_event(good))
    for bad in ({**raw, "surprise": 1}, {**raw, "request_id": "../etc"},
                {**raw, "extractors": []}, {**raw, "mode": "sideways"},
                {**raw, "extractors": ["Bad Name"]}):
        with pytest.raises(msgspec.ValidationError):
            decode_event(msgspec.msgpack.encode(bad))


async def test_worker_metrics_are_served(stack: Stack, screenshot_png: bytes) -> None:
    import aiohttp

    await collect(stack.url, screenshot_png, extractors=["fast", "boom"])
    assert len(stack.worker_metrics) == len(stack.procs)
    texts = []
    async with aiohttp.ClientSession() as session:
        for url in stack.worker_metrics:
            async with session.get(url) as resp:
                assert resp.status == 200
                texts.append(await resp.text())
    body = "\n".join(texts)
    assert 'stylestream_worker_messages_total{extractor="fast",outcome="ok"}' in body
    assert 'stylestream_worker_messages_total{extractor="boom",outcome="EXTRACTOR_ERROR"}' in body
    assert 'stylestream_worker_processing_seconds_count{extractor="fast"}' in body
    assert 'stylestream_consumer_pending{consumer="ex-fast"}' in body


async def test_topology_never_rewrites_an_existing_consumer(stack: Stack) -> None:
    """Gateway and workers ensure the topology with their own settings; the first creator's
    AckWait must stand, or a worker would heartbeat by a different clock than the server's."""
    import dataclasses

    from stylestream.services.topology import consumer_name, ensure_consumers

    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()
        short = dataclasses.replace(stack.settings, ack_wait_s=1.5)
        long = dataclasses.replace(stack.settings, ack_wait_s=45.0)
        await ensure_consumers(js, ["probe"], short)
        await ensure_consumers(js, ["probe"], long)
        info = await js.consumer_info(IMAGES_STREAM, consumer_name("probe"))
        assert info.config.ack_wait == 1.5
        await js.delete_consumer(IMAGES_STREAM, consumer_name("probe"))
    finally:
        await nc.drain()
