"""Corner radii of a UI screenshot as a DTCG dimension scale.

What it measures
    The corner radius of every element box ``find_boxes`` finds (cards, buttons, inputs,
    badges, avatars), from the anti-aliased curve of its corners: the area a rounded corner
    cuts out of the bounding box is r^2 (1 - pi/4), measured from pixel coverage, so it is
    sub-pixel (see ``layout._corner_radius``). A box's radius is the median of its corners;
    boxes whose measured corners disagree (an occluded or clipped corner) are left out.

Scale
    Radii in CSS px (measured / ``ctx.scale``) are grouped (values within max(0.75 px, 8 %)
    are one step) and each step's value is the median of its members rounded to 0.5 px.
    Boxes whose corners span their whole half height (pills, circles: CSS 9999px or 50 %) are
    the token ``full`` (value 9999 px; ``measured`` in its evidence is the median half height).
    Steps are named by ascending value ``sm``, ``md``, ``lg``, ``xl``, ``2xl``, ``3xl``...;
    ``none`` (0) is reported only when square boxes outnumber rounded ones.

Evidence and limits
    ``count`` is the number of boxes at that step, ``share`` their fraction of measured boxes,
    ``boxes`` up to three examples in image px. Boxes touching the image edge are not measured
    (their corners are cut off). Radii under 1 CSS px read as square. Corners of elements
    without a flat fill (images, gradients) are not seen. A step needs two boxes, or one box
    with at least three agreeing corners; others are left out rather than guessed.
    Deterministic: same pixels, same tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stylestream.extractors import ExtractContext
from stylestream.extractors.layout import Box, find_boxes
from stylestream.schemas.tokens import EXTENSION_KEY, DimensionToken, Evidence, px

#: radii under this (CSS px) are square corners
SQUARE = 1.0
#: a box is a pill when its radius reaches its half height within this (CSS px, or share)
PILL_TOL = 0.75
PILL_SHARE = 0.04
#: radii within max(GROUP_PX, GROUP_SHARE * r) of a step belong to it
GROUP_PX = 0.5  # plus 0.5 / scale: corners at 1x read within ~0.75 px
GROUP_SHARE = 0.08
#: a box's corners agree when their spread is under max(AGREE_PX image px, AGREE_SHARE * r)
AGREE_PX = 1.0
AGREE_SHARE = 0.15
#: steps under this confidence are left out
MIN_CONFIDENCE = 0.5
FULL = 9999.0
NAMES = ("sm", "md", "lg", "xl")


def extract(image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
    """Radius scale of ``image`` (RGB uint8, H x W x 3) as ``{"radius": {name: token}}``."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    boxes = find_boxes(image, lossy=ctx.lossy)
    return {"radius": radius_scale(boxes, image.shape[:2], ctx.scale)}


def measure(box: Box, scale: float) -> tuple[str, float, int] | None:
    """One box's reading: ("full" | "round" | "square", radius CSS px, agreeing corners),
    or None when its corners disagree or too few were measured."""
    good = sorted(r for r in box.radii if r >= 0)
    if len(good) < 2:
        return None
    r = box.radius
    tol = max(AGREE_PX, AGREE_SHARE * r)
    agree = sum(1 for g in good if abs(g - r) <= tol)
    if agree < 2:
        return None
    r_css = r / scale
    half = min(box.w, box.h) / 2.0 / scale
    if half >= 2.0 and r_css >= half - max(PILL_TOL, PILL_SHARE * half):
        return "full", half, agree
    if r_css < SQUARE:
        return "square", 0.0, agree
    return "round", r_css, agree


def radius_scale(boxes: list[Box], shape: tuple[int, int], scale: float) -> dict[str, DimensionToken]:
    """Tokens from boxes (image px) of an image of ``shape`` (H, W) at ``scale``."""
    H, W = shape
    readings: list[tuple[str, float, int, Box]] = []
    for b in boxes:
        if b.x <= 0 or b.y <= 0 or b.x + b.w >= W or b.y + b.h >= H:
            continue  # cut by the image edge
        m = measure(b, scale)
        if m is not None:
            readings.append((*m, b))
    total = len(readings)
    if total == 0:
        return {}
    out: dict[str, DimensionToken] = {}
    rounds = sorted((r for r in readings if r[0] == "round"), key=lambda r: (r[1], r[3].y, r[3].x))
    steps: list[list[tuple[str, float, int, Box]]] = []
    for rd in rounds:
        if steps:
            centre = float(np.median([s[1] for s in steps[-1]]))
            if rd[1] - centre <= max(GROUP_PX + 0.5 / scale, GROUP_SHARE * centre):
                steps[-1].append(rd)
                continue
        steps.append([rd])
    kept = []
    for members in steps:
        value = round(float(np.median([m[1] for m in members])) * 2) / 2
        conf = _confidence(members)
        if conf >= MIN_CONFIDENCE:
            kept.append((value, members, conf))
    squares = [r for r in readings if r[0] == "square"]
    rounded_count = sum(len(m) for _, m, _ in kept)
    if squares and len(squares) > rounded_count:
        out["none"] = _token(0.0, squares, total, _confidence(squares))
    for i, (value, members, conf) in enumerate(kept):
        out[_name(i)] = _token(value, members, total, conf)
    pills = [r for r in readings if r[0] == "full"]
    if pills:
        conf = _confidence(pills)
        if conf >= MIN_CONFIDENCE:
            half = float(np.median([p[1] for p in pills]))
            out["full"] = _token(FULL, pills, total, conf, measured=round(half * 4) / 4)
    return out


def _name(i: int) -> str:
    if i < len(NAMES):
        return NAMES[i]
    return f"{i - len(NAMES) + 2}xl"


def _confidence(members) -> float:
    """Two boxes or more: 0.6 and up with the count; one box: 0.5 with three agreeing
    corners, 0.55 with four; fewer is not enough."""
    n = len(members)
    if n >= 2:
        return min(1.0, 0.6 + 0.1 * (n - 2) + 0.02 * sum(m[2] for m in members) / n)
    agree = members[0][2]
    return {4: 0.55, 3: 0.5}.get(agree, 0.3)


def _token(value: float, members, total: int, conf: float, measured: float | None = None) -> DimensionToken:
    ex = sorted(members, key=lambda m: (-m[3].w * m[3].h, m[3].y, m[3].x))[:3]
    return DimensionToken(
        value=px(value),
        extensions={EXTENSION_KEY: Evidence(
            confidence=round(conf, 3),
            share=round(len(members) / total, 4),
            count=len(members),
            boxes=[(m[3].x, m[3].y, m[3].w, m[3].h) for m in ex],
            measured=measured,
        )},
    )
