"""Spacing scale of a UI screenshot: paddings and gaps as DTCG dimension tokens.

What it measures
    Elements are the boxes ``find_boxes`` finds (cards, buttons, inputs...) and the text lines
    ``find_text_lines`` finds. Each element's parent is the smallest box around it.
    *Paddings*: from a box's inner edge (inside its border) to the nearest child element on
    each side. Left and top are always taken; right and bottom only where they match left and
    top within ``SYMMETRY`` (otherwise the box is wider or taller than its content needs, and
    the distance is not a padding). Sides cut by the image's bottom edge are skipped.
    *Gaps*: between neighbouring siblings (same parent), side by side (overlapping rows) or
    stacked (overlapping columns), nearest neighbour only.

Text correction
    A text line's ink is not its CSS box. Vertically the CSS line box is estimated from the
    font size (cap height / 0.715, else x-height / 0.55), the line height (the baseline pitch
    of the line's own paragraph where it wraps, else the page's typical ratio, else 1.45) and
    the content area (ascent 0.92 em, descent 0.23 em, centred in the line box).
    Horizontally the glyph side bearing (~0.06 em) is added on each side of the ink. Lengths
    that involve text are therefore estimates (about +-1 px at 16 px text); box-to-box
    lengths are exact. Text-derived lengths are snapped to the base unit when within 1 px.

Scale and names
    Lengths in CSS px (measured / ``ctx.scale``) between 1 and ``MAX_SPACING`` are grouped
    (within ``GROUP`` px), each step is the median of its members, rounded to 0.5 px. The
    base unit is the largest of ``BASES`` whose grid holds about as many of the steps as the
    best candidate does (see ``fit_base``), else 1.
    Token names are value / base: base 4: 16 px -> ``4``, 6 px -> ``1_5`` (the group is
    ``spacing``, so paths read ``spacing.4``). The group's ``$extensions[EXTENSION_KEY]`` holds
    ``base``, ``fit`` (share of measurements within 1 px of a multiple of the base),
    ``scale`` (every step with its count, kept or not) and ``measurements``.

Evidence and limits
    ``count`` = measurements in the step, ``share`` = their fraction, ``boxes`` = up to three
    of the measured spaces in image px. A step needs two measurements, or one exact one;
    others are left out. Invisible containers (no fill, no border) are not boxes, so margins
    and paddings of plain wrappers show only as gaps between what they hold. Deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stylestream.extractors import ExtractContext
from stylestream.extractors.layout import Box, find_boxes
from stylestream.extractors.text import TextLine, find_text_lines
from stylestream.schemas.tokens import EXTENSION_KEY, DimensionToken, Evidence, px

#: font size from glyph heights (em fractions, centred between Arial- and Inter-like fonts)
RC = 0.715
RX = 0.55
#: content area of a line (ascent + descent, em) and the default line-height ratio
ASCENT = 0.92
DESCENT = 0.23
LINE_HEIGHT = 1.45
LINE_HEIGHT_RANGE = (1.2, 1.7)
#: wrapped lines (same colour, same size within SAME_SIZE): baseline pitch / font size
#: within this range is a line height
PITCH_RANGE = (1.0, 1.75)
SAME_SIZE = 0.08
#: glyph side bearing, em
BEARING = 0.06
#: right/bottom paddings count when they match left/top within this (CSS px)
SYMMETRY = 1.5
#: lengths outside (CSS px) are not spacing
MIN_SPACING = 1.0
MAX_SPACING = 160.0
#: measurements within this (CSS px) of a step's median join it
GROUP = 1.0
#: candidate base units (CSS px), and the least weighted share on the grid to choose one
BASES = (2, 3, 4, 5, 6, 8, 10, 12)
#: least weighted share of the steps on a base's grid for it to be the base, and how close
#: to the best share a larger base must come to be chosen over it
BASE_FIT = 0.5
BASE_MARGIN = 0.1
#: pairwise comparisons (lines, siblings) run this many rows at a time: O(BLOCK n) memory
BLOCK = 512
#: text-derived measurements weigh this much against exact ones
TEXT_WEIGHT = 0.5
MIN_CONFIDENCE = 0.5


@dataclass(frozen=True, slots=True)
class Measure:
    """One padding or gap, CSS px, with the space it spans (image px)."""

    value: float
    exact: bool
    kind: str                          #: "padding" or "gap"
    box: tuple[int, int, int, int]
    #: "x" (horizontal length) or "y"; text-derived "y" lengths carry the line-height guess
    axis: str = "x"

    @property
    def rough(self) -> bool:
        return not self.exact and self.axis == "y"


@dataclass(slots=True)
class _Item:
    left: float
    top: float
    right: float
    bottom: float
    exact_x: bool
    exact_y: bool
    parent: int | None


def extract(image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
    """Spacing scale of ``image`` (RGB uint8, H x W x 3) as ``{"spacing": {name: token,
    "$extensions": {...}}}``; see the module doc."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    lines = find_text_lines(image)
    boxes = find_boxes(image, lossy=ctx.lossy, text_lines=lines)
    measures = measure(boxes, lines, image.shape[:2], ctx.scale)
    return {"spacing": spacing_scale(measures)}


