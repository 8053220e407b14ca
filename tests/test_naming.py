"""LLM naming against a real (fake) OpenAI-compatible server on 127.0.0.1.

The openai client is synchronous, so ``extract_batch`` runs in a thread while the fake
server's handlers run on the test loop.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import io
import socket
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import numpy as np
import pytest
import pytest_asyncio
from PIL import Image, ImageDraw, ImageFont

from stylestream.errors import BudgetExceeded, LlmError, LlmTimeout, LlmUnavailable
from stylestream.extractors import ExtractContext, Meter, ModelOptions, naming, prepare
from stylestream.schemas import deep_merge
from stylestream.schemas.tokens import EXTENSION_KEY
from tests.support.fake_openai import PATH_LINE, FakeOpenAI, fake_name, reply_for, usage_for

FONT = "/usr/share/fonts/truetype/dejavu/"
KEY = "sk-test"
PRICES = {"fake-ok": (0.5, 4.0), "fake-invent": (0.5, 4.0), "fake-bad-json": (0.5, 4.0)}


def draw_ui(w: int = 640, h: int = 400) -> np.ndarray:
    """A landing page: dark header, heading, muted text, primary and secondary buttons, cards."""
    im = Image.new("RGB", (w, h), "#f8fafc")
    d = ImageDraw.Draw(im)
    bold = lambda s: ImageFont.truetype(FONT + "DejaVuSans-Bold.ttf", s)  # noqa: E731
    body = ImageFont.truetype(FONT + "DejaVuSans.ttf", 14)
    d.rectangle([0, 0, w, 52], fill="#0f172a")
    d.text((24, 14), "Acme Cloud", font=bold(20), fill="#ffffff")
    d.text((32, 76), "Deploy in seconds", font=bold(28), fill="#0f172a")
    for i, line in enumerate(["Ship your app to the edge with one command and",
                              "watch it scale to millions of users worldwide."]):
        d.text((32, 120 + i * 22), line, font=body, fill="#475569")
    d.rounded_rectangle([32, 176, 172, 216], radius=8, fill="#2563eb")
    d.text((52, 188), "Get started", font=body, fill="#ffffff")
    d.rounded_rectangle([188, 176, 328, 216], radius=8, fill="#ffffff", outline="#cbd5e1")
    d.text((218, 188), "Learn more", font=body, fill="#0f172a")
    for k in range(3):
        x = 32 + k * 200
        d.rounded_rectangle([x, 240, x + 180, 380], radius=12, fill="#ffffff", outline="#e2e8f0")
        d.text((x + 16, 256), f"Feature {k + 1}", font=bold(16), fill="#0f172a")
        for j in range(2):
            d.text((x + 16, 286 + j * 20), "Fast builds and", font=body, fill="#64748b")
        d.rounded_rectangle([x + 16, 344, x + 80, 368], radius=12, fill="#dcfce7")
        d.text((x + 28, 348), "New", font=ImageFont.truetype(FONT + "DejaVuSans.ttf", 12), fill="#166534")
    return np.asarray(im)


UI = draw_ui()


def page(budget_usd: float | None = None) -> tuple[np.ndarray, ExtractContext]:
    return prepare(UI, scale=1.0, source_format="png", budget_usd=budget_usd)


_MEASURED: dict[tuple[Any, ...], dict[str, Any]] = {}
_real_measure = naming.measure


def measure_once(image: np.ndarray, ctx: ExtractContext,
                 names: Sequence[str] = naming.MEASURE) -> dict[str, Any]:
    """naming.measure, computed once per distinct input (it is pure): keeps the file fast."""
    key = (image.shape, hashlib.sha256(image.tobytes()).digest(), ctx.scale, ctx.source_format,
           tuple(names))
    if key not in _MEASURED:
        _MEASURED[key] = _real_measure(image, ctx, names)
    return copy.deepcopy(_MEASURED[key])


@pytest.fixture(autouse=True)
def _memo_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(naming, "measure", measure_once)


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    return measure_once(*page())


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=KEY, slow_s=5.0) as server:
        yield server


def options(fake: FakeOpenAI, model: str = "fake-ok", **kw: Any) -> ModelOptions:
    return ModelOptions(llm_base_url=fake.base_url, llm_api_key=KEY, llm_model=model,
                        llm_timeout_s=kw.pop("llm_timeout_s", 5.0),
                        llm_prices=kw.pop("llm_prices", PRICES), **kw)


async def run(opts: ModelOptions, image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
    model = naming.load(opts)
    try:
        [out] = await asyncio.to_thread(model.extract_batch, [image], [ctx])
    finally:
        model.close()
    return msgspec.to_builtins(out)


def values(doc: dict[str, Any]) -> dict[str, Any]:
    return {".".join(p): (t.get("$type"), t["$value"]) for p, t in naming.token_paths(doc)}


def info(out: dict[str, Any]) -> dict[str, Any]:
    return out["naming"]["$extensions"][EXTENSION_KEY]


def keys_anywhere(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in keys_anywhere(v)}
    if isinstance(node, list):
        return {k for v in node for k in keys_anywhere(v)}
    return set()


# --- happy path --------------------------------------------------------------------------

async def test_names_merge_without_changing_values(fake: FakeOpenAI, measured: dict[str, Any]) -> None:
    image, ctx = page()
    out = await run(options(fake), image, ctx)
    paths = list(values(measured))
    assert len(paths) >= 10, paths
    assert {"color", "font", "typography"} <= set(measured)
    # every measured path is named as the fake named it, with its rationale
    named = {".".join(p): t for p, t in naming.token_paths(_with_values(out))}
    assert set(named) == set(paths)
    for path in paths:
        node = _at(out, path)
        assert node["$extensions"][EXTENSION_KEY] == {"semantic_name": fake_name(path)}
        assert node["$description"] == f"Seen as {path}."
    assert "$value" not in keys_anywhere(out) and "$type" not in keys_anywhere(out)
    # deep merge into the measured document: every $value and $type unchanged, names added
    doc = copy.deepcopy(measured)
    deep_merge(doc, out)
    assert values(doc) == values(measured)
    blue = next(p for p, (_, v) in values(measured).items() if v.get("hex") == "#2563eb")
    ext = _at(doc, blue)["$extensions"][EXTENSION_KEY]
    assert ext["semantic_name"] == fake_name(blue) and ext["confidence"] > 0.5  # evidence kept
    meta = info(out)
    assert meta["named"] == len(paths) and meta["dropped"] == 0 and meta["omitted"] == 0
    assert meta["summary"] == f"A page with {len(paths)} measured tokens."
    assert meta["model"] == "fake-ok" and meta["priced"] is True


async def test_request_carries_measured_tokens_and_small_png(fake: FakeOpenAI,
                                                             measured: dict[str, Any]) -> None:
    big = np.asarray(Image.fromarray(UI).resize((1280, 800), Image.Resampling.NEAREST))
    image, ctx = prepare(big, scale=2.0, source_format="png")
    await run(options(fake), image, ctx)
    [seen] = fake.requests
    sent = Image.open(io.BytesIO(seen.png))
    assert sent.format == "PNG" and sent.size == (512, 320)  # 1280x800 fitted into 512 wide
    assert "Screenshot 640x400 CSS px" in seen.text  # lengths in CSS px at 2x
    assert "#2563eb" in seen.text and "#0f172a" in seen.text
    body_size = measured["font"]["size"]["body"]["$value"]["value"]
    assert f"font.size.body | dimension | {body_size:g}px" in seen.text
    lines = PATH_LINE.findall(seen.text)
    assert lines == list(values(naming.measure(image, ctx)))
    assert seen.max_tokens == naming.max_output_tokens("fake-ok", len(lines))
    assert seen.body["temperature"] == 0
    # example boxes are given in the sent image's pixels: the header spans its width
    assert "at [0,0,512," in seen.text


async def test_cost_is_usage_times_prices_exactly(fake: FakeOpenAI) -> None:
    image, ctx = page(budget_usd=1.0)
    out = await run(options(fake), image, ctx)
    [seen] = fake.requests
    content = reply_for("ok", PATH_LINE.findall(seen.text))  # what the fake answered
    usage = usage_for(seen.text, content, 1)
    meta = info(out)
    assert meta["usage"] == {"prompt_tokens": usage["prompt_tokens"],
                             "completion_tokens": usage["completion_tokens"]}
    expected = (usage["prompt_tokens"] * 0.5 + usage["completion_tokens"] * 4.0) / 1_000_000
    assert meta["cost_usd"] == expected and expected > 0
    assert ctx.meter.cost_usd == expected
    # the worst-case estimate that gated the call is a real upper bound
    prompt = naming.build_prompt(image, ctx, naming.measure(image, ctx))
    bound = naming.cost_usd(naming.prompt_tokens_estimate("fake-ok", prompt),
                            naming.max_output_tokens("fake-ok", len(prompt.paths)), (0.5, 4.0))
    assert expected < bound < 1.0


async def test_same_reply_same_bytes(fake: FakeOpenAI) -> None:
    image, ctx = page()
    a = await run(options(fake), image, ctx)
    b = await run(options(fake), image, dataclasses.replace(ctx, meter=Meter()))
    assert msgspec.json.encode(a) == msgspec.json.encode(b)


# --- budget and validation -----------------------------------------------------------------

async def test_budget_too_small_sends_nothing(fake: FakeOpenAI) -> None:
    image, ctx = page(budget_usd=0.0005)
    opts = options(fake, llm_prices={"fake-ok": (30.0, 120.0)})
    with pytest.raises(BudgetExceeded, match="over the remaining budget"):
        await run(opts, image, ctx)
    assert fake.requests == [] and ctx.meter.cost_usd == 0.0


async def test_invented_values_and_paths_are_dropped(fake: FakeOpenAI, measured: dict[str, Any]) -> None:
    image, ctx = page()
    out = await run(options(fake, "fake-invent"), image, ctx)
    paths = list(values(measured))
    meta = info(out)
    # a $value attempt, a non-kebab name, a too-long name and an unknown path
    assert meta["dropped"] == 4 and meta["named"] == len(paths) - 3
    assert "$value" not in keys_anywhere(out)
    assert "invented-99" not in out.get("color", {}).get("palette", {})
    for path in paths[:3]:
        with pytest.raises(KeyError):
            _at(out, path)
    doc = copy.deepcopy(measured)
    deep_merge(doc, out)
    assert values(doc) == values(measured)


def test_parse_reply_is_strict() -> None:
    paths = ["color.palette.blue-55", "color.palette.gray-98", "radius.md"]
    reply = {"tokens": {
        "color.palette.blue-55": {"name": "brand-primary", "rationale": "  Fills\nbuttons. "},
        "color.palette.gray-98": {"name": "brand-primary"},  # repeated among siblings
        "radius.md": {"name": "radius-button", "rationale": 3},  # not a string
        "radius.lg": {"name": "radius-card"},  # never measured
    }, "summary": "x" * 1000}
    names, summary, dropped = naming.parse_reply(msgspec.json.encode(reply).decode(), paths)
    assert names == {"color.palette.blue-55": ("brand-primary", "Fills buttons.")}
    assert dropped == 3 and len(summary) == naming.MAX_SUMMARY
    fenced = '```json\n{"tokens": {"radius.md": {"name": "radius-control"}}}\n```'
    assert naming.parse_reply(fenced, paths)[0] == {"radius.md": ("radius-control", "")}
    for bad in ('["tokens"]', '{"names": {}}', "not json"):
        with pytest.raises(LlmError):
            naming.parse_reply(bad, paths)


def test_same_name_in_different_groups_is_fine() -> None:
    paths = ["font.size.body", "font.lineHeight.body"]
    reply = '{"tokens": {"font.size.body": {"name": "body"}, "font.lineHeight.body": {"name": "body"}}}'
    assert naming.parse_reply(reply, paths) == (
        {"font.size.body": ("body", ""), "font.lineHeight.body": ("body", "")}, "", 0)


def test_values_are_written_compactly() -> None:
    dim = lambda v: {"value": v, "unit": "px"}  # noqa: E731
    black = {"colorSpace": "srgb", "components": [0, 0, 0], "alpha": 0.12, "hex": "#000000"}
    shadow = {"$type": "shadow", "$value": {"color": black, "offsetX": dim(0), "offsetY": dim(4.0),
                                            "blur": dim(12.5), "spread": dim(0), "inset": False}}
    assert naming.value_text(shadow) == "0px 4px 12.5px 0px #000000@0.12"
    typo = {"$type": "typography", "$value": {"fontSize": dim(16.0), "fontWeight": 600, "lineHeight": 1.5}}
    assert naming.value_text(typo) == "16px weight 600 line-height 1.5"
    assert naming.value_text({"$type": "fontWeight", "$value": 700}) == "700"
    assert naming.value_text({"$type": "cubicBezier", "$value": [0.4, 0, 0.2, 1]}) == "[0.4,0,0.2,1]"


def test_prices_defaults_overrides_and_prefixes() -> None:
    assert naming.price_for("gpt-4o-mini") == (0.15, 0.60)
    assert naming.price_for("gpt-4o-mini-2024-07-18") == (0.15, 0.60)  # dated snapshot
    assert naming.price_for("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert naming.price_for("openai/gpt-4.1-mini") == (0.40, 1.60)  # vendor/model ids
    assert naming.price_for("gpt-4o-mini", {"gpt-4o-mini": (1.0, 2.0)}) == (1.0, 2.0)
    assert naming.price_for("llama3.2-vision") is None
    assert naming.cost_usd(1_000_000, 500_000, (0.15, 0.60)) == pytest.approx(0.45)
    assert naming.cost_usd(1000, 1000, None) == 0.0


# --- failures ------------------------------------------------------------------------------

async def test_slow_server_times_out_quickly(fake: FakeOpenAI) -> None:
    image, ctx = page()
    t0 = time.monotonic()
    with pytest.raises(LlmTimeout, match="did not answer within 0.3 s"):
        await run(options(fake, "fake-slow", llm_timeout_s=0.3), image, ctx)
    assert time.monotonic() - t0 < 3.0  # measuring + 0.3 s, far under the server's 5 s
    assert len(fake.requests) == 1


@pytest.mark.parametrize("model, error, match", [
    ("fake-error", LlmError, "HTTP 500"),
    ("fake-unauthorized", LlmUnavailable, "refused the credentials"),
    ("fake-bad-json", LlmError, "not JSON"),
    ("fake-empty", LlmError, "empty reply"),
    ("gpt-unknown", LlmError, "HTTP 404"),
])
async def test_endpoint_failures_map_to_llm_errors(fake: FakeOpenAI, model: str,
                                                   error: type[Exception], match: str) -> None:
    image, ctx = page()
    with pytest.raises(error, match=match):
        await run(options(fake, model), image, ctx)
    assert len(fake.requests) == (0 if model == "gpt-unknown" else 1)
    if model == "fake-bad-json":  # the tokens were spent even though the reply was useless
        assert ctx.meter.cost_usd > 0


async def test_wrong_key_and_unreachable_endpoint_are_unavailable(fake: FakeOpenAI) -> None:
    image, ctx = page()
    with pytest.raises(LlmUnavailable, match="HTTP 401"):
        await run(dataclasses.replace(options(fake), llm_api_key="sk-wrong"), image, ctx)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    with pytest.raises(LlmUnavailable, match="cannot reach"):
        await run(dataclasses.replace(options(fake), llm_base_url=closed), image, ctx)
    assert fake.requests == []


def test_load_without_key_is_unavailable() -> None:
    with pytest.raises(LlmUnavailable, match="no LLM API key"):
        naming.load(ModelOptions(llm_base_url="http://127.0.0.1:9/v1", llm_api_key=None))
    with pytest.raises(LlmUnavailable):
        naming.load(ModelOptions(llm_api_key=""))
    model = naming.load(ModelOptions(llm_api_key="sk-x", llm_model="gpt-4o-mini"))
    try:
        assert model.description == "LLM naming: gpt-4o-mini at api.openai.com"
        assert "sk-x" not in model.description
    finally:
        model.close()


async def test_tiny_images(fake: FakeOpenAI) -> None:
    # nothing measured: nothing sent, nothing spent
    noise = np.random.default_rng(7).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    image, ctx = prepare(noise, scale=1.0, source_format="png")
    out = await run(options(fake), image, ctx)
    assert fake.requests == []
    assert info(out)["skipped"] == "no measured tokens" and info(out)["cost_usd"] == 0.0
    assert set(out) == {"naming"} and ctx.meter.cost_usd == 0.0
    # a 16x16 square on a background: its few tokens are named, the image is sent as is
    tiny = np.full((16, 16, 3), 240, np.uint8)
    tiny[4:12, 4:12] = (37, 99, 235)
    image, ctx = prepare(tiny, scale=1.0, source_format="png")
    out = await run(options(fake), image, ctx)
    [seen] = fake.requests
    assert Image.open(io.BytesIO(seen.png)).size == (16, 16)
    assert info(out)["named"] == len(PATH_LINE.findall(seen.text)) >= 1


# --- helpers -------------------------------------------------------------------------------

def _at(doc: dict[str, Any], path: str) -> dict[str, Any]:
    node = doc
    for key in path.split("."):
        node = node[key]
    return node


def _with_values(out: dict[str, Any]) -> dict[str, Any]:
    """Annotation nodes marked as tokens so token_paths lists the paths named."""
    def walk(node: dict[str, Any]) -> dict[str, Any]:
        if "$extensions" in node and "semantic_name" in node["$extensions"].get(EXTENSION_KEY, {}):
            return {**node, "$value": None}
        return {k: walk(v) if isinstance(v, dict) and not k.startswith("$") else v
                for k, v in node.items()}
    return walk({k: v for k, v in out.items() if k != "naming"})

