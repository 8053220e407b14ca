"""Extractors: pure functions from an RGB image array to design tokens.

Each module exposes ``extract(image, ctx) -> dict`` returning token groups keyed by their
top-level DTCG group (``{"color": {...}}``). Extractors never import nats or aiohttp.

The catalog below names every extractor with its tier and weight; the function itself is
imported lazily (``target``) so the gateway can know the catalog without loading OpenCV or
models. Plugins (tests, third parties) add entries with ``register``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class Meter:
    """Money an extractor spent on one image (LLM tokens), reported on its result."""

    __slots__ = ("cost_usd",)

    def __init__(self) -> None:
        self.cost_usd = 0.0

    def add(self, usd: float) -> None:
        self.cost_usd += usd


@dataclass(frozen=True, slots=True)
class ExtractContext:
    """What an extractor may know besides the pixels."""

    request_id: str = ""
    #: image pixels per CSS px of the array handed to the extractor (device pixel ratio,
    #: divided by any downsizing). Extractors report lengths as measured / scale.
    scale: float = 1.0
    #: "request" (client said), "detected" (hairlines), or "default"
    scale_source: str = "default"
    #: "png", "jpeg" or "webp": lossy sources get noise-tolerant treatment
    source_format: str = ""
    #: money this request may still spend (USD); None = no limit
    budget_usd: float | None = None
    #: where paid extractors record what they spent
    meter: Meter = field(default_factory=Meter)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def lossy(self) -> bool | None:
        """True for a JPEG source, False for PNG; None where the container does not decide
        (WebP can be either, callers may not say): detectors then measure the pixels."""
        fmt = self.source_format.lower()
        return True if fmt in ("jpeg", "jpg") else False if fmt == "png" else None


def prepare(
    image: np.ndarray, *, request_id: str = "", scale: float | None = None,
    source_format: str = "", budget_usd: float | None = None,
) -> tuple[np.ndarray, ExtractContext]:
    """Decoded pixels -> (working array, context): scale known or detected, huge images
    downsized. Every caller (workers, benchmarks, the accuracy harness) goes through here so
    all extractors see the same array and the same scale."""
    from .scale import detect_scale, working_image

    if scale is not None:
        source, device_scale = "request", scale
    else:
        device_scale = detect_scale(image)
        source = "detected" if device_scale != 1.0 else "default"
    work, work_scale = working_image(image, device_scale)
    return work, ExtractContext(request_id=request_id, scale=work_scale, scale_source=source,
                                source_format=source_format, budget_usd=budget_usd)


ExtractFn = Callable[[np.ndarray, ExtractContext], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """What loaded extractors (models, LLM) are configured with; built from Settings."""

    #: "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1"…
    device: str = "auto"
    #: torch intra-op threads on CPU; None = all cores of this machine, at most 4
    threads: int | None = None
    #: open_clip architecture name and a checkpoint file the user provides
    clip_model: str = "ViT-B-32"
    clip_checkpoint: str | None = None
    #: MiDaS-style depth checkpoint (TorchScript, or a timm-backbone state dict)
    depth_checkpoint: str | None = None
    #: OpenAI-compatible endpoint for naming
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 20.0
    #: model -> (USD per 1M input tokens, USD per 1M output tokens)
    llm_prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)


class LoadedExtractor(Protocol):
    """A stateful extractor (a model in memory, an API client), loaded once per worker."""

    #: shown in status and logs, e.g. "open_clip ViT-B-32 on cuda"
    description: str

    def extract_batch(self, images: Sequence[np.ndarray],
                      ctxs: Sequence[ExtractContext]) -> list[dict[str, Any]]:
        """One output per image, in order; one forward pass for the whole batch."""
        ...


LoadFn = Callable[[ModelOptions], LoadedExtractor]


@dataclass(frozen=True, slots=True)
class ExtractorSpec:
    name: str
    #: "package.module:function" — ``extract(image, ctx)``, or for kind "loaded"
    #: ``load(options) -> LoadedExtractor`` (raises ModelUnavailable when it cannot load)
    target: str
    #: 1 = fast CV (cv_complete), 2+ = model / AI (ai_complete)
    tier: int = 1
    #: share of the final document this extractor contributes, for progress bars
    weight: float = 1.0
    description: str = ""
    #: "function" (pure, per image) or "loaded" (stateful: models, LLM clients)
    kind: str = "function"
    #: loaded extractors in the same group share one worker process (e.g. "models")
    group: str = ""
    #: micro-batching: most images per forward pass (loaded extractors)
    max_batch: int = 1

    @property
    def process_group(self) -> str:
        return self.group or self.name

    def load(self) -> ExtractFn:
        module_name, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module_name), attr or "extract")


CATALOG: dict[str, ExtractorSpec] = {}


def register(spec: ExtractorSpec) -> ExtractorSpec:
    """Add an extractor to the catalog (idempotent for an identical spec)."""
    existing = CATALOG.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"extractor {spec.name!r} is already registered as {existing}")
    CATALOG[spec.name] = spec
    return spec


def load_plugins(modules: Iterable[str]) -> None:
    """Import modules whose import registers extra extractors."""
    for module in modules:
        importlib.import_module(module)


def extract_local(
    data: bytes, names: Iterable[str], *, scale: float | None = None,
    max_pixels: int = 8000 * 8000,
) -> dict[str, Any]:
    """Decode once and run the named extractors in this process; the merged document.

    The same computation the workers do, without the bus: for the accuracy harness, the
    benchmarks' baseline and tools that want tokens from a file. Raises on extractor errors.
    """
    import msgspec

    from stylestream.schemas import deep_merge

    from .image import decode, sniff_format
    from .text import shared_detections

    pixels, ctx = prepare(decode(data, max_pixels=max_pixels), scale=scale,
                          source_format=sniff_format(data) or "")
    doc: dict[str, Any] = {}
    with shared_detections():  # text lines and boxes once for all of them
        for name in names:
            spec = CATALOG[name]
            if spec.kind != "function":
                raise ValueError(f"{name} is a loaded extractor (model/LLM): run it on a worker")
            deep_merge(doc, msgspec.to_builtins(spec.load()(pixels, ctx)))
    return doc


def group_members(name: str) -> list[str]:
    """An extractor name, or a process group name (e.g. "models"), -> extractor names."""
    if name in CATALOG:
        return [name]
    return [s.name for s in CATALOG.values() if s.group == name]


register(ExtractorSpec(
    name="color",
    target="stylestream.extractors.color:extract",
    tier=1,
    weight=1.0,
    description="palette: distinct colours with pixel share, DTCG colour tokens",
))
for _name, _weight, _about in (
    ("typography", 0.8, "type scale and text styles from text lines: sizes, weights, line heights"),
    ("spacing", 0.6, "paddings and gaps between UI elements, fitted base unit"),
    ("radius", 0.4, "corner radii of rounded elements, as a scale"),
    ("shadow", 0.5, "drop shadows fitted on the falloff around elevated elements"),
):
    register(ExtractorSpec(name=_name, target=f"stylestream.extractors.{_name}:extract", tier=1,
                           weight=_weight, description=_about))

# the model worker's group: one process loads both, micro-batching each
for _name, _weight, _about in (
    ("depth", 0.4, "MiDaS-style depth: elevation order of surfaces, refining the shadow group"),
    ("style", 0.5, "CLIP zero-shot style labels (minimal, corporate, playful, ...) and embedding"),
):
    register(ExtractorSpec(name=_name, target=f"stylestream.extractors.{_name}:load", tier=2,
                           weight=_weight, description=_about, kind="loaded", group="models",
                           max_batch=8))
register(ExtractorSpec(
    name="naming",
    target="stylestream.extractors.naming:load",
    tier=3,
    weight=0.5,
    description="LLM names and rationales for the measured tokens (OpenAI-compatible), with cost",
    kind="loaded",
))
