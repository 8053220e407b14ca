"""Typography of a UI screenshot: font sizes, weights, line heights and text styles.

What it measures
    Text lines come from ``text.find_text_lines`` (pixels only, no OCR). For each line:

    * **size** (CSS px) from the x-height and the tall-glyph height (capitals, digits,
      ascenders), as measured there: ``(x + tall) / (RX + RC)`` when both show,
      ``tall / RC`` for capitals/digits only, ``x / RX`` for lowercase without ascenders.
      ``RX = 0.55`` and ``RC = 0.725`` em sit between the heights measured (rendered in
      Chromium, 1x and 2x) for Arial-metric fonts (Liberation Sans: 0.544 / 0.714) and
      Inter-like ones (DejaVu Sans: 0.568 / 0.748); round letters overshoot, so measured
      x-heights run ~4 % over the nominal ones. Arial-like fonts come out ~1 % small,
      DejaVu/Inter-like ~3 % large (bold DejaVu up to ~8 %), Times-like serifs
      (x ≈ 0.47 em) ~8 % small. The 1x pixel hinting of small text adds up to ±5 %.
    * **weight** from the vertical stem width relative to the size: ``stroke / size`` is
      ~0.08-0.10 for regular (400) and ~0.14-0.18 for bold (700) across families; 500 and
      600 lie between and are told apart less reliably (±100 is the honest resolution).
    * **line height** (unitless) from baseline-to-baseline distances of consecutive lines
      of one wrapped block: same size and colour, aligned, the upper line long (a wrapped
      paragraph, not a list or a table), nothing between them.

    Lines are grouped into sizes by merging sizes that measurement cannot tell apart
    (uncertainty from pixel quantisation plus a 2 % font-to-font floor); each size is
    rounded to a whole CSS px (design-system sizes are whole px almost always), so a few
    per cent of bias can turn 16 into 17: sizes within ~5 % of each other (16/17/18 in one
    family) may merge into one. Within a
    size, lines split into weight classes; a (size, weight) pair is a *style*, with the
    colour its text mostly has.

Output
    ``{"font": {"size": {name: DimensionToken}, "weight": {name: NumberToken fontWeight},
    "lineHeight": {size name: NumberToken}}, "typography": {role: TypographyToken}}``.
    Size names: the size with the most text (glyphs) is ``body``; larger ones ``lg``, ``xl``,
    ``2xl``…, smaller ones ``sm``, ``xs``, ``2xs``… by position. The size group's
    ``$extensions`` hold the type scale: every size with its amount of text, and the best
    fitting ratio of ``1.067 … 1.618`` with its fit: (1 - mean distance of the sizes from
    the nearest step ``body * ratio ** k``, in half steps, whole-px rounding forgiven) x
    (share of the steps between the smallest and largest size that are used) x (steps /
    sizes: one size per step); 1 = every size on its own step and no step skipped, ~0.5
    or less = no geometric scale. Typography
    roles: ``body`` (the style with the most text), ``heading-1``… (larger, biggest first),
    ``body-<weight>`` (body size, another weight), ``label``/``caption`` (smaller, bold or
    not). ``lineHeight`` is left out of a composite, and the size left out of
    ``font.lineHeight``, where no wrapped block showed it; ``fontFamily`` is never guessed.
    Evidence ``count`` is the number of glyphs (amount of text); boxes are example lines.

Limits
    Needs ~6 image px of x-height; single-glyph text (icons, lone digits) is not measured;
    a line of one glyph height is read as capitals/digits unless its glyphs are as wide
    as tall or it has dots or descenders (``text._lowercase``). Letter spacing is not measured.
    Pure and deterministic: no I/O, same input, same output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stylestream.extractors import ExtractContext
from stylestream.extractors.text import TextLine, find_text_lines
from stylestream.schemas.tokens import (
    EXTENSION_KEY,
    DimensionToken,
    Evidence,
    NumberToken,
    TypographyToken,
    TypographyValue,
    px,
)

#: measured x-height and tall-glyph height, in em, of common UI sans fonts
RX = 0.55
RC = 0.725
#: relative font-to-font spread of those ratios (x-heights vary more than capitals)
SPREAD_BOTH, SPREAD_CAP, SPREAD_X = 0.025, 0.025, 0.045
#: error (image px) of one sub-pixel height measurement
QUANT = 0.3
#: floor of a size cluster's relative uncertainty (fonts differ systematically)
FLOOR = 0.02
#: sizes closer than this many standard errors are one size
MERGE_Z = 2.0
#: stroke / size -> weight class: upper bounds
WEIGHT_BOUNDS = ((0.050, 200), (0.068, 300), (0.106, 400), (0.118, 500), (0.132, 600),
                 (0.225, 700), (0.270, 800), (math.inf, 900))
WEIGHT_NAMES = {100: "thin", 200: "extralight", 300: "light", 400: "regular", 500: "medium",
                600: "semibold", 700: "bold", 800: "extrabold", 900: "black"}
#: candidate type-scale ratios
RATIOS = (1.067, 1.125, 1.2, 1.25, 1.333, 1.414, 1.5, 1.618)
#: line height: accepted range of ratios, least upper-line length (in sizes)
LH_RANGE = (1.0, 2.3)
LH_MIN_LINE = 8.0
#: least glyphs for a size or a style, and least confidence to report it
MIN_GLYPHS = 3
MIN_CONFIDENCE = 0.5


@dataclass(slots=True)
class _Line:
    line: TextLine
    size: float        # CSS px
    sigma: float       # relative uncertainty of size
    ratio: float       # stroke / size
    cluster: int = -1


def extract(image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
    """Font sizes, weights, line heights and text styles of ``image`` (RGB uint8, H x W x 3);
    see the module doc. Lengths in CSS px (image px / ``ctx.scale``)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    scale = ctx.scale if ctx.scale > 0 else 1.0
    lines = [m for m in (_line(t, scale) for t in find_text_lines(image)) if m is not None]
    sizes = _sizes(lines)
    if not sizes:
        return {"font": {"size": {}, "weight": {}, "lineHeight": {}}, "typography": {}}
    total = sum(s.glyphs for s in sizes)
    names = _size_names(sizes)
    size_group: dict[str, Any] = {}
    for s, name in zip(sizes, names, strict=True):
        size_group[name] = DimensionToken(value=px(s.value), extensions={EXTENSION_KEY: Evidence(
            confidence=s.confidence, share=round(s.glyphs / total, 4), count=s.glyphs,
            boxes=_boxes(s.members))})
    size_group["$extensions"] = {EXTENSION_KEY: _scale_info(sizes, names)}
    line_heights = {name: _line_height(s, lines, scale) for s, name in zip(sizes, names, strict=True)}
    lh_group = {name: NumberToken(value=lh[0], extensions={EXTENSION_KEY: Evidence(
        confidence=lh[1], count=lh[2], boxes=lh[3])})
        for name, lh in line_heights.items() if lh is not None}
    styles = _styles(sizes, names)
    weight_group: dict[str, NumberToken] = {}
    for wt in sorted({st.weight for st in styles}):
        members = [st for st in styles if st.weight == wt]
        glyphs = sum(st.glyphs for st in members)
        conf = round(min(max(st.confidence for st in members), 0.9), 3)
        weight_group[WEIGHT_NAMES[wt]] = NumberToken(type="fontWeight", value=wt, extensions={
            EXTENSION_KEY: Evidence(confidence=conf, share=round(glyphs / total, 4), count=glyphs,
                                    boxes=_boxes([m for st in members for m in st.members]))})
    typo: dict[str, TypographyToken] = {}
    for role, st in _roles(styles):
        lh = line_heights.get(st.size_name)
        typo[role] = TypographyToken(value=TypographyValue(
            fontSize=px(st.size), fontWeight=st.weight,
            lineHeight=lh[0] if lh is not None else None), extensions={EXTENSION_KEY: Evidence(
                confidence=st.confidence, share=round(st.glyphs / total, 4), count=st.glyphs,
                boxes=_boxes(st.members), color=st.color)})
    return {"font": {"size": size_group, "weight": weight_group, "lineHeight": lh_group},
            "typography": typo}


