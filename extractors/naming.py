"""Semantic names for measured tokens from an LLM, with the money it cost (tier 3).

Measure first, name second
    For each image the pure CV extractors (``MEASURE``: colour, typography, spacing, radius,
    shadow — those whose module exists) run locally on the ``prepare()``d pixels, giving the
    same tokens the CV workers publish. The LLM then sees those tokens (path, type, compact
    value, share / count / example box) and the screenshot downscaled to fit
    ``SEND_MAX_W`` x ``SEND_MAX_H`` (PNG data URL, ``detail: low``), in one chat completion
    with ``response_format={"type": "json_object"}``. It is asked for a semantic name and a
    one-sentence rationale per token path, and a short summary of the visual style.

What comes back
    Annotations that merge into the measured document and never touch a value::

        {"color": {"palette": {"blue-55": {
            "$description": "Brand primary: fills every call to action.",
            "$extensions": {"dev.stylestream": {"semantic_name": "brand-primary"}}}}},
         "naming": {"$extensions": {"dev.stylestream": {"summary": ..., "model": ...,
            "usage": {"prompt_tokens": .., "completion_tokens": ..}, "cost_usd": ..,
            "priced": true, "named": n, "dropped": n, "omitted": n}}}}

    The reply is validated strictly: only paths of measured tokens, an entry holds only
    ``name`` (lower-kebab, at most ``MAX_NAME`` characters) and optionally ``rationale``
    (a string, whitespace collapsed, cut to ``MAX_RATIONALE``); a name repeated among
    sibling tokens (same parent group) keeps its first path. Anything else (an unknown path, a ``$value`` or
    any other key, a bad name) drops the entry and counts in ``dropped``.

Cost and budget
    cost = prompt_tokens x input price + completion_tokens x output price, prices in USD per
    1M tokens from ``ModelOptions.llm_prices`` over ``DEFAULT_PRICES`` (exact model name, then
    the longest table prefix, so dated snapshots and ``vendor/model`` ids find their price).
    A model with no price is treated as free (self-hosted) and reported ``priced: false``.
    The cost goes to ``ctx.meter`` as soon as the reply arrives, even when the reply is then
    rejected. Before calling, the worst case (prompt text at 3 characters per token, the
    image at a generous per-model token count, plus the whole ``max_tokens`` of output) is
    compared with ``ctx.budget_usd``: over it, ``BudgetExceeded`` is raised and nothing is
    sent. When the endpoint reports no usage, usage is estimated (``usage_estimated``).

Errors and limits
    Timeouts -> ``LlmTimeout``; 401/403 or an unreachable endpoint -> ``LlmUnavailable``;
    other HTTP errors, an empty, non-JSON or wrongly shaped reply -> ``LlmError``. The client
    does not retry; its timeout bounds every connect/read wait (a server that trickles bytes
    slower than that is still cut off by the read timeout, but one that trickles faster could
    stretch a call). At most ``MAX_PATHS`` tokens are sent (document order; the rest are
    ``omitted``). Names are only as good as the model: it sees a small image and may name a
    role wrongly; values are never taken from it. An image with no measured tokens is not
    sent at all. Given the same reply the output is deterministic (measured-path order).
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import io
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msgspec
import numpy as np

from stylestream.errors import BudgetExceeded, LlmError, LlmTimeout, LlmUnavailable
from stylestream.extractors import ExtractContext, ModelOptions
from stylestream.schemas.tokens import EXTENSION_KEY

#: CV extractors run before naming (modules under stylestream.extractors; missing ones skipped)
MEASURE = ("color", "typography", "spacing", "radius", "shadow")
#: the endpoint used when a key is configured without a base URL
OPENAI_BASE_URL = "https://api.openai.com/v1"
#: USD per 1M (input, output) tokens, standard tier; override with ModelOptions.llm_prices
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
}
#: image tokens billed for a ``detail: low`` image, where a model bills a fixed count
#: (None: patch-billed, estimated from the size); longest prefix wins
IMAGE_TOKENS: dict[str, int | None] = {
    "gpt-4o-mini": 2833, "gpt-4o": 85, "gpt-4.1": 85, "gpt-4.1-mini": None,
    "gpt-4.1-nano": None, "gpt-5": 85, "gpt-5-mini": None, "gpt-5-nano": None,
}
#: patch-billed or unknown models: tokens per 32x32 patch (covers 1.2-2.5 in known tables)
IMAGE_TOKENS_PER_PATCH = 2.5
#: reasoning models take max_completion_tokens, no temperature, and think within it
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
REASONING_EXTRA_TOKENS = 2048
#: the screenshot sent to the model fits in this box (px)
SEND_MAX_W = 512
SEND_MAX_H = 1024
#: most token paths sent in one request, and output tokens allowed per path
MAX_PATHS = 120
OUTPUT_BASE_TOKENS = 256
OUTPUT_TOKENS_PER_PATH = 64
MAX_OUTPUT_TOKENS = 8192
#: worst-case prompt estimate: characters per token, plus per-request overhead
CHARS_PER_TOKEN = 3.0
PROMPT_OVERHEAD_TOKENS = 64
MAX_NAME = 40
MAX_RATIONALE = 200
MAX_SUMMARY = 400
MAX_VALUE_CHARS = 80
NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
#: token names we can address in a dotted path
_KEY_RE = re.compile(r"[^\s.|{}$][^\s.|{}]*")
_ENTRY_KEYS = frozenset({"name", "rationale"})

SYSTEM_PROMPT = (
    "You name design tokens that were measured from a UI screenshot. The values were measured "
    "from pixels and are final: never change, add or restate a value. For each token path you "
    "are given, choose a semantic name for its role in this UI (for example brand-primary, "
    "surface-card, text-muted, border-subtle, heading-1, body, radius-button, shadow-card): "
    f"lower-kebab-case, at most {MAX_NAME} characters, unique within its group, and "
    "a one-sentence rationale saying where it is used. Leave out tokens whose role you cannot "
    "see. Use only the paths given. Answer with one JSON object and nothing else: "
    '{"tokens": {"<path>": {"name": "<semantic-name>", "rationale": "<one sentence>"}}, '
    '"summary": "<one or two sentences on the visual style>"}'
)


# --- measuring -------------------------------------------------------------------------

def measure(image: np.ndarray, ctx: ExtractContext,
            names: Sequence[str] = MEASURE) -> dict[str, Any]:
    """The measured document (plain dicts) from the CV extractors in ``names`` whose module
    exists; the same tokens their workers publish for the same pixels and context."""
    from stylestream.extractors.text import shared_detections
    from stylestream.schemas import deep_merge

    doc: dict[str, Any] = {}
    with shared_detections():  # text lines and boxes once for all of them
        for name in names:
            module = f"stylestream.extractors.{name}"
            if importlib.util.find_spec(module) is None:
                continue
            extract = importlib.import_module(module).extract
            deep_merge(doc, msgspec.to_builtins(extract(image, ctx)))
    return doc


def token_paths(doc: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path, token) for every token (a dict with ``$value``) in document order. Names that
    cannot be written in a dotted path (a dot, space, ``|``, braces) are skipped."""
    def walk(node: Mapping[str, Any], path: tuple[str, ...]):
        for key, child in node.items():
            if not isinstance(child, dict) or key.startswith("$") or not _KEY_RE.fullmatch(key):
                continue
            if "$value" in child:
                yield path + (key,), child
            else:
                yield from walk(child, path + (key,))
    yield from walk(doc, ())