# --- measuring --------------------------------------------------------------------------

def measure(boxes: Sequence[Box], lines: Sequence[TextLine], shape: tuple[int, int],
            scale: float) -> list[Measure]:
    """Paddings and gaps (CSS px) from boxes and text lines in image px."""
    H, W = shape
    items = _items(boxes, lines, scale)
    out: list[Measure] = []
    children: dict[int | None, list[int]] = {}
    for i, it in enumerate(items):
        children.setdefault(it.parent, []).append(i)
    # paddings
    for bi, b in enumerate(boxes):
        kids = children.get(bi)
        if not kids:
            continue
        bw = b.border_width
        il, it_, ir, ib = b.x + bw, b.y + bw, b.x + b.w - bw, b.y + b.h - bw
        k = [items[i] for i in kids]
        left = min(k, key=lambda q: q.left)
        top = min(k, key=lambda q: q.top)
        right = max(k, key=lambda q: q.right)
        bottom = max(k, key=lambda q: q.bottom)
        pl, pt = left.left - il, top.top - it_
        pr, pb = ir - right.right, ib - bottom.bottom
        mid_y = int(b.y + b.h / 2)
        mid_x = int(b.x + b.w / 2)
        out.append(Measure(pl / scale, left.exact_x, "padding", _span(il, mid_y - 1, left.left, 2)))
        out.append(Measure(pt / scale, top.exact_y, "padding", _span_v(mid_x - 1, it_, 2, top.top), "y"))
        if abs(pr - pl) <= SYMMETRY * scale:
            out.append(Measure(pr / scale, right.exact_x, "padding", _span(right.right, mid_y - 1, ir, 2)))
        if b.y + b.h < H - 1 and abs(pb - pt) <= SYMMETRY * scale:
            out.append(Measure(pb / scale, bottom.exact_y, "padding",
                               _span_v(mid_x - 1, bottom.bottom, 2, ib), "y"))
    # gaps between neighbouring siblings
    for kids in children.values():
        out.extend(_gaps([items[i] for i in kids], scale))
    return [m for m in out if MIN_SPACING <= m.value <= MAX_SPACING]


def _span(x0: float, y: int, x1: float, h: int) -> tuple[int, int, int, int]:
    return (int(round(x0)), y, max(1, int(round(x1 - x0))), h)


def _span_v(x: int, y0: float, w: int, y1: float) -> tuple[int, int, int, int]:
    return (x, int(round(y0)), w, max(1, int(round(y1 - y0))))


def _gaps(sib: list[_Item], scale: float) -> list[Measure]:
    out: list[Measure] = []
    n = len(sib)
    if n < 2:
        return out
    L, T, R, B = (np.array([getattr(q, f) for q in sib], np.float64)
                  for f in ("left", "top", "right", "bottom"))
    best_r, best_b = np.zeros(n, np.intp), np.zeros(n, np.intp)
    has_r, has_b = np.zeros(n, bool), np.zeros(n, bool)
    # [a, b]: b seen from a, for a block of a at a time (memory stays O(BLOCK n)). Nearest
    # sibling to the right on overlapping rows, and below on overlapping columns; the
    # first of equals wins
    for s in range(0, n, BLOCK):
        a = slice(s, min(s + BLOCK, n))
        other = np.arange(s, a.stop)[:, None] != np.arange(n)[None, :]
        oy = np.minimum(B[a, None], B[None, :]) - np.maximum(T[a, None], T[None, :])
        right = other & (oy >= 0.5 * np.minimum((B - T)[a, None], (B - T)[None, :]))
        right &= L[None, :] >= R[a, None] - 0.5
        ox = np.minimum(R[a, None], R[None, :]) - np.maximum(L[a, None], L[None, :])
        below = other & (ox >= 0.3 * np.minimum((R - L)[a, None], (R - L)[None, :]))
        below &= T[None, :] >= B[a, None] - 0.5
        best_r[a] = np.where(right, L[None, :] - R[a, None], np.inf).argmin(axis=1)
        best_b[a] = np.where(below, T[None, :] - B[a, None], np.inf).argmin(axis=1)
        has_r[a], has_b[a] = right.any(axis=1), below.any(axis=1)
    for i, a in enumerate(sib):
        if has_r[i]:
            b = sib[best_r[i]]
            g = b.left - a.right
            y0 = max(a.top, b.top)
            y1 = min(a.bottom, b.bottom)
            out.append(Measure(g / scale, a.exact_x and b.exact_x, "gap",
                               _span(a.right, int(round(y0)), b.left, max(1, int(round(y1 - y0))))))
        if has_b[i]:
            b = sib[best_b[i]]
            g = b.top - a.bottom
            x0 = max(a.left, b.left)
            x1 = min(a.right, b.right)
            out.append(Measure(g / scale, a.exact_y and b.exact_y, "gap",
                               _span_v(int(round(x0)), a.bottom, max(1, int(round(x1 - x0))), b.top),
                               "y"))
    return out