# --- lines -----------------------------------------------------------------------------

def _line(t: TextLine, scale: float) -> _Line | None:
    x, c = t.x_height, t.cap_height
    if c > 0 and t.cap_count < 2 and x > 0 and t.x_count >= 3:
        c = 0.0  # one tall glyph may be a t: the x-height alone is the better guess
    if x > 0 and c > 0:
        size_px = (x + c) / (RX + RC)
        rel = math.hypot(SPREAD_BOTH, QUANT * 1.4 / (x + c))
    elif c > 0:
        size_px = c / RC
        rel = math.hypot(SPREAD_CAP, QUANT / c)
    elif x > 0:
        size_px = x / RX
        rel = math.hypot(SPREAD_X, QUANT / x)
    else:
        return None
    if size_px < 4 or t.glyphs < 3:
        return None
    # many glyphs make the medians behind x and tall heights steadier
    rel /= math.sqrt(min(max(t.glyphs, 4), 24) / 4)
    ratio = t.stroke / size_px if t.stroke > 0 else 0.0
    return _Line(line=t, size=size_px / scale, sigma=rel, ratio=ratio)


# --- sizes -----------------------------------------------------------------------------

@dataclass(slots=True)
class _Size:
    value: float
    members: list[_Line]
    glyphs: int
    confidence: float


