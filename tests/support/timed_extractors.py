"""Test-only extractors with set delays and failures, registered by importing this module.

Workers load it through STYLESTREAM_PLUGINS, so the same names exist in every process.
They measure something real (mean colour) so results depend on the image.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from stylestream.errors import ModelUnavailable
from stylestream.extractors import ExtractContext, ExtractorSpec, ModelOptions, register

MODULE = __name__


def _mean_hex(image: np.ndarray) -> str:
    r, g, b = (int(round(v)) for v in image.reshape(-1, 3).mean(axis=0))
    return f"#{r:02x}{g:02x}{b:02x}"


def _timed(name: str, delay_s: float):
    def extract(image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
        time.sleep(delay_s)  # simulated work: this is the extractor's cost, not a wait
        return {name: {"mean": {"$type": "color", "$value": _mean_hex(image)},
                       "size": {"$type": "number", "$value": int(image.shape[1])}}}
    return extract


fast = _timed("fast", 0.01)
slow = _timed("slow", 0.4)
ai = _timed("ai", 0.05)


def boom(image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
    raise ValueError("boom: this extractor always fails")


register(ExtractorSpec("fast", f"{MODULE}:fast", tier=1, weight=0.2, description="10 ms"))
register(ExtractorSpec("slow", f"{MODULE}:slow", tier=1, weight=0.3, description="400 ms"))
register(ExtractorSpec("boom", f"{MODULE}:boom", tier=1, weight=0.1, description="raises"))
register(ExtractorSpec("ai", f"{MODULE}:ai", tier=2, weight=0.4, description="tier 2, 50 ms"))


class _BatchModel:
    """A stand-in model: one 'forward pass' per batch, reporting the batch size it saw."""

    def __init__(self, name: str, forward_s: float) -> None:
        self.name = name
        self.forward_s = forward_s
        self.description = f"test model {name} ({forward_s * 1000:g} ms per forward pass)"

    def extract_batch(self, images, ctxs):
        time.sleep(self.forward_s)  # simulated forward pass
        return [{self.name: {"batch": {"$type": "number", "$value": len(images)},
                             "mean": {"$type": "color", "$value": _mean_hex(image)}}}
                for image in images]


def load_batchy(options: ModelOptions) -> _BatchModel:
    return _BatchModel("batchy", 0.15)


def load_slowmodel(options: ModelOptions) -> _BatchModel:
    return _BatchModel("slowmodel", 1.6)  # longer than the tests' AckWait: needs heartbeats


def load_broken(options: ModelOptions) -> _BatchModel:
    raise ModelUnavailable("no weights configured for broken (set BROKEN_WEIGHTS)")


for _name, _batch in (("batchy", 8), ("slowmodel", 1), ("broken", 1)):
    register(ExtractorSpec(_name, f"{MODULE}:load_{_name}", tier=2, weight=0.2, kind="loaded",
                           group="testmodels", max_batch=_batch, description="test model"))
