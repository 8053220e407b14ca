"""Small helpers to talk to a running gateway in tests."""

from __future__ import annotations

from collections.abc import Sequence

from stylestream.gateway.client import stream_extraction
from stylestream.schemas import StreamMessage


async def collect(url: str, image: bytes, *, extractors: Sequence[str] | None = None,
                  mode: str | None = None) -> list[StreamMessage]:
    return [m async for m in stream_extraction(url, image, extractors=extractors, mode=mode)]


def stages(messages: Sequence[StreamMessage]) -> list[str]:
    return [m.stage for m in messages]
