"""One way to open and close a NATS connection, for gateway and workers alike."""

from __future__ import annotations

import contextlib

import nats
from nats.aio.client import Client as NATS


async def connect(url: str, name: str) -> NATS:
    # reconnect forever: a restarted nats-server must not take the services down with it
    return await nats.connect(url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5)


async def close_connection(nc: NATS) -> None:
    """Drain when connected (finishes in-flight work); plain close while reconnecting."""
    if nc.is_closed:
        return
    if nc.is_connected:
        await nc.drain()
    else:
        # nats-py flushes the dead socket on close and raises ConnectionResetError
        with contextlib.suppress(ConnectionError):
            await nc.close()
