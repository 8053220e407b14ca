"""Rebuild a finished request's message stream from STYLE_RESULTS.

The request record (``style.results.<id>._request``) holds the messages as sent, without
tokens; each extractor's stored result holds its tokens. Merging them back gives the same
stream, in the original order, that the client received.
"""

from __future__ import annotations

import msgspec

from stylestream.errors import RequestError
from stylestream.schemas import RECORD_TOKEN, StreamMessage, decode_result, deep_merge

from .bus import GatewayBus

_messages = msgspec.json.Decoder(list[StreamMessage])


class NotFound(RequestError):
    """No finished request with this id is stored (unknown, still running, or expired)."""

    code = "NOT_FOUND"
    http_status = 404


async def replay(bus: GatewayBus, request_id: str) -> list[StreamMessage]:
    raw = await bus.stored_result(request_id, RECORD_TOKEN)
    if raw is None:
        raise NotFound(f"no finished request {request_id!r} in the results stream")
    messages = _messages.decode(msgspec.json.encode(msgspec.json.decode(raw)["messages"]))
    tokens: dict[str, dict] = {}
    for message in messages:
        names = ([message.metadata.extractor] if message.metadata.extractor
                 else message.metadata.tier_extractors or [])
        for name in names:
            if name not in tokens:
                data = await bus.stored_result(request_id, name)
                result = decode_result(data) if data is not None else None
                tokens[name] = result.tokens if result is not None and result.ok else {}
    merged: dict = {}
    for message in messages:
        md = message.metadata
        if message.stage == "extractor_complete" and md.extractor:
            message.tokens = deep_merge({}, tokens[md.extractor])
        elif message.stage in ("cv_complete", "ai_complete"):
            message.tokens = {}
            for name in md.tier_extractors or []:
                if not (md.errors and name in md.errors):
                    deep_merge(message.tokens, tokens[name])
        elif message.stage == "complete":
            message.tokens = merged
        if message.stage in ("extractor_complete", "cv_complete", "ai_complete"):
            deep_merge(merged, message.tokens)
    return messages
