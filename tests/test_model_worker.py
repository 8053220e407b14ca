"""Loaded extractors on the bus: micro-batching, heartbeats, and the unavailable path."""

from __future__ import annotations

import asyncio

import aiohttp

from stylestream.services.stack import Stack

from .support.wire import collect, stages


async def test_concurrent_requests_share_a_forward_pass(stack: Stack, screenshot_png: bytes) -> None:
    runs = await asyncio.gather(*(collect(stack.url, screenshot_png, extractors=["batchy"])
                                  for _ in range(6)))
    sizes = [msgs[1].tokens["batchy"]["batch"]["$value"] for msgs in runs]
    assert all(stages(msgs) == ["accepted", "extractor_complete", "complete"] for msgs in runs)
    assert max(sizes) >= 2, sizes       # at least one forward pass served several requests
    # each batch of size k was reported by k requests: the number of passes is < 6
    passes = sum(1 / s for s in sizes)
    assert passes < 6, sizes
    async with aiohttp.ClientSession() as session:
        bodies = [await (await session.get(u)).text() for u in stack.worker_metrics]
    assert any('stylestream_model_batch_size_count{model="batchy"}' in b for b in bodies)


async def test_long_forward_pass_is_not_redelivered(stack: Stack, screenshot_png: bytes) -> None:
    msgs = await collect(stack.url, screenshot_png, extractors=["slowmodel", "fast"])
    done = next(m for m in msgs if m.metadata.extractor == "slowmodel")
    assert done.stage == "extractor_complete"
    assert done.metadata.duration_ms >= 1600  # longer than AckWait (1 s) ...
    async with aiohttp.ClientSession() as session:
        bodies = [await (await session.get(u)).text() for u in stack.worker_metrics]
    # ... yet in_progress() kept JetStream from handing it to anyone again
    assert not any('stylestream_worker_redeliveries_total{extractor="slowmodel"}' in b
                   for b in bodies)


async def test_unloadable_model_is_unavailable_in_the_manifest(stack: Stack, screenshot_png: bytes) -> None:
    msgs = await collect(stack.url, screenshot_png, extractors=["fast", "broken"])
    accepted = msgs[0]
    assert accepted.metadata.unavailable["broken"].code == "MODEL_UNAVAILABLE"
    assert "BROKEN_WEIGHTS" in accepted.metadata.unavailable["broken"].message
    failed = next(m for m in msgs if m.metadata.extractor == "broken")
    assert failed.stage == "extractor_failed" and failed.metadata.error.code == "MODEL_UNAVAILABLE"
    assert stages(msgs)[-1] == "complete" and msgs[-1].metadata.failed == ["broken"]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{stack.url}/readyz") as resp:
            body = await resp.json()
    assert resp.status == 200 and body["unavailable"]["broken"]["code"] == "MODEL_UNAVAILABLE"


async def test_unavailable_model_answers_even_a_gateway_that_did_not_know(
    stack: Stack, screenshot_png: bytes
) -> None:
    """A request that reaches the model worker anyway gets the reason, not a timeout."""
    import nats

    from stylestream.schemas import ImageEvent, decode_result, encode_event

    nc = await nats.connect(stack.nats_url)
    try:
        sub = await nc.subscribe("style.results.directbroken01.>")
        await nc.flush()
        await nc.jetstream().publish("style.images.directbroken01", encode_event(ImageEvent(
            request_id="directbroken01", extractors=["broken"], image=screenshot_png,
            image_format="png")))
        result = decode_result((await sub.next_msg(timeout=10)).data)
    finally:
        await nc.drain()
    assert not result.ok and result.error.code == "MODEL_UNAVAILABLE"
