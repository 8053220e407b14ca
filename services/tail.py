"""`stylestream tail`: print bus traffic readably (no NATS CLI installs here).

Image events are summarised (their bytes are an image); results and request records are
printed in full, one JSON document per line after the subject.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TextIO

import msgspec

from stylestream.config import IMAGES_SUBJECT_PREFIX, Settings
from stylestream.schemas import decode_event

from .connection import close_connection, connect


def describe(subject: str, data: bytes) -> str:
    """One readable line for a bus message."""
    if subject.startswith(IMAGES_SUBJECT_PREFIX + "."):
        try:
            event = decode_event(data)
        except msgspec.DecodeError as exc:
            return f"{subject}  undecodable image event ({len(data)} bytes): {exc}"
        scale = f" scale={event.scale:g}" if event.scale else ""
        return (f"{subject}  image event: request={event.request_id} mode={event.mode} "
                f"extractors={','.join(event.extractors)} {event.image_format or '?'} "
                f"{len(event.image)} bytes{scale}")
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return f"{subject}  {len(data)} bytes (not JSON)"
    return f"{subject}  {json.dumps(doc, separators=(',', ':'))}"


async def tail(settings: Settings, subject: str, *, count: int | None = None,
               out: TextIO = sys.stdout, stop: asyncio.Event | None = None) -> int:
    """Print messages on ``subject`` until ``count`` were printed or ``stop`` is set."""
    nc = await connect(settings.nats_url, "stylestream-tail")
    seen = 0
    done = stop or asyncio.Event()
    try:
        async def on_message(msg) -> None:
            nonlocal seen
            print(describe(msg.subject, msg.data), file=out, flush=True)
            seen += 1
            if count is not None and seen >= count:
                done.set()

        sub = await nc.subscribe(subject, cb=on_message)
        await nc.flush()
        print(f"listening on {subject!r} at {settings.nats_url}", file=sys.stderr, flush=True)
        await done.wait()
        await sub.unsubscribe()
    finally:
        await close_connection(nc)
    return seen