def _items(boxes: Sequence[Box], lines: Sequence[TextLine], scale: float) -> list[_Item]:
    items = [_Item(b.x, b.y, b.x + b.w, b.y + b.h, True, True, b.parent) for b in boxes]
    sizes = [_font_size(t) for t in lines]
    pitch = _pitches(lines, sizes)
    ratios = [pitch[i] / sizes[i] for i in range(len(lines)) if pitch[i] > 0 and sizes[i] > 0]
    page_ratio = float(np.clip(np.median(ratios), *LINE_HEIGHT_RANGE)) if ratios else LINE_HEIGHT
    parents = _container(boxes, lines)
    for i, t in enumerate(lines):
        fs = sizes[i]
        if fs <= 0:
            continue
        lh = pitch[i] if pitch[i] > 0 else page_ratio * fs
        top = t.baseline - ASCENT * fs - (lh - (ASCENT + DESCENT) * fs) / 2
        bear = BEARING * fs
        items.append(_Item(t.x - bear, top, t.x + t.w + bear, top + lh, False, False, parents[i]))
    return items


def _font_size(t: TextLine) -> float:
    if t.cap_height > 0:
        return t.cap_height / RC
    if t.x_height > 0:
        return t.x_height / RX
    return 0.0


def _pitches(lines: Sequence[TextLine], sizes: list[float]) -> list[float]:
    """Per line, the smallest baseline pitch to a wrapped neighbour of the same size and
    left edge (its line height), 0 where it has none."""
    n = len(lines)
    if n < 2:
        return [0.0] * n
    fs = np.array(sizes, np.float64)
    x = np.array([t.x for t in lines], np.float64)
    base = np.array([t.baseline for t in lines], np.float64)
    col = np.array([t.color for t in lines], np.int16).T  # (3, n)
    best = np.full(n, np.inf)
    # [i, j] for i < j: line j seen from line i, a block of i at a time
    for s in range(0, n, BLOCK):
        i = slice(s, min(s + BLOCK, n))
        fa, fb = fs[i, None], fs[None, :]
        ok = (np.arange(s, i.stop)[:, None] < np.arange(n)[None, :]) & (fa > 0) & (fb > 0)
        ok &= ~(np.abs(fa - fb) > SAME_SIZE * np.maximum(fa, fb))
        for c in col:
            ok &= np.abs(c[i, None] - c[None, :]) <= 24
        ok &= ~(np.abs(x[i, None] - x[None, :]) > np.maximum(2.0, 0.15 * fa))
        p = base[None, :] - base[i, None]
        f = (fa + fb) / 2
        ok &= (PITCH_RANGE[0] * f <= p) & (p <= PITCH_RANGE[1] * f)
        pitch = np.where(ok, p, np.inf)
        best[i] = np.minimum(best[i], pitch.min(axis=1))
        np.minimum(best, pitch.min(axis=0), out=best)
    return [float(v) if np.isfinite(v) else 0.0 for v in best]


def _container(boxes: Sequence[Box], lines: Sequence[TextLine]) -> list[int | None]:
    """Per line, the smallest box around it (the first of equals), None where none is."""
    if not boxes or not lines:
        return [None] * len(lines)
    bx, by, bw, bh = (np.array([getattr(b, f) for b in boxes], np.int64) for f in "xywh")
    tx, ty, tw, th = (np.array([getattr(t, f) for t in lines], np.int64)[:, None] for f in "xywh")
    out: list[int | None] = []
    for s in range(0, len(lines), BLOCK):
        i = slice(s, s + BLOCK)
        inside = (bx <= tx[i]) & (by <= ty[i]) & (bx + bw >= tx[i] + tw[i]) & (by + bh >= ty[i] + th[i])
        area = np.where(inside, (bw * bh).astype(np.float64), np.inf)
        best = area.argmin(axis=1)
        out += [int(b) if inside[k, b] else None for k, b in enumerate(best.tolist())]
    return out


# --- the scale --------------------------------------------------------------------------