# --- prompt ----------------------------------------------------------------------------

def _num(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _dim(v: Any) -> str | None:
    if isinstance(v, dict) and isinstance(v.get("value"), int | float):
        return f"{_num(v['value'])}{v.get('unit', 'px')}"
    return None


def _color(v: Any) -> str | None:
    if isinstance(v, dict) and isinstance(v.get("hex"), str):
        alpha = v.get("alpha", 1.0)
        return v["hex"] if alpha in (1, 1.0, None) else f"{v['hex']}@{_num(float(alpha))}"
    return None


def _shadow(v: Any) -> str | None:
    layers = v if isinstance(v, list) else [v]
    out = []
    for layer in layers:
        if not isinstance(layer, dict):
            return None
        parts = [_dim(layer.get(k)) for k in ("offsetX", "offsetY", "blur", "spread")]
        col = _color(layer.get("color"))
        if None in parts or col is None:
            return None
        inset = "inset " if layer.get("inset") else ""
        out.append(inset + " ".join(parts) + " " + col)  # type: ignore[arg-type]
    return ", ".join(out)


def _typography(v: Any) -> str | None:
    if not isinstance(v, dict):
        return None
    size = _dim(v.get("fontSize"))
    if size is None:
        return None
    text = f"{size} weight {v.get('fontWeight')}"
    if v.get("lineHeight") is not None:
        text += f" line-height {_num(v['lineHeight'])}"
    if isinstance(v.get("fontFamily"), list):
        text += " family " + "/".join(str(f) for f in v["fontFamily"][:3])
    return text


def value_text(token: Mapping[str, Any]) -> str:
    """A token's value in a few characters (hex, ``16px``, ``0 4px 12px 0 #0000001f``)."""
    kind, value = token.get("$type"), token.get("$value")
    text: str | None = None
    if kind == "color":
        text = _color(value)
    elif kind == "dimension":
        text = _dim(value)
    elif kind == "shadow":
        text = _shadow(value)
    elif kind == "typography":
        text = _typography(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = _num(value)
    if text is None:
        text = msgspec.json.encode(value).decode()
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def evidence_text(token: Mapping[str, Any], factor: float) -> str:
    """Share, count, text colour and one example box (scaled by ``factor`` into the image
    the model sees)."""
    ev = token.get("$extensions", {}).get(EXTENSION_KEY, {})
    if not isinstance(ev, dict):
        return ""
    parts = []
    if isinstance(ev.get("share"), int | float):
        parts.append(f"share {_num(float(ev['share']))}")
    if isinstance(ev.get("count"), int):
        parts.append(f"n {ev['count']}")
    if isinstance(ev.get("color"), str):
        parts.append(f"color {ev['color']}")
    boxes = ev.get("boxes")
    if isinstance(boxes, list) and boxes and isinstance(boxes[0], list | tuple) and len(boxes[0]) == 4:
        x, y, w, h = (float(c) for c in boxes[0])
        parts.append("at [{},{},{},{}]".format(round(x * factor), round(y * factor),
                                               max(1, round(w * factor)), max(1, round(h * factor))))
    return ", ".join(parts)


def downscaled_png(image: np.ndarray) -> tuple[bytes, float]:
    """The image fitted into SEND_MAX_W x SEND_MAX_H (area averaging) as PNG; and the factor."""
    from PIL import Image

    h, w = image.shape[:2]
    factor = min(1.0, SEND_MAX_W / w, SEND_MAX_H / h)
    pil = Image.fromarray(np.ascontiguousarray(image), "RGB")
    if factor < 1.0:
        pil = pil.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BOX)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue(), factor


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str
    png: bytes
    size: tuple[int, int]
    #: the token paths sent, in order
    paths: tuple[str, ...]
    omitted: int


def build_prompt(image: np.ndarray, ctx: ExtractContext, doc: Mapping[str, Any]) -> Prompt:
    """The user text (one line per token: ``path | type | value | evidence``) and the image."""
    png, factor = downscaled_png(image)
    h, w = image.shape[:2]
    sw, sh = max(1, round(w * factor)), max(1, round(h * factor))
    scale = ctx.scale if ctx.scale > 0 else 1.0
    tokens = list(token_paths(doc))
    sent = tokens[:MAX_PATHS]
    lines = [
        f"Screenshot {_num(w / scale)}x{_num(h / scale)} CSS px; the attached image is {sw}x{sh} px.",
        "Measured tokens, one per line: path | type | value | evidence (share = fraction of "
        "pixels or elements, n = count, at = example box [x,y,w,h] in attached-image px).",
    ]
    for path, token in sent:
        ev = evidence_text(token, factor)
        lines.append(" | ".join([".".join(path), str(token.get("$type", "")), value_text(token)]
                                + ([ev] if ev else [])))
    lines.append("Reply with the JSON object described: names for these paths only.")
    return Prompt(text="\n".join(lines), png=png, size=(sw, sh),
                  paths=tuple(".".join(p) for p, _ in sent), omitted=len(tokens) - len(sent))


# --- prices ----------------------------------------------------------------------------

def _lookup(model: str, table: Mapping[str, Any]) -> tuple[bool, Any]:
    for name in (model, model.rsplit("/", 1)[-1]):
        if name in table:
            return True, table[name]
        best = max((k for k in table if name.startswith(k)), key=len, default=None)
        if best is not None:
            return True, table[best]
    return False, None


def price_for(model: str, prices: Mapping[str, tuple[float, float]] | None = None
              ) -> tuple[float, float] | None:
    """(USD per 1M input tokens, per 1M output tokens) for ``model``, or None if unpriced.
    ``prices`` (the options' table) wins over ``DEFAULT_PRICES``."""
    for table in (prices or {}, DEFAULT_PRICES):
        found, price = _lookup(model, table)
        if found:
            return float(price[0]), float(price[1])
    return None


def cost_usd(prompt_tokens: int, completion_tokens: int, price: tuple[float, float] | None) -> float:
    """usage x price, USD."""
    if price is None:
        return 0.0
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


def image_tokens(model: str, size: tuple[int, int]) -> int:
    """Generous estimate of the tokens a ``detail: low`` image of ``size`` is billed as."""
    found, fixed = _lookup(model, IMAGE_TOKENS)
    if found and fixed is not None:
        return int(fixed)
    patches = math.ceil(size[0] / 32) * math.ceil(size[1] / 32)
    return math.ceil(min(patches, 1536) * IMAGE_TOKENS_PER_PATCH)


def is_reasoning(model: str) -> bool:
    return model.rsplit("/", 1)[-1].startswith(REASONING_PREFIXES)


def max_output_tokens(model: str, n_paths: int) -> int:
    n = min(MAX_OUTPUT_TOKENS, OUTPUT_BASE_TOKENS + OUTPUT_TOKENS_PER_PATH * n_paths)
    return n + (REASONING_EXTRA_TOKENS if is_reasoning(model) else 0)


def prompt_tokens_estimate(model: str, prompt: Prompt) -> int:
    chars = len(SYSTEM_PROMPT) + len(prompt.text)
    return math.ceil(chars / CHARS_PER_TOKEN) + image_tokens(model, prompt.size) + PROMPT_OVERHEAD_TOKENS


# --- reply -----------------------------------------------------------------------------

def _clean(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def parse_reply(content: str, paths: Sequence[str]) -> tuple[dict[str, tuple[str, str]], str, int]:
    """Strictly validated ({path: (name, rationale)}, summary, dropped entries) of a reply.

    Raises LlmError when the reply is not a JSON object with a ``tokens`` object."""
    text = content.strip()
    if text.startswith("```"):  # a fenced block from endpoints that ignore response_format
        text = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", text)
    try:
        reply = json.loads(text)
    except ValueError as exc:
        raise LlmError(f"LLM reply is not JSON ({exc}): {_clean(content, 120)!r}") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("tokens"), dict):
        raise LlmError(f"LLM reply has no 'tokens' object: {_clean(content, 120)!r}")
    entries: dict[str, Any] = reply["tokens"]
    known = set(paths)
    dropped = sum(1 for p in entries if p not in known)
    names: dict[str, tuple[str, str]] = {}
    used: set[tuple[str, str]] = set()
    for path in paths:  # measured order: the output does not depend on the reply's order
        if path not in entries:
            continue
        entry = entries[path]
        ok = (isinstance(entry, dict) and set(entry) <= _ENTRY_KEYS
              and isinstance(entry.get("name"), str) and len(entry["name"]) <= MAX_NAME
              and NAME_RE.fullmatch(entry["name"]) is not None
              and isinstance(entry.get("rationale", ""), str))
        group_name = (path.rsplit(".", 1)[0], entry["name"]) if ok else None
        if not ok or group_name in used:
            dropped += 1
            continue
        used.add(group_name)  # type: ignore[arg-type]
        names[path] = (entry["name"], _clean(entry.get("rationale", ""), MAX_RATIONALE))
    summary = reply.get("summary")
    return names, _clean(summary, MAX_SUMMARY) if isinstance(summary, str) else "", dropped


def annotations(names: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """{path: (name, rationale)} -> nested ``$description`` / ``$extensions`` to deep-merge."""
    out: dict[str, Any] = {}
    for path, (name, rationale) in names.items():
        node = out
        for key in path.split("."):
            node = node.setdefault(key, {})
        if rationale:
            node["$description"] = rationale
        node["$extensions"] = {EXTENSION_KEY: {"semantic_name": name}}
    return out


# --- the loaded extractor --------------------------------------------------------------

def load(options: ModelOptions) -> NamingExtractor:
    """An OpenAI-compatible client for ``options`` (no request is made here).

    Raises LlmUnavailable when no API key is configured. Without a base URL, OpenAI's."""
    if not options.llm_api_key:
        raise LlmUnavailable("no LLM API key configured (OPENAI_API_KEY)")
    if not options.llm_model:
        raise LlmUnavailable("no LLM model configured")
    try:
        import openai
    except ImportError:
        raise LlmUnavailable("the openai package is not installed (pip install stylestream[llm])") from None
    base_url = options.llm_base_url or OPENAI_BASE_URL
    client = openai.OpenAI(api_key=options.llm_api_key, base_url=base_url,
                           timeout=options.llm_timeout_s, max_retries=0)
    return NamingExtractor(client, options, base_url)


class NamingExtractor:
    """Loaded once per worker; ``extract_batch`` names each image's tokens in turn."""

    def __init__(self, client: Any, options: ModelOptions, base_url: str) -> None:
        self._client = client
        self.options = options
        self.model = options.llm_model
        self.host = urlsplit(base_url).netloc or base_url
        self.price = price_for(self.model, options.llm_prices)
        self.description = f"LLM naming: {self.model} at {self.host}"

    def close(self) -> None:
        self._client.close()

    def extract_batch(self, images: Sequence[np.ndarray],
                      ctxs: Sequence[ExtractContext]) -> list[dict[str, Any]]:
        """One output per image, in order, one request each (sequentially)."""
        return [self.extract(image, ctx) for image, ctx in zip(images, ctxs, strict=True)]

    def extract(self, image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
        prompt = build_prompt(image, ctx, measure(image, ctx))
        if not prompt.paths:
            return self._result(summary="", usage=(0, 0), cost=0.0, named=0, dropped=0,
                                omitted=0, skipped="no measured tokens")
        max_out = max_output_tokens(self.model, len(prompt.paths))
        estimate = cost_usd(prompt_tokens_estimate(self.model, prompt), max_out, self.price)
        if ctx.budget_usd is not None and estimate > ctx.budget_usd:
            raise BudgetExceeded(f"naming with {self.model} may cost up to {estimate:.6f} USD, "
                                 f"over the remaining budget of {ctx.budget_usd:.6f} USD")
        content, detail, model, usage, estimated = self._complete(prompt, max_out)
        cost = cost_usd(usage[0], usage[1], self.price)
        ctx.meter.add(cost)  # spent even if the reply is then rejected
        if not content:
            raise LlmError(f"{self.model} at {self.host} gave an empty reply ({detail})")
        names, summary, dropped = parse_reply(content, prompt.paths)
        out = annotations(names)
        out.update(self._result(summary=summary, usage=usage, cost=cost, named=len(names),
                                dropped=dropped, omitted=prompt.omitted, model=model,
                                estimated=estimated))
        return out

    def _result(self, *, summary: str, usage: tuple[int, int], cost: float, named: int,
                dropped: int, omitted: int, model: str | None = None, estimated: bool = False,
                skipped: str | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {
            "summary": summary, "model": model or self.model,
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]},
            "cost_usd": cost, "priced": self.price is not None,
            "named": named, "dropped": dropped, "omitted": omitted,
        }
        if estimated:
            info["usage_estimated"] = True
        if skipped:
            info["skipped"] = skipped
        return {"naming": {"$extensions": {EXTENSION_KEY: info}}}

    def _complete(self, prompt: Prompt, max_out: int):
        """One chat completion -> (content, why it may be empty, model, (prompt, completion) tokens,
        usage estimated?). Maps transport and HTTP failures to the LLM errors."""
        import openai

        url = "data:image/png;base64," + base64.b64encode(prompt.png).decode()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": [
                    {"type": "text", "text": prompt.text},
                    {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
                ]},
            ],
            "response_format": {"type": "json_object"},
        }
        if is_reasoning(self.model):
            kwargs.update(max_completion_tokens=max_out, reasoning_effort="low")
        else:
            kwargs.update(max_tokens=max_out, temperature=0)
        where = f"{self.model} at {self.host}"
        try:
            completion = self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            raise LlmTimeout(f"{where} did not answer within {self.options.llm_timeout_s:g} s") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise LlmUnavailable(f"{where} refused the credentials (HTTP {exc.status_code})") from None
        except openai.APIConnectionError as exc:
            raise LlmUnavailable(f"cannot reach {where}: {exc.__cause__ or exc}") from None
        except openai.APIStatusError as exc:
            detail = _clean(str(exc.message), 200)
            raise LlmError(f"{where} answered HTTP {exc.status_code}: {detail}") from None
        except openai.APIError as exc:
            raise LlmError(f"{where} gave an unusable answer: {_clean(str(exc), 200)}") from None
        choices = getattr(completion, "choices", None) or []
        message = getattr(choices[0], "message", None) if choices else None
        content = getattr(message, "content", None)
        content = content if isinstance(content, str) else ""
        finish = getattr(choices[0], "finish_reason", None) if choices else None
        usage = getattr(completion, "usage", None)
        p_tok, c_tok = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        estimated = not (isinstance(p_tok, int) and isinstance(c_tok, int))
        if estimated:
            p_tok = prompt_tokens_estimate(self.model, prompt)
            c_tok = math.ceil(len(content) / CHARS_PER_TOKEN)
        model = getattr(completion, "model", None)
        detail = f"finish_reason {finish!r}" if choices else "no choices"
        return (content, detail, model if isinstance(model, str) and model else self.model,
                (int(p_tok), int(c_tok)), estimated)  # type: ignore[arg-type]
