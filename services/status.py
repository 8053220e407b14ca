"""Extractor availability, shared through a JetStream key-value bucket.

A worker writes ``<extractor>`` -> ``ExtractorStatus`` when it starts (and whether its model
loaded); the gateway reads it with its liveness poll, so an extractor whose weights are not
configured is listed as unavailable, with its code, in the ``accepted`` manifest instead of
being run and failing.
"""

from __future__ import annotations

import msgspec
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

from stylestream.schemas.bus import ExtractorStatus, decode_status, encode_status

STATUS_BUCKET = "STYLE_STATUS"


async def status_bucket(js: JetStreamContext) -> KeyValue:
    try:
        return await js.key_value(STATUS_BUCKET)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=STATUS_BUCKET, history=1,
                                         description="stylestream extractor availability")


async def put_status(kv: KeyValue, status: ExtractorStatus) -> None:
    await kv.put(status.extractor, encode_status(status))


async def get_status(kv: KeyValue, extractor: str) -> ExtractorStatus | None:
    try:
        entry = await kv.get(extractor)
    except KeyNotFoundError:
        return None
    except (NatsError, TimeoutError):
        return None
    if not entry.value:
        return None
    try:
        return decode_status(entry.value)
    except msgspec.DecodeError:
        return None
