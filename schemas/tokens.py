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
    #: short text samples (OCR), only where it ran
    samples: list[str] | None = None
    #: hex colour of a text style (typography tokens; DTCG typography has no colour)
    color: str | None = None
    #: what was measured behind a symbolic value, CSS px (radius ``full``: median half height)
    measured: float | None = None
    #: name of the token this one refers to (a colour role -> its palette entry)
    ref: str | None = None
    #: WCAG 2.x contrast ratio (1-21) of a text colour on the background it sits on
    contrast: Annotated[float, Meta(ge=1.0, le=21.0)] | None = None


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


class DimensionValue(msgspec.Struct, kw_only=True):
    """DTCG 2025.10 dimension: ``{"value": 16, "unit": "px"}`` (CSS px, not device px)."""

    value: float
    unit: str = "px"


class DimensionToken(msgspec.Struct, kw_only=True):
    type: str = msgspec.field(default="dimension", name="$type")
    value: DimensionValue = msgspec.field(name="$value")
    extensions: dict[str, Evidence] = msgspec.field(default_factory=dict, name="$extensions")


class NumberToken(msgspec.Struct, kw_only=True):
    """Unitless numbers: font weights (``fontWeight``), line-height ratios (``number``)."""

    type: str = msgspec.field(default="number", name="$type")
    value: float = msgspec.field(name="$value")
    extensions: dict[str, Evidence] = msgspec.field(default_factory=dict, name="$extensions")


class TypographyValue(msgspec.Struct, kw_only=True, omit_defaults=True):
    """DTCG typography composite. ``fontFamily`` only when really known (OCR/LLM), never guessed."""

    fontSize: DimensionValue
    fontWeight: int
    #: unitless ratio of line box to font size; None (left out) where no multi-line block
    #: showed it, rather than guessed
    lineHeight: float | None = None
    fontFamily: list[str] | None = None
    letterSpacing: DimensionValue | None = None


class TypographyToken(msgspec.Struct, kw_only=True):
    type: str = msgspec.field(default="typography", name="$type")
    value: TypographyValue = msgspec.field(name="$value")
    extensions: dict[str, Evidence] = msgspec.field(default_factory=dict, name="$extensions")


class ShadowValue(msgspec.Struct, kw_only=True):
    """DTCG shadow: colour (with alpha), offsets, blur (≈ 2σ of the Gaussian falloff), spread."""

    color: ColorValue
    offsetX: DimensionValue
    offsetY: DimensionValue
    blur: DimensionValue
    spread: DimensionValue
    inset: bool = False


class ShadowToken(msgspec.Struct, kw_only=True):
    type: str = msgspec.field(default="shadow", name="$type")
    value: ShadowValue = msgspec.field(name="$value")
    extensions: dict[str, Evidence] = msgspec.field(default_factory=dict, name="$extensions")


def px(value: float) -> DimensionValue:
    """A CSS-px dimension rounded to a quarter pixel (finer is noise at 1x)."""
    return DimensionValue(value=round(value * 4) / 4)
