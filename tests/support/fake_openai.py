"""A small OpenAI-compatible chat-completions server (aiohttp) for the naming tests.

``POST /v1/chat/completions`` checks the bearer key and the request shape (a system message,
a user message with a text part and a PNG ``image_url`` data URL, ``response_format``
json_object), reads the token paths from the prompt lines (``path | type | value | ...``)
and answers with names for them and ``usage`` counts. The model name picks the behaviour:

* ``fake-ok``: a JSON object naming every path (``fake_name(path)``)
* ``fake-error``: HTTP 500 with an OpenAI error body
* ``fake-slow``: answers only after ``slow_s`` (longer than the client's timeout) or when
  the server closes — a slow server, not a test waiting
* ``fake-bad-json``: prose that is not JSON; ``fake-empty``: an empty message
* ``fake-invent``: also tries to set a ``$value``, names a path that was never measured,
  sends a name that is not kebab-case and one that is too long
* ``fake-unauthorized``: HTTP 401 whatever the key (a wrong key gets 401 too)

Any other model: 404 ``model_not_found``. Every request that reaches the handler is recorded
in ``requests`` (model, prompt text, PNG bytes, max tokens) before it is answered.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODELS = ("ok", "error", "slow", "bad-json", "empty", "invent", "unauthorized")
PATH_LINE = re.compile(r"^([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+) \| ", re.MULTILINE)
PNG_PREFIX = "data:image/png;base64,"
#: billed tokens per image part (OpenAI's low-detail count for gpt-4o)
IMAGE_TOKENS = 85


def fake_name(path: str) -> str:
    """The name the fake gives a path: its parts in kebab-case, at most 40 characters."""
    name = "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in path.split("."))
    return name[:40].rstrip("-")


def usage_for(text: str, content: str, images: int) -> dict[str, int]:
    prompt = math.ceil(len(text) / 4) + IMAGE_TOKENS * images
    completion = math.ceil(len(content) / 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


@dataclass
class Seen:
    model: str
    text: str
    png: bytes
    max_tokens: int | None
    body: dict[str, Any] = field(repr=False)


def _error(status: int, message: str, kind: str, code: str | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": None,
                                        "code": code}}, status=status)


class FakeOpenAI:
    """``async with FakeOpenAI() as fake:`` serves on 127.0.0.1 (an OS-picked port);
    ``fake.base_url`` ends in ``/v1``."""

    def __init__(self, *, api_key: str = "sk-test", slow_s: float = 5.0) -> None:
        self.api_key = api_key
        self.slow_s = slow_s
        self.requests: list[Seen] = []
        self.base_url = ""
        self._closing: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeOpenAI:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._closing is not None and self._runner is not None
        self._closing.set()  # releases a slow handler at once
        await self._runner.cleanup()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        model = body.get("model", "")
        mode = model.removeprefix("fake-")
        if not model.startswith("fake-") or mode not in MODELS:
            return _error(404, f"The model `{model}` does not exist.", "invalid_request_error",
                          "model_not_found")
        parsed = _parse_messages(body)
        if isinstance(parsed, str):
            return _error(400, parsed, "invalid_request_error")
        text, png = parsed
        if body.get("response_format") != {"type": "json_object"}:
            return _error(400, "response_format must be json_object here", "invalid_request_error")
        self.requests.append(Seen(model=model, text=text, png=png, body=body,
                                  max_tokens=body.get("max_tokens", body.get("max_completion_tokens"))))
        if mode == "unauthorized":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if mode == "error":
            return _error(500, "The server had an error while processing your request.", "server_error")
        if mode == "slow":
            assert self._closing is not None
            try:
                await asyncio.wait_for(self._closing.wait(), self.slow_s)
            except TimeoutError:
                pass  # the slow answer is due now
        paths = PATH_LINE.findall(text)
        content = reply_for(mode, paths)
        return web.json_response({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": usage_for(text, content, 1),
        })


def _parse_messages(body: dict[str, Any]) -> tuple[str, bytes] | str:
    """(prompt text, PNG bytes) of a well-formed request, else why it is not."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    if not any(m.get("role") == "system" and isinstance(m.get("content"), str) for m in messages):
        return "expected a system message"
    user = [m for m in messages if m.get("role") == "user"]
    if len(user) != 1 or not isinstance(user[0].get("content"), list):
        return "expected one user message with content parts"
    texts = [p["text"] for p in user[0]["content"] if p.get("type") == "text"]
    images = [p["image_url"]["url"] for p in user[0]["content"] if p.get("type") == "image_url"]
    if len(texts) != 1 or len(images) != 1:
        return "expected one text part and one image_url part"
    if not images[0].startswith(PNG_PREFIX):
        return "image_url must be a PNG data URL"
    png = base64.b64decode(images[0][len(PNG_PREFIX):], validate=True)
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image_url does not hold a PNG"
    return texts[0], png


def reply_for(mode: str, paths: list[str]) -> str:
    """The message content the fake answers ``mode`` with for these prompt paths."""
    if mode == "bad-json":
        return "Sure! Here are the names you asked for: {tokens: brand-primary, ..."
    if mode == "empty":
        return ""
    tokens: dict[str, Any] = {p: {"name": fake_name(p), "rationale": f"Seen as {p}."} for p in paths}
    if mode == "invent" and len(paths) >= 3:
        tokens[paths[0]]["$value"] = "#ff0000"  # tries to change a measured value
        tokens[paths[1]]["name"] = "Brand Primary!"
        tokens[paths[2]]["name"] = "a-" + "very-" * 10 + "long-name"
        tokens["color.palette.invented-99"] = {"name": "brand-secret", "rationale": "Made up."}
    reply: dict[str, Any] = {"tokens": tokens, "summary": f"A page with {len(paths)} measured tokens."}
    if mode == "invent":
        reply["color"] = {"palette": {"invented-99": {"$value": "#ff0000"}}}
    return json.dumps(reply)