def _sizes(lines: list[_Line]) -> list[_Size]:
    """Cluster line sizes (see module doc), round, drop sizes with too little text."""
    clusters = _agglomerate(lines)
    out: dict[float, list[_Line]] = {}
    for cl in clusters:
        mu, _ = _stats(cl)
        value = float(round(math.exp(mu))) if math.exp(mu) >= 6 else round(math.exp(mu) * 4) / 4
        out.setdefault(value, []).extend(cl)
    sizes = []
    for value in sorted(out):
        members = sorted(out[value], key=lambda m: (m.line.y, m.line.x))
        glyphs = sum(m.line.glyphs for m in members)
        if glyphs < MIN_GLYPHS:
            continue
        conf = min(0.95, 0.35 + 0.2 * math.log10(glyphs) + 0.05 * min(len(members) - 1, 3))
        if conf < MIN_CONFIDENCE:
            continue
        sizes.append(_Size(value=value, members=members, glyphs=glyphs, confidence=round(conf, 3)))
    for i, s in enumerate(sizes):
        for m in s.members:
            m.cluster = i
    return sizes


def _stats(cl: list[_Line]) -> tuple[float, float]:
    """Inverse-variance mean of log sizes and its standard error (floored)."""
    w = np.array([1.0 / (m.sigma * m.sigma) for m in cl])
    v = np.array([math.log(m.size) for m in cl])
    mu = float((w * v).sum() / w.sum())
    return mu, max(FLOOR, 1.0 / math.sqrt(float(w.sum())))


def _agglomerate(lines: list[_Line]) -> list[list[_Line]]:
    """Merge neighbouring sizes (in log size) while the closest pair is within MERGE_Z."""
    if not lines:
        return []
    lines = sorted(lines, key=lambda m: (m.size, m.line.y, m.line.x))
    clusters: list[list[_Line]] = [[m] for m in lines]
    stats = [_stats(c) for c in clusters]
    while len(clusters) > 1:
        zs = [abs(stats[i + 1][0] - stats[i][0]) / math.hypot(stats[i][1], stats[i + 1][1])
              for i in range(len(clusters) - 1)]
        i = int(np.argmin(zs))
        if zs[i] >= MERGE_Z:
            break
        clusters[i] = clusters[i] + clusters.pop(i + 1)
        stats.pop(i + 1)
        stats[i] = _stats(clusters[i])
    return clusters


def _size_names(sizes: list[_Size]) -> list[str]:
    body = max(range(len(sizes)), key=lambda i: (sizes[i].glyphs, -i))
    names = []
    for i in range(len(sizes)):
        k = i - body
        if k == 0:
            names.append("body")
        elif k < 0:
            names.append(["sm", "xs"][-k - 1] if -k <= 2 else f"{-k - 1}xs")
        else:
            names.append(["lg", "xl"][k - 1] if k <= 2 else f"{k - 1}xl")
    return names


