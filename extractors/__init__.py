"""Extractors: pure functions from an RGB image array to design tokens.

Each module exposes ``extract(image, ctx) -> dict`` returning token groups keyed by their
top-level DTCG group (``{"color": {...}}``). Extractors never import nats or aiohttp.

The catalog below names every extractor with its tier and weight; the function itself is
imported lazily (``target``) so the gateway can know the catalog without loading OpenCV or
models. Plugins (tests, third parties) add entries with ``register``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
    options: Mapping[str, Any] = field(default_factory=dict)


def prepare(
    image: np.ndarray, *, request_id: str = "", scale: float | None = None,
    source_format: str = "",
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
                                source_format=source_format)


ExtractFn = Callable[[np.ndarray, ExtractContext], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ExtractorSpec:
    name: str
    #: "package.module:function"
    target: str
    #: 1 = fast CV (cv_complete), 2+ = model / AI (ai_complete)
    tier: int = 1
    #: share of the final document this extractor contributes, for progress bars
    weight: float = 1.0
    description: str = ""

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

    pixels, ctx = prepare(decode(data, max_pixels=max_pixels), scale=scale,
                          source_format=sniff_format(data) or "")
    doc: dict[str, Any] = {}
    for name in names:
        deep_merge(doc, msgspec.to_builtins(CATALOG[name].load()(pixels, ctx)))
    return doc


def default_extractors() -> list[str]:
    """Names in manifest order: by tier, then registration order."""
    return [s.name for s in sorted(CATALOG.values(), key=lambda s: s.tier)]


register(ExtractorSpec(
    name="color",
    target="stylestream.extractors.color:extract",
    tier=1,
    weight=1.0,
    description="palette: distinct colours with pixel share, DTCG colour tokens",
))
