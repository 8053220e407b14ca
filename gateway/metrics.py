"""Gateway metrics: one object, built on an injected CollectorRegistry (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from stylestream.services.metrics import MS_BUCKETS


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.ttfr = Histogram(
            "stylestream_time_to_first_result_seconds",
            "From image accepted to the first extractor's tokens sent to the client.",
            ["mode"], buckets=MS_BUCKETS, registry=registry,
        )
        self.request_duration = Histogram(
            "stylestream_request_duration_seconds",
            "From image accepted to the `complete` message.",
            ["mode"], buckets=MS_BUCKETS, registry=registry,
        )
        self.extractor_latency = Histogram(
            "stylestream_extractor_latency_seconds",
            "From image accepted to this extractor's result at the gateway.",
            ["extractor"], buckets=MS_BUCKETS, registry=registry,
        )
        self.requests = Counter(
            "stylestream_requests_total", "Requests by mode and outcome.",
            ["mode", "outcome"], registry=registry,
        )
        self.extractor_results = Counter(
            "stylestream_extractor_results_total", "Extractor results by outcome.",
            ["extractor", "outcome"], registry=registry,
        )
        self.ws_connections = Gauge(
            "stylestream_ws_connections", "Open WebSocket connections.", registry=registry,
        )
        self.inflight = Gauge(
            "stylestream_requests_inflight", "Requests being served.", registry=registry,
        )
        self.cost = Counter(
            "stylestream_cost_usd_total", "Money spent on paid extractors (LLM).",
            registry=registry,
        )
        self.bytes_in = Counter(
            "stylestream_image_bytes_total", "Image bytes accepted.", registry=registry,
        )
