"""All configuration in one place: ``DEFAULT_*`` constants, read from the environment once.

``Settings.from_env()`` is called by the CLI at start-up (never at import time) and the
resulting object is passed down explicitly. ``stylestream --help`` prints ``ENV_HELP``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping

# --- edge -------------------------------------------------------------------------------
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_IMAGE_BYTES = 8 * 1024 * 1024          # largest upload accepted
DEFAULT_MAX_IMAGE_PIXELS = 8000 * 8000             # larger images are refused at the edge
DEFAULT_MAX_INFLIGHT = 64                          # concurrent requests per gateway
DEFAULT_REQUEST_TIMEOUT_S = 30.0                   # deadline for every extractor of a request
DEFAULT_IMAGE_WAIT_S = 30.0                        # how long a WS client may take to send the image
DEFAULT_ATOMIC_STREAMING = True                    # ATOMIC_STREAMING_ENABLED

# --- bus ----------------------------------------------------------------------------------
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_MAX_PAYLOAD = 12 * 1024 * 1024             # server max_payload: 8 MB image + envelope
IMAGES_STREAM = "STYLE_IMAGES"
RESULTS_STREAM = "STYLE_RESULTS"
IMAGES_SUBJECT_PREFIX = "style.images"             # style.images.<request_id>
RESULTS_SUBJECT_PREFIX = "style.results"           # style.results.<request_id>.<extractor>
CONSUMER_PREFIX = "ex-"                            # durable consumer per extractor: ex-<name>
DEFAULT_IMAGES_MAX_AGE_S = 15 * 60.0
DEFAULT_IMAGES_MAX_BYTES = 2 * 1024**3
DEFAULT_RESULTS_MAX_AGE_S = 24 * 3600.0
DEFAULT_RESULTS_MAX_BYTES = 1024**3
DEFAULT_ACK_WAIT_S = 30.0
DEFAULT_MAX_DELIVER = 5

# --- workers ------------------------------------------------------------------------------
DEFAULT_WORKER_CONCURRENCY = 1                     # messages in flight per worker process
DEFAULT_FETCH_WAIT_S = 2.0                         # long-poll of an idle worker
DEFAULT_NAK_DELAY_S = 1.0                          # retry delay after a failed publish
DEFAULT_LIVENESS_INTERVAL_S = 1.0                  # gateway's consumer liveness poll
DEFAULT_LIVENESS_GRACE_S = 30.0                    # live = a worker pulled or held work this recently

# --- models and LLM -------------------------------------------------------------------------
DEFAULT_MODEL_DEVICE = "auto"                      # CUDA when present, else CPU
DEFAULT_MAX_BATCH = 8                              # images per forward pass
DEFAULT_BATCH_WINDOW_MS = 10.0                     # how long a batch waits for company
DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_LLM_MODEL = "gpt-4o-mini"
DEFAULT_LLM_TIMEOUT_S = 20.0
DEFAULT_REQUEST_BUDGET_USD: float | None = None    # per-request spend limit (None: none)


def _env_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in {"1", "true", "yes", "on"}:
        return True
    if v in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    nats_url: str = DEFAULT_NATS_URL
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_inflight: int = DEFAULT_MAX_INFLIGHT
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    image_wait_s: float = DEFAULT_IMAGE_WAIT_S
    atomic_streaming: bool = DEFAULT_ATOMIC_STREAMING
    worker_concurrency: int = DEFAULT_WORKER_CONCURRENCY
    ack_wait_s: float = DEFAULT_ACK_WAIT_S
    max_deliver: int = DEFAULT_MAX_DELIVER
    images_max_age_s: float = DEFAULT_IMAGES_MAX_AGE_S
    images_max_bytes: int = DEFAULT_IMAGES_MAX_BYTES
    results_max_age_s: float = DEFAULT_RESULTS_MAX_AGE_S
    results_max_bytes: int = DEFAULT_RESULTS_MAX_BYTES
    fetch_wait_s: float = DEFAULT_FETCH_WAIT_S
    liveness_interval_s: float = DEFAULT_LIVENESS_INTERVAL_S
    liveness_grace_s: float = DEFAULT_LIVENESS_GRACE_S
    model_device: str = DEFAULT_MODEL_DEVICE
    torch_threads: int | None = None
    max_batch: int = DEFAULT_MAX_BATCH
    batch_window_ms: float = DEFAULT_BATCH_WINDOW_MS
    clip_model: str = DEFAULT_CLIP_MODEL
    clip_checkpoint: str | None = None
    depth_checkpoint: str | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str = DEFAULT_LLM_MODEL
    llm_timeout_s: float = DEFAULT_LLM_TIMEOUT_S
    #: JSON {{"model": [usd_per_1M_in, usd_per_1M_out]}} overriding the built-in table
    llm_prices: tuple[tuple[str, float, float], ...] = ()
    request_budget_usd: float | None = DEFAULT_REQUEST_BUDGET_USD
    #: worker /metrics port (None: off; 0: any free port)
    worker_metrics_port: int | None = None
    #: extra modules whose import registers extractors (tests, third-party plugins)
    plugins: tuple[str, ...] = ()

    @property
    def batch_window_s(self) -> float:
        return self.batch_window_ms / 1000.0

    def model_options(self):  # -> stylestream.extractors.ModelOptions
        from stylestream.extractors import ModelOptions

        return ModelOptions(
            device=self.model_device, threads=self.torch_threads,
            clip_model=self.clip_model, clip_checkpoint=self.clip_checkpoint,
            depth_checkpoint=self.depth_checkpoint, llm_base_url=self.llm_base_url,
            llm_api_key=self.llm_api_key, llm_model=self.llm_model,
            llm_timeout_s=self.llm_timeout_s,
            llm_prices={m: (i, o) for m, i, o in self.llm_prices},
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for env_name, (field, parse) in _ENV.items():
            if env_name in env and env[env_name] != "":
                try:
                    values[field] = parse(env[env_name])
                except ValueError as exc:
                    raise ValueError(f"{env_name}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _prices(value: str) -> tuple[tuple[str, float, float], ...]:
    table = json.loads(value)
    return tuple((str(m), float(p[0]), float(p[1])) for m, p in sorted(table.items()))


def _plugins(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


_ENV: dict[str, tuple[str, object]] = {
    "NATS_URL": ("nats_url", str),
    "STYLESTREAM_HOST": ("host", str),
    "STYLESTREAM_PORT": ("port", int),
    "STYLESTREAM_MAX_IMAGE_BYTES": ("max_image_bytes", int),
    "STYLESTREAM_MAX_IMAGE_PIXELS": ("max_image_pixels", int),
    "STYLESTREAM_MAX_INFLIGHT": ("max_inflight", int),
    "STYLESTREAM_REQUEST_TIMEOUT_S": ("request_timeout_s", float),
    "ATOMIC_STREAMING_ENABLED": ("atomic_streaming", _env_bool),
    "STYLESTREAM_WORKER_CONCURRENCY": ("worker_concurrency", int),
    "STYLESTREAM_ACK_WAIT_S": ("ack_wait_s", float),
    "STYLESTREAM_PLUGINS": ("plugins", _plugins),
    "STYLESTREAM_WORKER_METRICS_PORT": ("worker_metrics_port", int),
    "STYLESTREAM_MODEL_DEVICE": ("model_device", str),
    "STYLESTREAM_TORCH_THREADS": ("torch_threads", int),
    "STYLESTREAM_MAX_BATCH": ("max_batch", int),
    "STYLESTREAM_BATCH_WINDOW_MS": ("batch_window_ms", float),
    "STYLESTREAM_CLIP_MODEL": ("clip_model", str),
    "STYLESTREAM_CLIP_CHECKPOINT": ("clip_checkpoint", str),
    "STYLESTREAM_DEPTH_CHECKPOINT": ("depth_checkpoint", str),
    "OPENAI_BASE_URL": ("llm_base_url", str),
    "OPENAI_API_KEY": ("llm_api_key", str),
    "STYLESTREAM_LLM_MODEL": ("llm_model", str),
    "STYLESTREAM_LLM_TIMEOUT_S": ("llm_timeout_s", float),
    "STYLESTREAM_LLM_PRICES": ("llm_prices", _prices),
    "STYLESTREAM_REQUEST_BUDGET_USD": ("request_budget_usd", float),
}

ENV_HELP = f"""environment (read once at start-up):
  NATS_URL                         bus URL for gateway/worker (default {DEFAULT_NATS_URL})
  STYLESTREAM_HOST / _PORT         gateway bind address (default {DEFAULT_HOST}:{DEFAULT_PORT:d})
  STYLESTREAM_MAX_IMAGE_BYTES      largest upload (default {DEFAULT_MAX_IMAGE_BYTES:d})
  STYLESTREAM_MAX_IMAGE_PIXELS     largest image in pixels (default {DEFAULT_MAX_IMAGE_PIXELS:d})
  STYLESTREAM_MAX_INFLIGHT         requests in flight per gateway (default {DEFAULT_MAX_INFLIGHT:d})
  STYLESTREAM_REQUEST_TIMEOUT_S    deadline of a whole request (default {DEFAULT_REQUEST_TIMEOUT_S:g})
  ATOMIC_STREAMING_ENABLED         true: atomic mode by default; false: tier mode (default: true)
  STYLESTREAM_WORKER_CONCURRENCY   messages in flight per worker (default {DEFAULT_WORKER_CONCURRENCY:d})
  STYLESTREAM_ACK_WAIT_S           JetStream AckWait for extractor consumers (default {DEFAULT_ACK_WAIT_S:g})
  STYLESTREAM_PLUGINS              comma-separated modules that register extra extractors
  STYLESTREAM_WORKER_METRICS_PORT  worker /metrics port (0: any free port; default off)
  STYLESTREAM_MODEL_DEVICE         auto | cpu | cuda[:N] for the model worker (default auto)
  STYLESTREAM_TORCH_THREADS        torch threads on CPU (default: cores, at most 4)
  STYLESTREAM_MAX_BATCH / _BATCH_WINDOW_MS   micro-batching of model requests (default 8 / 10)
  STYLESTREAM_CLIP_MODEL / _CLIP_CHECKPOINT  open_clip architecture and weights file
  STYLESTREAM_DEPTH_CHECKPOINT     MiDaS-style depth weights (TorchScript or DepthNet file)
  OPENAI_BASE_URL / OPENAI_API_KEY / STYLESTREAM_LLM_MODEL   LLM naming endpoint
  STYLESTREAM_LLM_TIMEOUT_S        per LLM call (default 20)
  STYLESTREAM_LLM_PRICES           JSON {{"model": [usd_per_1M_in, usd_per_1M_out]}}
  STYLESTREAM_REQUEST_BUDGET_USD   default per-request spend limit (default none)
"""
