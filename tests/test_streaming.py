"""End to end through the real stack: WS client -> gateway -> JetStream -> workers -> WS."""

from __future__ import annotations

import asyncio

import aiohttp
import msgspec
import pytest

from stylestream.schemas import decode_message
from stylestream.services.stack import Stack

from .conftest import extra_gateway
from .support.wire import collect, stages


async def test_fast_result_arrives_before_slow_one(stack: Stack, screenshot_png: bytes) -> None:
    msgs = await collect(stack.url, screenshot_png, extractors=["slow", "fast"])
    assert stages(msgs) == ["accepted", "extractor_complete", "extractor_complete", "complete"]
    accepted, first, second, complete = msgs
    assert accepted.metadata.extractors == ["slow", "fast"]
    assert accepted.metadata.extractors_total == 2
    assert accepted.metadata.mode == "atomic"
    assert [first.metadata.extractor, second.metadata.extractor] == ["fast", "slow"]
    assert first.metadata.extractors_completed == 1 and first.metadata.is_final is False
    assert second.metadata.extractors_completed == 2 and second.metadata.is_final is True
    assert first.metadata.elapsed_ms < second.metadata.elapsed_ms
    assert second.metadata.elapsed_ms >= 400  # slow sleeps 400 ms
    assert first.metadata.weight == 0.2 and first.metadata.tier == 1
    assert first.metadata.total_cost == 0
    assert set(first.tokens) == {"fast"} and set(second.tokens) == {"slow"}
    # complete: the deep merge of both groups, with timings
    assert set(complete.tokens) == {"fast", "slow"}
    assert complete.metadata.ttfr_ms == first.metadata.elapsed_ms
    assert complete.metadata.total_ms >= second.metadata.elapsed_ms
    assert set(complete.metadata.elapsed) == {"fast", "slow"}
    assert complete.metadata.failed == []


async def test_failing_extractor_degrades_gracefully(stack: Stack, screenshot_png: bytes) -> None:
    msgs = await collect(stack.url, screenshot_png, extractors=["fast", "boom", "slow"])
    by_extractor = {m.metadata.extractor: m for m in msgs if m.metadata.extractor}
    assert stages(msgs)[0] == "accepted" and stages(msgs)[-1] == "complete"
    failed = by_extractor["boom"]
    assert failed.stage == "extractor_failed"
    assert failed.metadata.error.code == "EXTRACTOR_ERROR"
    assert "boom" in failed.metadata.error.message
    assert failed.tokens == {}
    assert by_extractor["fast"].stage == by_extractor["slow"].stage == "extractor_complete"
    complete = msgs[-1]
    assert complete.metadata.failed == ["boom"]
    assert set(complete.tokens) == {"fast", "slow"}
    # the failing worker keeps serving
    again = await collect(stack.url, screenshot_png, extractors=["boom", "fast"])
    assert stages(again).count("extractor_failed") == 1 and stages(again)[-1] == "complete"


async def test_tier_mode_sends_one_message_per_tier(stack: Stack, screenshot_png: bytes) -> None:
    msgs = await collect(stack.url, screenshot_png, extractors=["ai", "fast", "slow"], mode="tier")
    assert stages(msgs) == ["accepted", "cv_complete", "ai_complete", "complete"]
    accepted, cv, ai, complete = msgs
    assert accepted.metadata.extractors == ["fast", "slow", "ai"]  # manifest ordered by tier
    assert set(cv.tokens) == {"fast", "slow"} and cv.metadata.tier == 1
    assert cv.metadata.tier_extractors == ["fast", "slow"] and cv.metadata.is_final is False
    assert set(ai.tokens) == {"ai"} and ai.metadata.tier == 2 and ai.metadata.is_final is True
    # tier 2 only starts after tier 1 finished: ai (50 ms) lands after slow (400 ms)
    assert ai.metadata.elapsed_ms > complete.metadata.elapsed["slow"]
    assert complete.metadata.ttfr_ms == cv.metadata.elapsed_ms
    assert set(complete.tokens) == {"fast", "slow", "ai"}


