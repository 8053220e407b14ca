"""Shared fixtures: one real nats-server per session, one real stack per module.

Everything runs on 127.0.0.1 with ports picked by the OS; nothing waits by sleeping — we wait
on the server's ready log line, on consumer liveness, and on messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image, ImageDraw

from stylestream.config import Settings
from stylestream.extractors import CATALOG, ExtractorSpec, load_plugins
from stylestream.gateway.app import BUS, create_app
from stylestream.services.embedded import EmbeddedNats
from stylestream.services.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests.support.timed_extractors"
load_plugins([PLUGIN])

SPINE_WORKERS = ["color", "fast", "slow", "boom", "ai", "batchy", "slowmodel", "broken"]


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(scope="session")
def settings(nats_server: EmbeddedNats) -> Settings:
    return Settings(
        nats_url=nats_server.url,
        port=0,
        plugins=(PLUGIN,),
        liveness_interval_s=0.1,
        fetch_wait_s=1.0,
        request_timeout_s=20.0,
        ack_wait_s=1.0,          # short, so slowmodel (1.6 s) proves the heartbeats work
        batch_window_ms=60.0,    # generous, so concurrent test requests share a batch
    )


@pytest_asyncio.fixture(scope="session")
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """color + the timed test extractors, one worker process each, gateway in-process."""
    async with Stack(settings, embedded_nats=False, workers=SPINE_WORKERS,
                     worker_env={"PYTHONPATH": str(ROOT)}) as running:
        yield running


@contextlib.asynccontextmanager
async def extra_gateway(
    settings: Settings,
    *,
    catalog: Mapping[str, ExtractorSpec] | None = None,
    wait_live: bool = True,
    **overrides: object,
) -> AsyncIterator[str]:
    """A second gateway (own settings/catalog) on the same bus and workers; yields its URL."""
    app = create_app(dataclasses.replace(settings, **overrides),
                     catalog=catalog or {n: CATALOG[n] for n in SPINE_WORKERS})
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        if wait_live:
            assert await app[BUS].wait_all_live(20.0), app[BUS].liveness()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def ui_screenshot(width: int = 480, height: int = 320) -> Image.Image:
    """A small UI-like page with known colours: background, card, border, button, text."""
    im = Image.new("RGB", (width, height), "#f3f4f6")
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, width - 1, 47], fill="#1e293b")                       # top bar
    d.rounded_rectangle([24, 72, width - 25, height - 25], radius=10, fill="#ffffff",
                        outline="#d1d5db", width=1)                          # card
    d.rounded_rectangle([48, height - 90, 168, height - 50], radius=6, fill="#2563eb")  # button
    for i in range(4):                                                       # text-ish lines
        d.rectangle([48, 100 + 22 * i, 48 + 220 - 30 * i, 110 + 22 * i], fill="#111827")
    return im


@pytest.fixture(scope="session")
def screenshot_png() -> bytes:
    return png_bytes(ui_screenshot())


@pytest.fixture
def random_bytes() -> bytes:
    return np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
