"""Design tokens as DTCG 2025.10 (Design Tokens Community Group format).

Token fields that start with ``$`` are renamed on the wire (``value`` -> ``$value``).
Every token carries its evidence under ``$extensions["dev.stylestream"]``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

EXTENSION_KEY = "dev.stylestream"

Unit = Annotated[float, Meta(ge=0.0, le=1.0)]


class Evidence(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Why we believe a token: how much of the image shows it and where."""

    confidence: Unit
    #: fraction of measured pixels (colours) or of measured elements (scales)
    share: Unit | None = None
    pixels: int | None = None
    count: int | None = None
    #: up to a few example boxes [x, y, width, height] in image pixels
    boxes: list[tuple[int, int, int, int]] | None = None


class ColorValue(msgspec.Struct, kw_only=True):
    """DTCG 2025.10 colour value."""

    colorSpace: str = "srgb"
    components: tuple[float, float, float]
    alpha: float = 1.0
    hex: str


class ColorToken(msgspec.Struct, kw_only=True):
    # no omit_defaults: "$type" must always be on the wire even though it has a default
    type: str = msgspec.field(default="color", name="$type")
    value: ColorValue = msgspec.field(name="$value")
    extensions: dict[str, Evidence] = msgspec.field(default_factory=dict, name="$extensions")
