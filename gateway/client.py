"""Python client for the gateway's WebSocket API.

    async with aiohttp.ClientSession() as session:
        async for message in stream_extraction("http://127.0.0.1:8080", png_bytes,
                                               extractors=["color"], session=session):
            print(message.stage)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from stylestream.schemas import StreamMessage, decode_message

TERMINAL_STAGES = frozenset({"complete", "failed"})


class GatewayError(Exception):
    """The gateway could not be reached or broke the protocol."""


def ws_url(gateway: str, *, extractors: Sequence[str] | None = None, mode: str | None = None,
           scale: float | None = None, budget_usd: float | None = None) -> str:
    """``http://host:port`` (or ``ws://``, ``https://``, ``wss://``) -> the extract WS URL.
    Query parameters already on ``gateway`` are kept; the keyword arguments override them."""
    parts = urlsplit(gateway if "://" in gateway else f"http://{gateway}")
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(f"not a gateway URL: {gateway!r} (expected http://host:port)")
    query: dict[str, str] = dict(parse_qsl(parts.query))
    if extractors:
        query["extractors"] = ",".join(extractors)
    if mode:
        query["mode"] = mode
    if scale:
        query["scale"] = f"{scale:g}"
    if budget_usd is not None:
        query["budget"] = f"{budget_usd:g}"
    path = parts.path.rstrip("/")
    if not path.endswith("/v1/extract"):
        path += "/v1/extract"
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


async def stream_extraction(
    gateway: str,
    image: bytes,
    *,
    extractors: Sequence[str] | None = None,
    mode: str | None = None,
    scale: float | None = None,
    budget_usd: float | None = None,
    session: aiohttp.ClientSession | None = None,
    timeout_s: float = 120.0,
) -> AsyncIterator[StreamMessage]:
    """Send one image, yield every message until ``complete`` or ``failed``."""
    url = ws_url(gateway, extractors=extractors, mode=mode, scale=scale, budget_usd=budget_usd)
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        try:
            ws = await session.ws_connect(
                url, heartbeat=20.0, max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=timeout_s, ws_close=10.0),
            )
        except aiohttp.ClientError as exc:
            raise GatewayError(f"cannot connect to {url}: {exc}") from exc
        async with ws:
            await ws.send_bytes(image)
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                message = decode_message(frame.data)
                yield message
                if message.stage in TERMINAL_STAGES:
                    return
            raise GatewayError("connection closed before `complete`")
    finally:
        if own:
            await session.close()
