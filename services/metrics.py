"""Worker metrics: one object on an injected CollectorRegistry, served on the worker's own port."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# 1 ms .. 10 s, dense where time to first result lives; shared by gateway and workers.
MS_BUCKETS = (
    0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
    0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0,
)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.processing = Histogram(
            "stylestream_worker_processing_seconds",
            "Time inside the extractor (decode + measure) per message.",
            ["extractor"], buckets=MS_BUCKETS, registry=registry,
        )
        self.inflight = Gauge(
            "stylestream_worker_inflight", "Messages being processed.", ["extractor"],
            registry=registry,
        )
        self.messages = Counter(
            "stylestream_worker_messages_total",
            "Messages settled, by outcome (ok, an error code, skipped, expired, termed, retried).",
            ["extractor", "outcome"], registry=registry,
        )
        self.redeliveries = Counter(
            "stylestream_worker_redeliveries_total",
            "Messages received again after an earlier delivery was not acked.",
            ["extractor"], registry=registry,
        )
        self.pending = Gauge(
            "stylestream_consumer_pending",
            "Messages in the stream not yet delivered to this extractor's consumer.",
            ["consumer"], registry=registry,
        )
        self.ack_pending = Gauge(
            "stylestream_consumer_ack_pending",
            "Messages delivered to this extractor's consumer and not yet acked.",
            ["consumer"], registry=registry,
        )
        self.batch_size = Histogram(
            "stylestream_model_batch_size",
            "Images per forward pass of a model (micro-batching across requests).",
            ["model"], buckets=BATCH_BUCKETS, registry=registry,
        )


def metrics_app(metrics: WorkerMetrics) -> web.Application:
    async def scrape(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    app.router.add_get("/healthz", healthz)
    return app