def fit_base(steps: np.ndarray, counts: np.ndarray, exact: np.ndarray) -> int:
    """The base unit. Each candidate of ``BASES`` holds a share of the steps on its grid
    (within 0.5 px for steps measured mostly box to box, 1 px for text-derived ones, at
    most base / 4; each step weighing sqrt(its count) so one frequent value does not decide
    alone). The base is the largest candidate within ``BASE_MARGIN`` of the best share of
    the bases from 4 up, if that share reaches ``BASE_FIT``; else 2 or 3 by the same rule;
    else 1. A larger base wins only where it explains about as much as its divisors."""
    if len(steps) == 0:
        return 1
    w = np.sqrt(counts.astype(np.float64))
    total = float(w.sum())
    share = {}
    for b in BASES:
        tol = np.minimum(np.where(exact, 0.5, 1.0), b / 4)
        off = np.abs(steps - b * np.maximum(np.rint(steps / b), 1))
        share[b] = float(w[off <= tol].sum()) / total
    for group in ([b for b in BASES if b >= 4], [b for b in BASES if b < 4]):
        best = max(share[b] for b in group)
        if best >= BASE_FIT:
            return max(b for b in group if share[b] >= best - BASE_MARGIN)
    return 1


def grid_fit(values: np.ndarray, base: int) -> float:
    """Share of measurements within 1 px of a multiple of ``base``."""
    if len(values) == 0:
        return 0.0
    off = np.abs(values - base * np.maximum(np.rint(values / base), 1))
    return float((off <= 1.0).mean())


def _group(values: np.ndarray) -> list[list[int]]:
    """Indices grouped into steps: sorted values joining the current step while within
    ``GROUP`` of its median."""
    order = np.lexsort((np.arange(len(values)), values))
    vs = values[order].tolist()
    steps: list[list[int]] = []
    start = 0  # where the current step starts in sorted order: its values are vs[start:pos]
    for pos, v in enumerate(vs):
        if steps:
            n = pos - start
            mid = start + n // 2
            median = vs[mid] if n % 2 else (vs[mid - 1] + vs[mid]) / 2
            if v - median <= GROUP:
                steps[-1].append(int(order[pos]))
                continue
        steps.append([int(order[pos])])
        start = pos
    return steps


def spacing_scale(measures: Sequence[Measure]) -> dict[str, Any]:
    """Group measurements into steps; tokens named by value / base (see module doc)."""
    if not measures:
        return {}
    vals = np.array([m.value for m in measures])
    exact = np.array([m.exact for m in measures])
    # the base from a first grouping of the lengths that do not depend on a line-height
    # guess (kept steps only)
    sure = np.array([not m.rough for m in measures])
    sv, se = vals[sure], exact[sure]
    first = [(float(np.median(sv[m])), len(m), 2 * int(se[m].sum()) >= len(m))
             for m in _group(sv) if _confidence(len(m), int(se[m].sum())) >= MIN_CONFIDENCE]
    base = fit_base(np.array([v for v, _, _ in first]), np.array([c for _, c, _ in first]),
                    np.array([e for _, _, e in first], bool))
    # text-derived lengths snap to the grid when they are near it
    snapped = vals.copy()
    if base > 1:
        grid = base * np.maximum(np.rint(vals / base), 1)
        near = ~exact & (np.abs(vals - grid) <= 1.0)
        snapped[near] = grid[near]
    tokens: dict[str, Any] = {}
    scale_info = []
    total = len(measures)
    for members in _group(snapped):
        value = round(float(np.median(snapped[members])) * 2) / 2
        n_exact = int(exact[members].sum())
        count = len(members)
        conf = _confidence(count, n_exact)
        kept = conf >= MIN_CONFIDENCE
        scale_info.append({"value": value, "count": count, "exact": n_exact, "kept": kept})
        if not kept:
            continue
        name = _name(value, base)
        if name in tokens:
            continue  # two steps rounding to one value: the first (smaller) speaks for both
        ex = sorted(members, key=lambda i: (not measures[i].exact, measures[i].box))[:3]
        tokens[name] = DimensionToken(
            value=px(value),
            extensions={EXTENSION_KEY: Evidence(
                confidence=round(conf, 3),
                share=round(count / total, 4),
                count=count,
                boxes=[measures[i].box for i in ex],
            )},
        )
    group: dict[str, Any] = {"$extensions": {EXTENSION_KEY: {
        "base": base,
        "fit": round(grid_fit(vals, base), 3),
        "scale": scale_info,
        "measurements": total,
    }}}
    group.update(tokens)
    return group


def _confidence(count: int, n_exact: int) -> float:
    """Exact lengths count fully, text-derived ones half: one exact is 0.5, two 0.6..."""
    weight = n_exact + TEXT_WEIGHT * (count - n_exact)
    if weight < 1.0:
        return 0.4
    return min(1.0, 0.5 + 0.1 * (weight - 1.0))


def _name(value: float, base: int) -> str:
    q = value / base
    if abs(q - round(q)) < 1e-9:
        return str(int(round(q)))
    text = f"{q:.3f}".rstrip("0").rstrip(".")
    return text.replace(".", "_")
