"""Messages on the NATS bus.

* ``ImageEvent`` on ``style.images.<request_id>`` (stream STYLE_IMAGES), MessagePack because
  it carries the image bytes inline.
* ``ExtractorResult`` on ``style.results.<request_id>.<extractor>`` (stream STYLE_RESULTS),
  JSON so that ``nats sub 'style.results.>'`` is readable.

Inputs are strict (``forbid_unknown_fields``) with ``Meta`` limits so bad data fails at decode.
Changes are additive only: new optional fields with defaults, ``v`` bumps on breaking change.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

WIRE_VERSION = 1

RequestId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
ExtractorName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Mode = Literal["atomic", "tier"]
# 8 MB upload limit plus headroom; the gateway enforces the configured limit first.
ImageBytes = Annotated[bytes, Meta(min_length=1, max_length=16 * 1024 * 1024)]


class ImageEvent(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One screenshot to measure; every listed extractor's worker acts on it."""

    v: int = WIRE_VERSION
    request_id: RequestId
    extractors: Annotated[list[ExtractorName], Meta(min_length=1, max_length=64)]
    mode: Mode = "atomic"
    image: ImageBytes
    #: "png", "jpeg" or "webp" as sniffed by the gateway
    image_format: str = ""
    #: device pixel ratio if the client knows it (``scale=`` on the request)
    scale: Annotated[float, Meta(gt=0, le=8)] | None = None
    #: unix time (s) by which results are useless; workers skip expired events
    deadline: float = 0.0
    #: unix time (s) the gateway accepted the image
    accepted_at: float = 0.0
    #: money the request may spend on paid extractors (USD); None = no limit
    budget_usd: Annotated[float, Meta(ge=0)] | None = None


class ErrorInfo(msgspec.Struct, frozen=True):
    code: str
    message: str


class ExtractorResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What one extractor found for one request (or why it could not)."""

    v: int = WIRE_VERSION
    request_id: RequestId
    extractor: ExtractorName
    ok: bool
    #: token groups keyed by top-level DTCG group, e.g. {"color": {...}}; empty on failure
    tokens: dict[str, Any] = {}
    error: ErrorInfo | None = None
    #: time spent in the extractor itself (decode included), milliseconds
    duration_ms: float = 0.0
    #: money spent (LLM calls), USD
    cost: float = 0.0
    #: which replica produced it: "<host>:<pid>"
    worker: str = ""
    #: JetStream delivery attempt that produced this result (1 = first try)
    attempt: int = 1


class RequestRecord(msgspec.Struct, kw_only=True):
    """What the gateway sent for one finished request, tokens left out (they are in the
    extractors' results beside it). Published on ``style.results.<request_id>._request``;
    ``GET /v1/extractions/{request_id}`` rebuilds the stream from it and the results."""

    v: int = WIRE_VERSION
    request_id: RequestId
    #: StreamMessages in the order they were sent, each with empty ``tokens``
    messages: list[Any]


class ExtractorStatus(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Whether a worker can run an extractor (stored in the STYLE_STATUS key-value bucket)."""

    v: int = WIRE_VERSION
    extractor: ExtractorName
    available: bool
    error: ErrorInfo | None = None
    #: what runs it, e.g. "open_clip ViT-B-32 on cuda"
    description: str = ""
    worker: str = ""


#: the results-subject token under which the request record is stored; extractor names
#: cannot start with "_", so it never collides with a result
RECORD_TOKEN = "_request"

_event_encoder = msgspec.msgpack.Encoder()
_event_decoder = msgspec.msgpack.Decoder(ImageEvent)
_result_encoder = msgspec.json.Encoder()
_result_decoder = msgspec.json.Decoder(ExtractorResult)


def encode_event(event: ImageEvent) -> bytes:
    return _event_encoder.encode(event)


def decode_event(data: bytes) -> ImageEvent:
    return _event_decoder.decode(data)


def encode_result(result: ExtractorResult) -> bytes:
    return _result_encoder.encode(result)


def decode_result(data: bytes) -> ExtractorResult:
    return _result_decoder.decode(data)


_record_encoder = msgspec.json.Encoder()
_status_decoder = msgspec.json.Decoder(ExtractorStatus)


def encode_status(status: ExtractorStatus) -> bytes:
    return _record_encoder.encode(status)


def decode_status(data: bytes) -> ExtractorStatus:
    return _status_decoder.decode(data)


def encode_record(record: RequestRecord) -> bytes:
    return _record_encoder.encode(record)


def images_subject(prefix: str, request_id: str) -> str:
    return f"{prefix}.{request_id}"


def results_subject(prefix: str, request_id: str, extractor: str = ">") -> str:
    return f"{prefix}.{request_id}.{extractor}"