def _scale_info(sizes: list[_Size], names: list[str]) -> dict[str, Any]:
    """Sizes with their amount of text, and the best fitting geometric ratio."""
    info: dict[str, Any] = {"sizes": [{"name": n, "size": s.value, "count": s.glyphs}
                                      for s, n in zip(sizes, names, strict=True)]}
    base = sizes[names.index("body")].value
    info["base"] = base
    if len(sizes) >= 3:
        best = None
        for r in RATIOS:
            errs, steps = [], set()
            for s in sizes:
                k = round(math.log(s.value / base) / math.log(r))
                step = base * r ** k
                half = step * (r - 1) / 2
                # whole-px rounding moves a size by up to 0.5 px: forgive that much, but
                # never most of a step (small ratios would fit anything)
                slack = min(0.5, 0.25 * half)
                errs.append(min(1.0, max(0.0, abs(s.value - step) - slack) / half))
                steps.add(k)
            # a scale that skips most of its steps, or puts several sizes on one step,
            # explains little
            used = len(steps) / (max(steps) - min(steps) + 1)
            fit = (1.0 - float(np.mean(errs))) * used * len(steps) / len(sizes)
            if best is None or fit > best[1] + 1e-9:
                best = (r, fit)
        assert best is not None
        info["ratio"] = best[0]
        info["fit"] = round(best[1], 3)
    return info


# --- weights and styles ----------------------------------------------------------------

def _weight(ratio: float) -> int:
    for bound, wt in WEIGHT_BOUNDS:
        if ratio < bound:
            return wt
    return 900


@dataclass(slots=True)
class _Style:
    size: float
    size_name: str
    weight: int
    members: list[_Line]
    glyphs: int
    color: str
    confidence: float


def _styles(sizes: list[_Size], names: list[str]) -> list[_Style]:
    out = []
    for s, name in zip(sizes, names, strict=True):
        by: dict[int, list[_Line]] = {}
        for m in s.members:
            by.setdefault(_weight(m.ratio / _size_scale(m, s)), []).append(m)
        # a weight class with little text is noise around its neighbour: fold it in
        classes = sorted(by, key=lambda wt: -sum(m.line.glyphs for m in by[wt]))
        main = classes[0]
        for wt in classes[1:]:
            g = sum(m.line.glyphs for m in by[wt])
            if g < 0.12 * s.glyphs and abs(wt - main) <= 100:
                by[main].extend(by.pop(wt))
        for wt in sorted(by):
            members = sorted(by[wt], key=lambda m: (m.line.y, m.line.x))
            ratios = np.array([m.ratio / _size_scale(m, s) for m in members])
            gl = np.array([m.line.glyphs for m in members], float)
            weight = _weight(_weighted_median(ratios, gl))
            glyphs = int(gl.sum())
            if glyphs < MIN_GLYPHS:
                continue
            # the size's main weight is as sure as the size; other weights need text of their own
            conf = s.confidence if wt == main else min(
                s.confidence, 0.35 + 0.2 * math.log10(glyphs) + 0.05 * min(len(members) - 1, 3))
            if conf < MIN_CONFIDENCE:
                continue
            out.append(_Style(size=s.value, size_name=name, weight=weight, members=members,
                              glyphs=glyphs, color=_color(members), confidence=round(conf, 3)))
    # two classes that came out as one weight are one style
    merged: dict[tuple[float, int], _Style] = {}
    for st in out:
        key = (st.size, st.weight)
        if key in merged:
            prev = merged[key]
            prev.members = sorted(prev.members + st.members, key=lambda m: (m.line.y, m.line.x))
            prev.glyphs += st.glyphs
            prev.color = _color(prev.members)
            prev.confidence = max(prev.confidence, st.confidence)
        else:
            merged[key] = st
    return list(merged.values())


def _size_scale(m: _Line, s: _Size) -> float:
    """A line's stroke ratio is relative to its own size estimate; rescale to the cluster's."""
    return s.value / m.size if m.size > 0 else 1.0