async def test_tier_errors_are_reported_in_the_tier_message(stack: Stack, screenshot_png: bytes) -> None:
    msgs = await collect(stack.url, screenshot_png, extractors=["fast", "boom"], mode="tier")
    assert stages(msgs) == ["accepted", "cv_complete", "complete"]
    assert msgs[1].metadata.errors["boom"].code == "EXTRACTOR_ERROR"
    assert set(msgs[1].tokens) == {"fast"}


async def test_atomic_streaming_disabled_defaults_to_tier(stack: Stack, screenshot_png: bytes) -> None:
    async with extra_gateway(stack.settings, atomic_streaming=False) as url:
        msgs = await collect(url, screenshot_png, extractors=["fast", "ai"])
        explicit = await collect(url, screenshot_png, extractors=["fast", "ai"], mode="atomic")
    assert stages(msgs) == ["accepted", "cv_complete", "ai_complete", "complete"]
    assert msgs[0].metadata.mode == "tier"
    assert stages(explicit) == ["accepted", "extractor_complete", "extractor_complete", "complete"]


async def test_color_extractor_end_to_end(stack: Stack, screenshot_png: bytes) -> None:
    msgs = await collect(stack.url, screenshot_png, extractors=["color"])
    assert stages(msgs) == ["accepted", "extractor_complete", "complete"]
    palette = msgs[1].tokens["color"]["palette"]
    hexes = {token["$value"]["hex"] for token in palette.values()}
    assert {"#f3f4f6", "#ffffff", "#1e293b", "#2563eb", "#111827"} <= hexes
    assert msgs[2].tokens["color"] == msgs[1].tokens["color"]


async def test_request_timeout_reports_the_late_extractor(stack: Stack, screenshot_png: bytes) -> None:
    async with extra_gateway(stack.settings, request_timeout_s=0.2) as url:
        msgs = await collect(url, screenshot_png, extractors=["fast", "slow"])
    by_extractor = {m.metadata.extractor: m for m in msgs if m.metadata.extractor}
    assert by_extractor["fast"].stage == "extractor_complete"
    assert by_extractor["slow"].stage == "extractor_failed"
    assert by_extractor["slow"].metadata.error.code == "EXTRACTOR_TIMEOUT"
    assert msgs[-1].stage == "complete" and msgs[-1].metadata.failed == ["slow"]


async def test_extractor_without_worker_is_unavailable_not_hung(stack: Stack, screenshot_png: bytes) -> None:
    from stylestream.extractors import CATALOG, ExtractorSpec

    ghost = ExtractorSpec("ghost", "tests.support.timed_extractors:fast", tier=1)
    catalog = {"fast": CATALOG["fast"], "ghost": ghost}
    async with extra_gateway(stack.settings, catalog=catalog, wait_live=False) as url:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/readyz") as resp:
                body = await resp.json()
                assert resp.status == 503 and body["consumers"]["ghost"] is False
        msgs = await collect(url, screenshot_png, extractors=["fast", "ghost"])
        everything = await collect(url, screenshot_png)  # no extractors= : all that can run
    assert everything[0].metadata.extractors == ["fast"]
    assert everything[0].metadata.unavailable["ghost"].code == "EXTRACTOR_UNAVAILABLE"
    assert stages(everything) == ["accepted", "extractor_complete", "complete"]
    assert everything[-1].metadata.failed == []
    accepted = msgs[0]
    assert accepted.metadata.unavailable["ghost"].code == "EXTRACTOR_UNAVAILABLE"
    ghost_msg = next(m for m in msgs if m.metadata.extractor == "ghost")
    assert ghost_msg.stage == "extractor_failed"
    assert ghost_msg.metadata.error.code == "EXTRACTOR_UNAVAILABLE"
    assert msgs[-1].stage == "complete" and msgs[-1].metadata.failed == ["ghost"]


async def test_http_ndjson_streams_the_same_messages(stack: Stack, screenshot_png: bytes) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{stack.url}/v1/extractions?extractors=slow,fast",
                                data=screenshot_png) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("application/x-ndjson")
            lines = [decode_message(line) async for line in resp.content if line.strip()]
    assert stages(lines) == ["accepted", "extractor_complete", "extractor_complete", "complete"]
    assert [m.metadata.extractor for m in lines[1:3]] == ["fast", "slow"]


