"""Every bad input gets one typed `failed` frame and costs nobody else anything."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest
from PIL import Image

from stylestream.schemas import decode_message
from stylestream.services.stack import Stack

from .conftest import extra_gateway, png_bytes
from .support.wire import collect, stages


def ws(url: str, query: str = "") -> str:
    return f"{url.replace('http', 'ws', 1)}/v1/extract{query}"


async def _failed_code(url: str, image: bytes | None, query: str = "", text: str | None = None) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws(url, query)) as sock:
            if text is not None:
                await sock.send_str(text)
            elif image is not None:
                await sock.send_bytes(image)
            frames = [f async for f in sock]
    assert len(frames) == 1, frames
    message = decode_message(frames[0].data)
    assert message.stage == "failed"
    assert message.metadata.error.message
    return message.metadata.error.code


async def _still_serving(url: str, image: bytes) -> None:
    msgs = await collect(url, image, extractors=["fast"])
    assert stages(msgs) == ["accepted", "extractor_complete", "complete"]


@pytest.mark.parametrize(
    ("name", "payload", "code"),
    [
        ("random bytes", b"\x00\x01garbage" * 100, "INVALID_IMAGE"),
        ("png magic, no body", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "INVALID_IMAGE"),
        ("jpeg magic, junk", b"\xff\xd8\xff\xe0" + b"junk" * 50, "INVALID_IMAGE"),
        ("tiny image", png_bytes(Image.new("RGB", (4, 4), "red")), "IMAGE_TOO_SMALL"),
    ],
)
async def test_undecodable_uploads_fail_with_a_code(stack: Stack, screenshot_png: bytes,
                                                    name: str, payload: bytes, code: str) -> None:
    assert await _failed_code(stack.url, payload, "?extractors=fast") == code
    await _still_serving(stack.url, screenshot_png)


async def test_truncated_png_is_refused_at_the_edge(stack: Stack, screenshot_png: bytes) -> None:
    truncated = screenshot_png[: len(screenshot_png) // 2]
    assert await _failed_code(stack.url, truncated, "?extractors=fast") == "INVALID_IMAGE"


async def test_bad_parameters(stack: Stack, screenshot_png: bytes) -> None:
    assert await _failed_code(stack.url, screenshot_png, "?extractors=fast,nope") == "UNKNOWN_EXTRACTOR"
    assert await _failed_code(stack.url, screenshot_png, "?mode=sideways") == "BAD_PARAMETER"
    assert await _failed_code(stack.url, screenshot_png, "?extractors=fast&scale=abc") == "BAD_PARAMETER"
    assert await _failed_code(stack.url, None, "?extractors=fast", text="hello") == "NO_IMAGE"
    await _still_serving(stack.url, screenshot_png)


async def test_too_large_uploads(stack: Stack, screenshot_png: bytes) -> None:
    big = png_bytes(Image.effect_noise((200, 200), 64).convert("RGB"))
    async with extra_gateway(stack.settings, max_image_bytes=80_000) as url:
        assert 80_000 < len(big) < 160_000
        assert await _failed_code(url, big, "?extractors=fast") == "IMAGE_TOO_LARGE"
        # frames over twice the limit are cut off by the WebSocket layer itself: 1009
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(ws(url, "?extractors=fast")) as sock:
                await sock.send_bytes(big + big)
                frames = [f async for f in sock]
                assert frames == [] and sock.close_code == 1009
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/v1/extractions?extractors=fast", data=big) as resp:
                assert resp.status == 413
                body = decode_message((await resp.read()).strip())
                assert body.stage == "failed" and body.metadata.error.code == "IMAGE_TOO_LARGE"
        await _still_serving(url, screenshot_png)
    async with extra_gateway(stack.settings, max_image_pixels=100 * 100) as url:
        assert await _failed_code(url, screenshot_png, "?extractors=fast") == "IMAGE_TOO_LARGE"


async def test_over_capacity_is_refused_not_queued(stack: Stack, screenshot_png: bytes) -> None:
    async with extra_gateway(stack.settings, max_inflight=1) as url:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(ws(url, "?extractors=slow")) as busy:
                await busy.send_bytes(screenshot_png)
                assert decode_message((await busy.receive()).data).stage == "accepted"
                assert await _failed_code(url, screenshot_png, "?extractors=fast") == "OVER_CAPACITY"
                rest = [decode_message(f.data).stage async for f in busy]
                assert rest[-1] == "complete"
        await _still_serving(url, screenshot_png)


async def test_http_errors_are_ndjson_with_status(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{stack.url}/v1/extractions", data=b"not an image") as resp:
            assert resp.status == 400
            message = decode_message((await resp.read()).strip())
    assert message.stage == "failed" and message.metadata.error.code == "INVALID_IMAGE"


async def test_many_bad_requests_at_once_do_not_block_good_ones(stack: Stack, screenshot_png: bytes) -> None:
    bad = [_failed_code(stack.url, b"x" * 100, "?extractors=fast") for _ in range(20)]
    good = collect(stack.url, screenshot_png, extractors=["fast"])
    *codes, msgs = await asyncio.gather(*bad, good)
    assert set(codes) == {"INVALID_IMAGE"}
    assert stages(msgs)[-1] == "complete"


async def test_jpeg_and_webp_are_accepted(stack: Stack) -> None:
    image = Image.new("RGB", (64, 48), (20, 40, 200))
    for fmt in ("JPEG", "WEBP"):
        buf = io.BytesIO()
        image.save(buf, fmt)
        msgs = await collect(stack.url, buf.getvalue(), extractors=["fast"])
        assert stages(msgs) == ["accepted", "extractor_complete", "complete"], fmt