def _weighted_median(v: np.ndarray, w: np.ndarray) -> float:
    o = np.argsort(v, kind="stable")
    c = np.cumsum(w[o])
    return float(v[o][np.searchsorted(c, c[-1] / 2)])


def _color(members: list[_Line]) -> str:
    """The colour most of the style's text has: glyph-weighted vote over near colours, then
    the member farthest from its background (small text rarely reaches its full ink)."""
    votes: dict[tuple[int, ...], int] = {}
    for m in members:
        key = tuple(v // 12 for v in m.line.color)
        votes[key] = votes.get(key, 0) + m.line.glyphs
    top = max(votes, key=lambda k: (votes[k], k))
    centre = np.array(top) * 12 + 6
    pool = [m for m in members if np.abs(np.array(m.line.color) - centre).max() <= 30]

    def contrast(m: _Line) -> float:
        return float(np.abs(np.array(m.line.color) - np.array(m.line.background)).sum())
    pick = max(pool, key=lambda m: (contrast(m), m.line.glyphs, -m.line.y, -m.line.x))
    return "#%02x%02x%02x" % pick.line.color


def _roles(styles: list[_Style]) -> list[tuple[str, _Style]]:
    if not styles:
        return []
    body = max(styles, key=lambda st: (st.glyphs, -st.size, -st.weight))
    out = [("body", body)]
    larger = sorted((st for st in styles if st.size > body.size), key=lambda st: (-st.size, -st.weight))
    out += [(f"heading-{i + 1}", st) for i, st in enumerate(larger)]
    for st in sorted((st for st in styles if st.size == body.size and st is not body),
                     key=lambda st: st.weight):
        out.append((f"body-{WEIGHT_NAMES[st.weight]}", st))
    smaller = sorted((st for st in styles if st.size < body.size), key=lambda st: (-st.size, -st.weight))
    counters = {"label": 0, "caption": 0}
    for st in smaller:
        kind = "label" if st.weight >= 600 else "caption"
        counters[kind] += 1
        out.append((kind if counters[kind] == 1 else f"{kind}-{counters[kind]}", st))
    return out


# --- line height -----------------------------------------------------------------------

def _line_height(size: _Size, lines: list[_Line], scale: float):
    """(ratio, confidence, pairs, boxes) from wrapped blocks of this size, or None."""
    gaps: list[float] = []
    boxes: list[tuple[int, int, int, int]] = []
    size_px = size.value * scale
    for m in size.members:
        t = m.line
        if t.w < LH_MIN_LINE * size_px:
            continue
        # the nearest line below that overlaps this one horizontally
        below = None
        for o in lines:
            u = o.line
            if o is m or u.baseline <= t.baseline + 0.5 * size_px:
                continue
            if u.x >= t.x + t.w or u.x + u.w <= t.x:
                continue
            if below is None or (u.baseline, u.x) < (below.line.baseline, below.line.x):
                below = o
        if below is None or below.cluster != m.cluster:
            continue
        u = below.line
        aligned = abs(u.x - t.x) <= 0.75 * size_px or abs((u.x + u.w / 2) - (t.x + t.w / 2)) <= size_px
        same_colour = max(abs(a - b) for a, b in zip(u.color, t.color, strict=True)) <= 40
        gap = (u.baseline - t.baseline) / scale
        if aligned and same_colour and LH_RANGE[0] <= gap / size.value <= LH_RANGE[1]:
            gaps.append(gap)
            if len(boxes) < 3:
                boxes.append((t.x, t.y, t.w, int(round(u.y + u.h - t.y))))
    if not gaps:
        return None
    g = np.array(gaps)
    med = float(np.median(g))
    g = g[np.abs(g - med) <= 0.1 * med]
    ratio = round(float(g.mean()) / size.value, 2)
    conf = round(min(0.9, 0.5 + 0.1 * len(g)), 3)
    return ratio, conf, int(len(g)), boxes


def _boxes(members: list[_Line]) -> list[tuple[int, int, int, int]]:
    top = sorted(members, key=lambda m: (-m.line.glyphs, m.line.y, m.line.x))[:3]
    return [(m.line.x, m.line.y, m.line.w, m.line.h) for m in top]