async def test_client_leaving_mid_request_does_not_hurt_the_server(
    stack: Stack, screenshot_png: bytes
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{stack.url.replace('http', 'ws')}/v1/extract"
                                      "?extractors=slow") as ws:
            await ws.send_bytes(screenshot_png)
            first = decode_message((await ws.receive()).data)
            assert first.stage == "accepted"
        # closed before `slow` finished; the next request is served normally
    msgs = await collect(stack.url, screenshot_png, extractors=["fast"])
    assert stages(msgs)[-1] == "complete"


async def test_concurrent_requests_each_get_their_own_results(stack: Stack) -> None:
    from PIL import Image

    from .conftest import png_bytes

    colours = [(255, 0, 0), (0, 128, 0), (0, 0, 255), (200, 200, 0)]
    images = [png_bytes(Image.new("RGB", (40, 30), c)) for c in colours]
    results = await asyncio.gather(*(collect(stack.url, im, extractors=["fast"]) for im in images))
    for colour, msgs in zip(colours, results, strict=True):
        expected = "#{:02x}{:02x}{:02x}".format(*colour)
        assert msgs[-1].tokens["fast"]["mean"]["$value"] == expected


async def test_wire_messages_are_plain_json(stack: Stack, screenshot_png: bytes) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{stack.url.replace('http', 'ws')}/v1/extract"
                                      "?extractors=fast") as ws:
            await ws.send_bytes(screenshot_png)
            frames = [f async for f in ws]
    assert all(f.type == aiohttp.WSMsgType.TEXT for f in frames)
    docs = [msgspec.json.decode(f.data) for f in frames]
    assert [d["stage"] for d in docs] == ["accepted", "extractor_complete", "complete"]
    assert all(set(d) == {"stage", "tokens", "metadata"} for d in docs)


async def test_8000_by_8000_screenshot_streams_through_the_bus(stack: Stack) -> None:
    import cv2
    import numpy as np
    from PIL import Image

    from .conftest import png_bytes, ui_screenshot

    huge = cv2.resize(np.asarray(ui_screenshot(800, 800)), (8000, 8000),
                      interpolation=cv2.INTER_NEAREST)
    msgs = await collect(stack.url, png_bytes(Image.fromarray(huge)), extractors=["color"])
    assert stages(msgs) == ["accepted", "extractor_complete", "complete"]
    hexes = {t["$value"]["hex"] for t in msgs[1].tokens["color"]["palette"].values()}
    assert {"#2563eb", "#ffffff", "#f3f4f6"} <= hexes


async def test_near_limit_upload_fits_the_bus(stack: Stack) -> None:
    """A ~7.5 MB upload (noise PNG) crosses gateway -> JetStream -> worker intact."""
    import numpy as np
    from PIL import Image

    from .conftest import png_bytes

    noise = np.random.default_rng(3).integers(0, 256, (1600, 1600, 3), dtype=np.uint8)
    data = png_bytes(Image.fromarray(noise))
    assert 7_000_000 < len(data) <= 8 * 1024 * 1024
    msgs = await collect(stack.url, data, extractors=["fast"])
    assert stages(msgs) == ["accepted", "extractor_complete", "complete"]
    assert msgs[1].tokens["fast"]["size"]["$value"] == 1600


@pytest.mark.parametrize("mode", ["atomic", "tier"])
async def test_finished_request_replays_from_the_results_stream(
    stack: Stack, screenshot_png: bytes, mode: str
) -> None:
    live = await collect(stack.url, screenshot_png, extractors=["fast", "boom", "ai"], mode=mode)
    request_id = live[0].metadata.request_id
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{stack.url}/v1/extractions/{request_id}") as resp:
            assert resp.status == 200
            replayed = [decode_message(line) for line in (await resp.read()).splitlines()]
        async with session.get(f"{stack.url}/v1/extractions/0000000000unknown") as resp:
            assert resp.status == 404
            assert decode_message((await resp.read()).strip()).metadata.error.code == "NOT_FOUND"
    assert msgspec.json.encode(replayed) == msgspec.json.encode(live)
