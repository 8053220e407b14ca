"""Expected tokens of one rendered page, from the raw DOM records of ``truth.js``.

The rules are documented at the top of ``run.py``; the thresholds live here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

WIDTH, HEIGHT = 1440, 900
# colour (unchanged from the colour-only harness)
MIN_SHARE = 0.0005
TEXT_MIN_AREA = 0.001
# font sizes
FONT_MIN_SHARE = 0.05
# radii
RADIUS_MIN_SIDE = 10.0
RADIUS_SQUARE = 1.0
RADIUS_BIG_AREA = 0.02
#: corners whose two radii differ more than this (40% on a non-square box) are elliptical:
#: not a radius token, never expected (their smaller radius is still not a false positive)
RADIUS_ELLIPSE = 1.25
# shadows: alpha x (largest channel difference to the background under it), 8-bit levels
SHADOW_MIN_STRENGTH = 8.0
#: weaker (but >= this) shadows are *faint*: not required, and not a false positive either
SHADOW_FAINT = 3.0
SHADOW_MIN_SIDE = 8.0
# spacing
SPACING_MIN = 2.0
SPACING_MIN_USES = 2
BASE_UNITS = (8, 6, 5, 4, 3, 2)
BASE_SHARE = 0.8

FULL = "full"


def q(v: float, step: float = 0.25) -> float:
    return round(v / step) * step


@dataclass
class ColourTruth:
    used: np.ndarray        # (n, 3) uint8, every colour the DOM paints with
    expected: np.ndarray    # (m, 3) uint8, colours a palette should contain
    shares: dict[tuple[int, int, int], float]


@dataclass
class Shadow:
    css: str                # the visible layers, "x y blur spread rgba" joined by ", "
    layers: list[dict]      # visible layers: x, y, blur, spread, rgba, strength
    count: int              # elements that carry it


@dataclass
class PageTruth:
    colour: ColourTruth
    #: CSS px -> visible characters
    font_chars: dict[float, float]
    font_expected: list[float]
    #: (size, weight) -> characters; expected styles
    style_chars: dict[tuple[float, int], float]
    style_expected: list[tuple[float, int]]
    #: expected size -> line height / size (where >= 2 lines of it wrap)
    line_heights: dict[float, float]
    #: radius (CSS px, or "full") -> elements
    radius_uses: Counter
    radius_expected: list
    #: spacing (CSS px) -> uses (elements for padding, containers for gaps)
    spacing_uses: Counter
    #: every padding, margin and declared gap of a visible element (precision's universe)
    spacing_any: set
    #: every corner value of a painted element of any size (precision's universe)
    radius_any: set
    spacing_expected: list[float]
    base_unit: int | None
    shadows: list[Shadow]
    #: shadows under SHADOW_MIN_STRENGTH but >= SHADOW_FAINT (dark themes, hairline shadows)
    faint_shadows: list[Shadow] = field(default_factory=list)

    @property
    def has_shadow(self) -> bool:
        return bool(self.shadows)


def colour_truth(items: list[dict], image: np.ndarray) -> ColourTruth:
    h, w, _ = image.shape
    codes = (image[..., 0].astype(np.int64) << 16) | (image[..., 1].astype(np.int64) << 8) | image[..., 2]
    vals, counts = np.unique(codes, return_counts=True)
    count_of = dict(zip(vals.tolist(), counts.tolist()))
    viewport = WIDTH * HEIGHT
    used: dict[tuple[int, int, int], dict] = {}
    for it in items:
        key = tuple(int(v) for v in it["rgb"])
        info = used.setdefault(key, {"kinds": set(), "text_area": 0.0})
        info["kinds"].add(it["kind"])
        if it["kind"] == "text" and (it["size"] >= 18 or (it["weight"] >= 600 and it["size"] >= 14)):
            info["text_area"] += it["textArea"]
    shares, expected = {}, []
    for key, info in used.items():
        share = count_of.get((key[0] << 16) | (key[1] << 8) | key[2], 0) / (h * w)
        shares[key] = share
        if share >= MIN_SHARE or info["text_area"] >= TEXT_MIN_AREA * viewport:
            expected.append(key)
    return ColourTruth(np.array(sorted(used), np.uint8).reshape(-1, 3),
                       np.array(sorted(expected), np.uint8).reshape(-1, 3), shares)


def _weighted_median(values: list[float], weights: list[float]) -> float:
    order = np.argsort(values)
    v, w = np.asarray(values)[order], np.asarray(weights)[order]
    c = np.cumsum(w)
    return float(v[np.searchsorted(c, c[-1] / 2)])


def base_unit(uses: Counter) -> int | None:
    """The largest of ``BASE_UNITS`` that divides >= 80 % of the spacing uses."""
    total = sum(uses.values())
    if not total:
        return None
    for u in BASE_UNITS:
        if sum(n for v, n in uses.items() if abs(v / u - round(v / u)) < 1e-6) >= BASE_SHARE * total:
            return u
    return None


def page_truth(rec: dict, image: np.ndarray) -> PageTruth:
    viewport = WIDTH * HEIGHT
    colour = colour_truth(rec["colors"], image)

    # --- fonts
    font_chars: dict[float, float] = defaultdict(float)
    style_chars: dict[tuple[float, int], float] = defaultdict(float)
    lh: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for t in rec["texts"]:
        s = q(t["size"])
        font_chars[s] += t["chars"]
        style_chars[(s, int(t["weight"]))] += t["chars"]
        if t["lines"] >= 2 and t["pitch"]:
            lh[s].append((t["pitch"] / t["size"], t["chars"]))
    total = sum(font_chars.values()) or 1.0
    font_expected = sorted(s for s, c in font_chars.items() if c >= FONT_MIN_SHARE * total)
    style_expected = sorted(k for k, c in style_chars.items() if c >= FONT_MIN_SHARE * total)
    line_heights = {s: _weighted_median([r for r, _ in lh[s]], [c for _, c in lh[s]])
                    for s in font_expected if lh.get(s)}

    # --- radii, shadows, paddings
    radius_uses: Counter = Counter()
    radius_big: set = set()
    spacing_uses: Counter = Counter()
    shadows: dict[str, Shadow] = {}
    faint_shadows: dict[str, Shadow] = {}
    spacing_any: set = set()
    radius_any: set = set()
    for b in rec["boxes"]:
        x, y, w, h = b["rect"]
        spacing_any.update(q(abs(v)) for v in b["margin"] if abs(v) >= SPACING_MIN)
        if b["content"]:
            spacing_any.update(q(v) for v in b["padding"] if v >= SPACING_MIN)
        if not b["painted"]:
            continue
        for c in b["corners"]:
            if c["visible"] and min(w, h) > 0:
                r = c["r"]
                radius_any.add(FULL if r >= min(w, h) / 2 - 0.5 else 0.0 if r < RADIUS_SQUARE else q(r))
        if min(w, h) >= RADIUS_MIN_SIDE:
            vals = set()
            for c in b["corners"]:
                if not c["visible"]:
                    continue
                r = c["r"]
                if r >= min(w, h) / 2 - 0.5:
                    vals.add(FULL)
                elif c["ellipse"] > RADIUS_ELLIPSE and r >= RADIUS_SQUARE:
                    continue
                else:
                    vals.add(0.0 if r < RADIUS_SQUARE else q(r))
            for v in vals:
                radius_uses[v] += 1
                if b["visArea"] >= RADIUS_BIG_AREA * viewport:
                    radius_big.add(v)
        if min(w, h) >= SHADOW_MIN_SIDE:
            outset = [l for l in b["shadow"] if not l["inset"] and (l["blur"] > 0 or l["x"] or l["y"])]
            vis = [l for l in outset if l["strength"] >= SHADOW_MIN_STRENGTH]
            faint = [l for l in outset if l["strength"] >= SHADOW_FAINT]
            for layers, into in ((vis, shadows), (faint if not vis else [], faint_shadows)):
                if layers:
                    css = ", ".join(f"{l['x']:g} {l['y']:g} {l['blur']:g} {l['spread']:g} "
                                    f"rgba({','.join(f'{v:g}' for v in l['rgba'])})" for l in layers)
                    into.setdefault(css, Shadow(css, layers, 0)).count += 1
        if b["content"]:
            for v in {q(p) for p in b["padding"] if p >= SPACING_MIN}:
                spacing_uses[v] += 1
    for g in rec["gaps"]:
        spacing_any.update(q(v) for v in g["declared"] if v >= SPACING_MIN)
        for v in {q(x["d"]) for x in g["values"] if x["d"] >= SPACING_MIN}:
            spacing_uses[v] += 1
    spacing_any.update(spacing_uses)
    radius_any.update(radius_uses)
    radius_expected = sorted((v for v, n in radius_uses.items()
                              if v != 0.0 and (n >= 2 or v in radius_big)),
                             key=lambda v: 1e9 if v == FULL else v)
    spacing_expected = sorted(v for v, n in spacing_uses.items() if n >= SPACING_MIN_USES)
    return PageTruth(
        colour=colour,
        font_chars=dict(font_chars), font_expected=font_expected,
        style_chars=dict(style_chars), style_expected=style_expected,
        line_heights=line_heights,
        radius_uses=radius_uses, radius_expected=radius_expected,
        spacing_uses=spacing_uses, spacing_expected=spacing_expected,
        spacing_any=spacing_any, radius_any=radius_any,
        base_unit=base_unit(Counter({v: n for v, n in spacing_uses.items() if n >= SPACING_MIN_USES})),
        shadows=sorted(shadows.values(), key=lambda s: -s.count),
        faint_shadows=sorted(faint_shadows.values(), key=lambda s: -s.count),
    )
