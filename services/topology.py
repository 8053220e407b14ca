"""The JetStream topology, declared once and applied idempotently by gateway and workers.

* stream ``STYLE_IMAGES`` captures ``style.images.>`` with limits retention (max_age,
  max_bytes) — not WorkQueue, because every extractor's consumer reads every event;
* stream ``STYLE_RESULTS`` captures ``style.results.>`` for replay and ``nats sub``;
* one durable pull consumer ``ex-<extractor>`` per extractor, shared by all its replicas.
"""

from __future__ import annotations

from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import BadRequestError, NotFoundError

from stylestream.config import (
    CONSUMER_PREFIX,
    IMAGES_STREAM,
    IMAGES_SUBJECT_PREFIX,
    RESULTS_STREAM,
    RESULTS_SUBJECT_PREFIX,
    Settings,
)


def consumer_name(extractor: str) -> str:
    return f"{CONSUMER_PREFIX}{extractor}"


def images_stream_config(settings: Settings) -> js_api.StreamConfig:
    return js_api.StreamConfig(
        name=IMAGES_STREAM,
        subjects=[f"{IMAGES_SUBJECT_PREFIX}.>"],
        retention=js_api.RetentionPolicy.LIMITS,
        storage=js_api.StorageType.FILE,
        max_age=settings.images_max_age_s,
        max_bytes=settings.images_max_bytes,
        max_msg_size=-1,
        discard=js_api.DiscardPolicy.OLD,
        duplicate_window=120.0,
    )


def results_stream_config(settings: Settings) -> js_api.StreamConfig:
    return js_api.StreamConfig(
        name=RESULTS_STREAM,
        subjects=[f"{RESULTS_SUBJECT_PREFIX}.>"],
        retention=js_api.RetentionPolicy.LIMITS,
        storage=js_api.StorageType.FILE,
        max_age=settings.results_max_age_s,
        max_bytes=settings.results_max_bytes,
        discard=js_api.DiscardPolicy.OLD,
        duplicate_window=120.0,
    )


def consumer_config(extractor: str, settings: Settings) -> js_api.ConsumerConfig:
    return js_api.ConsumerConfig(
        durable_name=consumer_name(extractor),
        description=f"stylestream extractor {extractor}",
        # Only events published after the consumer exists: a fresh deployment must not
        # replay a stream full of old screenshots.
        deliver_policy=js_api.DeliverPolicy.NEW,
        ack_policy=js_api.AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_s,
        max_deliver=settings.max_deliver,
        filter_subject=f"{IMAGES_SUBJECT_PREFIX}.>",
        max_ack_pending=1024,
    )


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    for config in (images_stream_config(settings), results_stream_config(settings)):
        try:
            await js.add_stream(config)
        except BadRequestError:
            # exists with other limits (an operator changed settings): apply ours
            await js.update_stream(config)


async def ensure_consumers(
    js: JetStreamContext, extractors: Iterable[str], settings: Settings
) -> None:
    """Create missing consumers; never rewrite an existing one. The gateway and every worker
    run this with their own settings: updating would make them fight over AckWait."""
    for name in extractors:
        try:
            await js.consumer_info(IMAGES_STREAM, consumer_name(name))
        except NotFoundError:
            await js.add_consumer(IMAGES_STREAM, consumer_config(name, settings))


async def ensure_topology(
    js: JetStreamContext, extractors: Iterable[str], settings: Settings
) -> None:
    await ensure_streams(js, settings)
    await ensure_consumers(js, extractors, settings)
