"""Messages the gateway streams to clients (WebSocket text frames, NDJSON lines).

Every message is ``{"stage", "tokens", "metadata"}``. Clients deep-merge ``tokens``.
``Metadata`` is one struct with optional fields so every stage shares one shape on the
wire; fields that do not apply to a stage are omitted.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from .bus import ErrorInfo, Mode

Stage = Literal[
    "accepted",
    "extractor_complete",
    "extractor_failed",
    "cv_complete",
    "ai_complete",
    "failed",
    "complete",
]

STAGES: tuple[str, ...] = Stage.__args__  # type: ignore[attr-defined]


class Metadata(msgspec.Struct, omit_defaults=True, kw_only=True):
    request_id: str | None = None
    mode: Mode | None = None
    # accepted
    extractors: list[str] | None = None
    #: extractors that cannot run for this request, with the reason (also listed in extractors)
    unavailable: dict[str, ErrorInfo] | None = None
    # per extractor / tier
    extractor: str | None = None
    tier: int | None = None
    weight: float | None = None
    elapsed_ms: float | None = None
    extractors_completed: int | None = None
    extractors_total: int | None = None
    is_final: bool | None = None
    total_cost: float | None = None
    worker: str | None = None
    duration_ms: float | None = None
    error: ErrorInfo | None = None
    # tier messages: which extractors the tier held, and which of them failed
    tier_extractors: list[str] | None = None
    errors: dict[str, ErrorInfo] | None = None
    # complete
    ttfr_ms: float | None = None
    total_ms: float | None = None
    elapsed: dict[str, float] | None = None
    failed: list[str] | None = None


class StreamMessage(msgspec.Struct, kw_only=True):
    stage: Stage
    tokens: dict[str, Any] = {}
    metadata: Metadata = msgspec.field(default_factory=Metadata)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(StreamMessage)


def encode_message(message: StreamMessage) -> bytes:
    return _encoder.encode(message)


def decode_message(data: bytes | str) -> StreamMessage:
    return _decoder.decode(data)


def deep_merge(into: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into ``into`` in place, recursing into nested dicts; returns ``into``.

    Values are copied in, never aliased, so later merges cannot change ``update``.
    """
    for key, value in update.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            deep_merge(current, value)
        else:
            into[key] = _clone(value)
    return into


def _clone(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value
