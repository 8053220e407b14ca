"""`stylestream worker models` on the bus with tiny models the test builds and saves.

The model worker loads depth + style once, micro-batches concurrent requests into one
forward pass, and without weights still starts and says MODEL_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from stylestream.extractors import CATALOG
from stylestream.services.stack import Stack

from .conftest import ROOT, extra_gateway
from .support.wire import collect, stages

torch = pytest.importorskip("torch", reason="the models extra is not installed")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from .support.tiny_models import TINY_CLIP, save_tiny_clip, save_tiny_depthnet

    folder = tmp_path_factory.mktemp("weights")
    clip = save_tiny_clip(folder)
    depth = save_tiny_depthnet(folder)
    return {"STYLESTREAM_CLIP_MODEL": str(folder / f"{TINY_CLIP}.json"),
            "STYLESTREAM_CLIP_CHECKPOINT": str(clip),
            "STYLESTREAM_DEPTH_CHECKPOINT": str(depth),
            "STYLESTREAM_BATCH_WINDOW_MS": "150"}


@contextlib.asynccontextmanager
async def model_worker(nats_url: str, **env: str) -> AsyncIterator[str]:
    """Run `stylestream worker models`; yields its /metrics URL."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STYLESTREAM_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stylestream.cli", "worker", "models", "--nats", nats_url,
        "--metrics-port", "0", env={**clean, "PYTHONPATH": str(ROOT), **env},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line.startswith("metrics: "), line
        yield line.removeprefix("metrics: ").strip()
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0


CATALOG_MODELS = {n: CATALOG[n] for n in ("color", "depth", "style")}


async def test_without_weights_the_worker_serves_and_says_so(stack: Stack, screenshot_png: bytes) -> None:
    async with model_worker(stack.nats_url):
        async with extra_gateway(stack.settings, catalog=CATALOG_MODELS) as url:
            msgs = await collect(url, screenshot_png)  # everything that can run
            named = await collect(url, screenshot_png, extractors=["color", "style"])
    accepted = msgs[0]
    assert accepted.metadata.extractors == ["color"]
    for name in ("depth", "style"):
        assert accepted.metadata.unavailable[name].code == "MODEL_UNAVAILABLE"
    assert "STYLESTREAM_CLIP_CHECKPOINT" in accepted.metadata.unavailable["style"].message
    assert stages(msgs) == ["accepted", "extractor_complete", "complete"]
    failed = next(m for m in named if m.metadata.extractor == "style")
    assert failed.stage == "extractor_failed" and failed.metadata.error.code == "MODEL_UNAVAILABLE"


async def test_models_stream_after_cv_and_batch_across_requests(
    stack: Stack, screenshot_png: bytes, weights: dict[str, str]
) -> None:
    async with model_worker(stack.nats_url, **weights) as metrics_url:
        async with extra_gateway(stack.settings, catalog=CATALOG_MODELS) as url:
            first = await collect(url, screenshot_png, extractors=["color", "depth", "style"])
            together = await asyncio.gather(*(collect(url, screenshot_png, extractors=["style"])
                                              for _ in range(4)))
            async with aiohttp.ClientSession() as session:
                async with session.get(metrics_url) as resp:
                    body = await resp.text()
    assert stages(first)[0] == "accepted" and stages(first)[-1] == "complete"
    assert first[-1].metadata.failed == []
    # each result streamed as it landed (a tiny model may well beat the CV extractor)
    assert sorted(m.metadata.extractor for m in first[1:-1]) == ["color", "depth", "style"]
    elapsed = [m.metadata.elapsed_ms for m in first[1:-1]]
    assert elapsed == sorted(elapsed)
    style = next(m for m in first if m.metadata.extractor == "style").tokens["style"]
    labels = style["$extensions"]["dev.stylestream"]["labels"]
    assert abs(sum(labels.values()) - 1) < 1e-2 and "minimal" in labels
    assert next(m for m in first if m.metadata.extractor == "depth").tokens["shadow"][
        "$extensions"]["dev.stylestream"]["depth_model"]
    assert all(stages(msgs)[-1] == "complete" for msgs in together)
    # four concurrent style requests within the batch window share forward passes
    count = float(body.split('stylestream_model_batch_size_count{model="style"} ')[1].split()[0])
    total = float(body.split('stylestream_model_batch_size_sum{model="style"} ')[1].split()[0])
    assert total == 5 and count < 5, (count, total)
