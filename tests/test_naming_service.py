"""The naming worker on the bus against a fake OpenAI server: names, cost, budget, no key.

A worker writes its status before it starts pulling, and the gateway reads status and
liveness in the same pass, so once extra_gateway() saw the worker live it knows its status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator

from stylestream.extractors import CATALOG
from stylestream.services.stack import Stack

from .conftest import ROOT, extra_gateway
from .support.fake_openai import FakeOpenAI
from .support.wire import collect, stages

PRICES = {"fake-ok": [0.5, 4.0]}


@contextlib.asynccontextmanager
async def naming_worker(nats_url: str, **env: str) -> AsyncIterator[None]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stylestream.cli", "worker", "naming", "--nats", nats_url,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
             "PYTHONPATH": str(ROOT), **env},
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 20) == 0


async def test_naming_without_a_key_is_listed_unavailable(stack: Stack, screenshot_png: bytes) -> None:
    catalog = {n: CATALOG[n] for n in ("color", "naming")}
    async with naming_worker(stack.nats_url):
        async with extra_gateway(stack.settings, catalog=catalog) as url:
            msgs = await collect(url, screenshot_png, extractors=["color", "naming"])
    assert msgs[0].metadata.unavailable["naming"].code == "LLM_UNAVAILABLE"
    assert "OPENAI_API_KEY" in msgs[0].metadata.unavailable["naming"].message or \
        "key" in msgs[0].metadata.unavailable["naming"].message.lower()
    by = {m.metadata.extractor: m for m in msgs if m.metadata.extractor}
    assert by["color"].stage == "extractor_complete"  # everything else still served
    assert by["naming"].stage == "extractor_failed"


async def test_naming_streams_names_with_cost_and_respects_the_budget(
    stack: Stack, screenshot_png: bytes
) -> None:
    catalog = {n: CATALOG[n] for n in ("color", "naming")}
    async with FakeOpenAI() as fake:
        env = {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": fake.api_key,
               "STYLESTREAM_LLM_MODEL": "fake-ok", "STYLESTREAM_LLM_PRICES": json.dumps(PRICES)}
        async with naming_worker(stack.nats_url, **env):
            async with extra_gateway(stack.settings, catalog=catalog) as url:
                msgs = await collect(url, screenshot_png, extractors=["color", "naming"])
                assert len(fake.requests) == 1
                broke = await collect(url + "/?budget=0.000001", screenshot_png,
                                      extractors=["color", "naming"])
                assert len(fake.requests) == 1  # over budget: the LLM was never called
    by = {m.metadata.extractor: m for m in msgs if m.metadata.extractor}
    assert stages(msgs)[-1] == "complete"
    named = by["naming"]
    assert named.stage == "extractor_complete" and named.metadata.tier == 3
    cost = named.tokens["naming"]["$extensions"]["dev.stylestream"]["cost_usd"]
    usage = named.tokens["naming"]["$extensions"]["dev.stylestream"]["usage"]
    expected = (usage["prompt_tokens"] * 0.5 + usage["completion_tokens"] * 4.0) / 1e6
    assert cost == expected > 0
    assert named.metadata.total_cost == round(expected, 6)
    assert msgs[-1].metadata.total_cost == round(expected, 6)
    # names merged into the measured palette; values untouched
    palette = msgs[-1].tokens["color"]["palette"]
    measured = by["color"].tokens["color"]["palette"]
    assert any("$description" in token for token in palette.values())
    for name, token in measured.items():
        assert palette[name]["$value"] == token["$value"]
    over = next(m for m in broke if m.metadata.extractor == "naming")
    assert over.stage == "extractor_failed" and over.metadata.error.code == "BUDGET_EXCEEDED"

