"""UI element boxes from pixels: cards, buttons, inputs, badges, panels, table rows.

Shared by the spacing, radius and shadow extractors. ``find_boxes(image)`` returns one
``Box`` per element, sorted by (y, x, -area), each with its parent (smallest enclosing box).

What a box is
    A region of one flat colour (the *fill*) whose outline is a closed transition: on every
    side that does not touch the image edge, either the colour beyond differs from the fill
    (a filled box: a button on a card, a card on a page) or a thin line of a third colour
    runs along it (a border: a white input on a white card). Text glyphs, icons and content
    are holes in the fill and do not matter.

How
    1. Flat regions: a pixel is an *edge* pixel when one of its 4 neighbours differs from it by
       more than ``tol`` in some channel (2 levels for lossless images, more for JPEG-like
       noise); connected non-edge pixels are regions. Regions with a spread-out colour
       (gradients, photos) or too small are dropped.
    2. Shape: per-row and per-column extents of each region give how rectangular it is (its
       outline area over its bounding box) and how much of each side is straight; blobs and
       glyph counters (the hole of an "o") fail.
    3. Sides: a few colour profiles walk outward from the straight part of each side. Each
       profile is the fill, then a short transition, then a stable outside colour. A
       transition whose pixels lie on the fill-outside segment is anti-aliasing (its coverage
       moves the edge by a sub-pixel amount); otherwise it is a border (colour, width from
       its summed coverage). All profiles of a side vote.
    4. Corner radius from coverage (sub-pixel, see ``_corner_radius``): the area the rounded
       corner cuts out of the bounding box is r^2 (1 - pi/4).
    5. Boxes with the same outline are merged (a thick border ring is a region too), and
       each box gets the smallest box that encloses it as parent.

Units and limits
    Everything in image pixels (callers divide by ``ctx.scale``). Elements without a flat
    fill (images, gradients) are not boxes; an element whose fill equals its surroundings
    and has no border is invisible and not found (shadow-only cards are found when the
    shadow makes a step at their edge). Borders on only some sides (table-row dividers)
    leave ``border`` None. Radii under ~1 px read as 0. Deterministic: no randomness, no
    cache; the order is (y, x, -area).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from stylestream.extractors.text import TextLine, find_text_lines

#: regions smaller than this (either side, image px) are not boxes
MIN_SIDE = 6
MIN_AREA = 36
#: lossless / lossy colour tolerance (max channel difference) inside a region
TOL_LOSSLESS = 2
TOL_LOSSY = 10
#: least max-channel contrast for a side transition (fill vs outside, or border vs outside)
MIN_CONTRAST = 4
MIN_CONTRAST_LOSSY = 16
#: least share of a region's pixels within tol of its mean colour
MIN_UNIFORM = 0.9
#: least outline area / bounding-box area (a circle is 0.785)
MIN_RECT = 0.74
#: profiles walk this far outward looking for the outside colour
PROFILE = 14
#: longest transition (border + anti-aliasing), image px
MAX_TRANSITION = 9
#: profiles per side
SAMPLES = 5
#: largest corner window (radius measurable up to about this), image px
MAX_CORNER = 200
_CORNER_K = 1.0 - math.pi / 4.0


@dataclass(frozen=True, slots=True)
class Box:
    x: int
    y: int
    w: int
    h: int                                   #: outer bounding box, image px
    fill: tuple[int, int, int]               #: interior colour
    border: tuple[int, int, int] | None      #: border colour if it has a distinct border
    border_width: float                      #: image px (0.0 without border)
    radius: float                            #: corner radius, image px (0.0 = square)
    parent: int | None                       #: index of the smallest enclosing box, None at top
    #: radius of each corner (top-left, top-right, bottom-right, bottom-left); -1 unmeasured
    radii: tuple[float, float, float, float] = (-1.0, -1.0, -1.0, -1.0)
    #: colour just outside the box (its background), median over its sides
    outside: tuple[int, int, int] = (0, 0, 0)
    #: pixels of the flat fill region (interior area without content and border)
    fill_area: int = 0


@dataclass(slots=True)
class _Side:
    kind: str            # "box" (closed transition), "edge" (image border), "open"
    offset: float        # box pixels beyond the region's last pixel (F run + transition)
    outside: tuple | None
    border: tuple | None
    border_width: float


def find_boxes(image: np.ndarray, *, lossy: bool | None = None,
               text_lines: Sequence[TextLine] | None = None) -> list[Box]:
    """Boxes of ``image`` (RGB uint8, H x W x 3); see the module doc. ``lossy`` says whether
    the source was JPEG-like (measured from the pixels when None); ``text_lines`` are the
    image's text lines (found with ``find_text_lines`` when None): regions inside a text
    line's ink box are glyph parts, not boxes."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    H, W = image.shape[:2]
    if H < 2 * MIN_SIDE or W < 2 * MIN_SIDE:
        return []
    if lossy is None:
        from stylestream.extractors.color import NOISY, _noise_level
        lossy = _noise_level(image) > NOISY
    tol = TOL_LOSSY if lossy else TOL_LOSSLESS
    contrast = MIN_CONTRAST_LOSSY if lossy else MIN_CONTRAST

    labels, stats, mean, uniform = _regions(image, tol)
    if text_lines is None:
        text_lines = find_text_lines(image)
    img = image.astype(np.int16)
    found: list[tuple[tuple[int, int, int, int], Box]] = []
    for lab in _candidates(stats, uniform, text_lines):
        box = _measure(img, labels, int(lab), stats[lab], mean[lab], tol, contrast)
        if box is not None:
            found.append(((box.x, box.y, box.w, box.h), box))
    return _arrange(found)


# --- regions ----------------------------------------------------------------------------

def _regions(image: np.ndarray, tol: int):
    H, W = image.shape[:2]
    ch = cv2.split(image)
    dx = None
    dy = None
    for c in ch:
        ax = cv2.absdiff(c[:, 1:], c[:, :-1])
        ay = cv2.absdiff(c[1:], c[:-1])
        dx = ax if dx is None else cv2.max(dx, ax)
        dy = ay if dy is None else cv2.max(dy, ay)
    ex = dx > tol
    ey = dy > tol
    edge = np.zeros((H, W), bool)
    edge[:, 1:] |= ex
    edge[:, :-1] |= ex
    edge[1:] |= ey
    edge[:-1] |= ey
    n, labels, stats, _ = cv2.connectedComponentsWithStats((~edge).view(np.uint8), connectivity=4)
    # colour statistics on every other pixel of every other row: regions worth measuring
    # are at least MIN_SIDE wide, so each keeps enough samples
    sub = labels[::2, ::2].ravel()
    cnt = np.bincount(sub, minlength=n)
    den = np.maximum(cnt, 1).astype(np.float64)
    sch = [np.ascontiguousarray(c[::2, ::2]).ravel() for c in ch]
    mean = np.stack([np.bincount(sub, weights=c, minlength=n) for c in sch], axis=1) / den[:, None]
    # uniformity: share of the region's pixels within tol of its mean colour
    m = np.rint(mean).astype(np.int16)
    off = np.zeros(sub.shape, bool)
    for i, c in enumerate(sch):
        off |= np.abs(c.astype(np.int16) - m[sub, i]) > tol
    bad = np.bincount(sub[off], minlength=n)
    uniform = np.where(cnt > 0, 1.0 - bad / den, 0.0)
    return labels, stats, m, uniform


def _candidates(stats: np.ndarray, uniform: np.ndarray, text_lines) -> np.ndarray:
    x = stats[:, cv2.CC_STAT_LEFT]
    y = stats[:, cv2.CC_STAT_TOP]
    w = stats[:, cv2.CC_STAT_WIDTH]
    h = stats[:, cv2.CC_STAT_HEIGHT]
    a = stats[:, cv2.CC_STAT_AREA]
    ok = (w >= MIN_SIDE - 2) & (h >= MIN_SIDE - 2) & (a >= MIN_AREA) & (uniform >= MIN_UNIFORM)
    ok[0] = False  # label 0 is the edge pixels
    for t in text_lines:
        # ink of a glyph and its counters lie inside the line's ink box
        inside = ((x >= t.x - 2) & (y >= t.y - 2) & (x + w <= t.x + t.w + 2)
                  & (y + h <= t.y + t.h + 2))
        ok &= ~inside
    return np.flatnonzero(ok)


# --- one region -------------------------------------------------------------------------

def _extents(mask: np.ndarray):
    """First and last set index of each row (rows without pixels: -1)."""
    has = mask.any(axis=1)
    first = np.where(has, mask.argmax(axis=1), -1)
    last = np.where(has, mask.shape[1] - 1 - mask[:, ::-1].argmax(axis=1), -1)
    return has, first, last


def _measure(img, labels, lab, st, fill, tol, contrast) -> Box | None:
    x0, y0, cw, ch, area = (int(v) for v in st)
    H, W = labels.shape
    mask = labels[y0: y0 + ch, x0: x0 + cw] == lab
    has_r, left, right = _extents(mask)
    has_c, top, bottom = _extents(mask.T)
    outline = float((right - left + 1)[has_r].sum())
    if outline < MIN_RECT * cw * ch:
        return None
    # straight parts of each side: rows/columns where the region touches its bbox side
    t_left = np.flatnonzero(left == 0)
    t_right = np.flatnonzero(right == cw - 1)
    t_top = np.flatnonzero(top == 0)
    t_bottom = np.flatnonzero(bottom == ch - 1)
    for t in (t_left, t_right, t_top, t_bottom):
        # a box side is one straight run; glyphs (H, n, m) touch their box in pieces
        if len(t) and t[-1] - t[0] + 1 > len(t) + 2:
            return None
    f_lr = min(len(t_left), len(t_right)) / ch
    f_tb = min(len(t_top), len(t_bottom)) / cw
    roundish = abs(cw - ch) <= max(2, 0.06 * max(cw, ch)) and outline >= 0.76 * cw * ch
    if max(f_lr, f_tb) < 0.3 and not roundish:
        return None

    F = tuple(int(v) for v in fill)
    Fi = np.array(F, np.int16)
    sides: dict[str, _Side] = {}
    for name, touch, length, base, start, step, vertical in (
        ("left", t_left, ch, y0, x0, -1, True),
        ("right", t_right, ch, y0, x0 + cw - 1, 1, True),
        ("top", t_top, cw, x0, y0, -1, False),
        ("bottom", t_bottom, cw, x0, y0 + ch - 1, 1, False),
    ):
        side = _side_vote(img, F, tol, contrast, _samples(touch, length), base, start, step, vertical)
        if side.kind == "open":
            return None
        sides[name] = side
    kinds = [s.kind for s in sides.values()]
    if any(k == "open" for k in kinds) or all(k == "edge" for k in kinds):
        return None
    closed = [s for s in sides.values() if s.kind == "box"]
    filled = [s for s in closed if s.border is None]
    bordered = [s for s in closed if s.border is not None]
    edge_sides = len(sides) - len(closed)
    if edge_sides and not filled:
        return None  # a strip between divider lines that runs off the image
    border = None
    bw = 0.0
    if len(bordered) == 4:
        bs = np.array([s.border for s in bordered])
        ws = np.array([s.border_width for s in bordered])
        if np.abs(bs - bs[0]).max() <= 3 * tol + 6 and ws.max() - ws.min() <= 1.0:
            border = tuple(int(v) for v in np.rint(np.median(bs, axis=0)))
            bw = float(np.median(ws))
    if not filled and border is None:
        return None
    if not filled:
        # same fill inside and out, held by a border: glyph counters look like this too
        if bw > 0.2 * min(cw, ch) or min(cw, ch) < 10:
            return None
    elif min(cw, ch) < 10 and max(cw, ch) > 3 * min(cw, ch):
        return None  # a stem of bold text, not a box

    el = x0 - sides["left"].offset
    er = x0 + cw + sides["right"].offset
    et = y0 - sides["top"].offset
    eb = y0 + ch + sides["bottom"].offset
    bx, by = int(round(el)), int(round(et))
    bw_, bh_ = int(round(er)) - bx, int(round(eb)) - by
    if bw_ < MIN_SIDE or bh_ < MIN_SIDE:
        return None
    bx, by = max(bx, 0), max(by, 0)
    bw_, bh_ = min(bw_, W - bx), min(bh_, H - by)
    outs = [s.outside for s in closed if s.outside is not None]
    outside = np.median(np.array(outs, np.float64), axis=0) if outs else Fi.astype(np.float64)
    rim = np.array(border if border is not None else F, np.float64)
    radii = tuple(_corner_radius(img, bx, by, bw_, bh_, rim, outside.astype(np.float64), c, sides)
                  for c in range(4))
    good = sorted(r for r in radii if r >= 0)
    radius = 0.0
    if good:
        mid = good[(len(good) - 1) // 2: len(good) // 2 + 1]
        radius = float(sum(mid) / len(mid))
    return Box(
        x=bx, y=by, w=bw_, h=bh_,
        fill=F,  # type: ignore[arg-type]
        border=border, border_width=round(bw, 3),
        radius=round(radius, 3), parent=None,
        radii=tuple(round(r, 3) for r in radii),  # type: ignore[arg-type]
        outside=tuple(int(v) for v in np.rint(outside)),  # type: ignore[arg-type]
        fill_area=area,
    )


def _samples(touch: np.ndarray, length: int) -> np.ndarray:
    """Up to SAMPLES positions spread over the straight part of a side."""
    if len(touch) == 0:
        return np.array([length // 2])
    if len(touch) <= SAMPLES:
        return touch
    idx = np.linspace(0, len(touch) - 1, SAMPLES + 2)[1:-1]
    return touch[np.rint(idx).astype(int)]


def _side_vote(img, F, tol, contrast, positions, base, start, step, vertical) -> _Side:
    """Classify one side from outward profiles at ``positions`` along it: rows offset by
    ``base`` for left/right sides (``vertical``, ``start`` is the column), columns for
    top/bottom (``start`` is the row); ``step`` -1 walks left/up, +1 right/down."""
    H, W = img.shape[:2]
    n = min(PROFILE, start if step < 0 else (W if vertical else H) - 1 - start)
    if n <= 0:
        return _Side("edge", 0.0, None, None, 0.0)
    lo, hi = (start - n, start + 1) if step < 0 else (start, start + n + 1)
    results = []
    for p in positions:
        prof = img[base + int(p), lo:hi] if vertical else img[lo:hi, base + int(p)]
        P = prof.tolist()
        if step < 0:
            P.reverse()
        side = _profile(P, F, tol, contrast, reaches_edge=n < PROFILE)
        results.append(side)
        if side.kind == "open" and len(results) >= 2 and results[0].kind == "open":
            return side  # two of at most five: the side is not closed
    kinds = [r.kind for r in results]
    best = max(("box", "edge", "open"), key=lambda k: (kinds.count(k), k == "box"))
    chosen = [r for r in results if r.kind == best]
    if best != "box":
        return chosen[0]
    # the border question by majority too
    with_b = [r for r in chosen if r.border is not None]
    without = [r for r in chosen if r.border is None]
    group = with_b if len(with_b) > len(without) else without
    group.sort(key=lambda r: r.offset)
    return group[len(group) // 2]


def _dist(a, b) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2]))


def _profile(P: list, F: tuple, tol: int, contrast: int, reaches_edge: bool) -> _Side:
    """One outward profile (list of RGB): P[0] is the region's last pixel (the fill)."""
    m = len(P)
    i = 1
    while i < m and _dist(P[i], F) <= tol:
        i += 1
    if i == m:
        return _Side("edge" if reaches_edge else "open", float(m - 1), None, None, 0.0)
    # runs of near-equal consecutive pixels from i on; the outside is the first long one
    j = i
    o_start = -1
    while j < m:
        k = j + 1
        while k < m and _dist(P[k], P[j]) <= tol:
            k += 1
        if k - j >= 3 or (k == m and (k - j >= 2 or reaches_edge)):
            o_start = j
            break
        j = k
    if o_start < 0 or o_start - i > MAX_TRANSITION:
        return _OPEN
    seg = P[o_start: o_start + 3]
    O = tuple(sum(c[q] for c in seg) / len(seg) for q in range(3))
    T = P[i:o_start]
    if not T:
        if _dist(O, F) < contrast:
            return _OPEN
        return _Side("box", float(i - 1), O, None, 0.0)
    fo = [_blend(c, F, O) for c in T]
    if all(r <= tol + 3 and -0.1 < t < 1.1 for t, r in fo):
        if _dist(O, F) < contrast:
            return _OPEN
        return _Side("box", i - 1 + sum(min(max(t, 0.0), 1.0) for t, _ in fo), O, None, 0.0)
    # a border: its colour is the transition pixel farthest from the fill-outside segment
    B = T[max(range(len(T)), key=lambda q: fo[q][1])]
    if _dist(B, O) < contrast and _dist(B, F) < contrast:
        return _OPEN
    cov_b = 0.0
    box_part = 0.0
    for c in T:
        t_in, r_in = _blend(c, F, B)    # fill -> border blends: inside the box entirely
        t_out, r_out = _blend(c, O, B)  # outside -> border blends: box by their border share
        if r_in <= r_out:
            cov_b += min(max(t_in, 0.0), 1.0)
            box_part += 1.0
        else:
            t_out = min(max(t_out, 0.0), 1.0)
            cov_b += t_out
            box_part += t_out
    return _Side("box", i - 1 + box_part, O, tuple(B), cov_b)


_OPEN = _Side("open", 0.0, None, None, 0.0)


def _blend(c, A, B) -> tuple[float, float]:
    """Colour c as A + t (B - A): (t, max-channel residual)."""
    d0, d1, d2 = B[0] - A[0], B[1] - A[1], B[2] - A[2]
    den = d0 * d0 + d1 * d1 + d2 * d2
    e0, e1, e2 = c[0] - A[0], c[1] - A[1], c[2] - A[2]
    if den < 1e-9:
        return 0.0, max(abs(e0), abs(e1), abs(e2))
    t = (e0 * d0 + e1 * d1 + e2 * d2) / den
    return t, max(abs(e0 - t * d0), abs(e1 - t * d1), abs(e2 - t * d2))


def _corner_radius(img, bx, by, bw, bh, rim, outside, corner, sides) -> float:
    """Radius of one corner (0 TL, 1 TR, 2 BR, 3 BL) from coverage, or -1.

    Coverage of a pixel = its position on the outside -> rim colour segment (0 outside,
    1 box), the outside taken per row just beyond the box so a shadow does not bias it.
    Per row, the sub-pixel boundary e(y) is where the coverage reaches the rim (the scan
    stops there, or at the peak of a thin border); rows partly above the box weigh by their
    vertical coverage. The corner's missing area relative to the straight sides is
    sum(e(y) - e_straight) = r^2 (1 - pi/4).
    """
    H, W = img.shape[:2]
    n = min(bw, bh) // 2 + 2
    n = min(n, MAX_CORNER)
    if n < 3:
        return -1.0
    # orient the corner as top-left: flip the window
    fy = corner in (2, 3)
    fx = corner in (1, 2)
    xs = np.arange(n + 1) - 1
    ys = np.arange(n + 1) - 1
    cols = (bx + bw - 1 - xs) if fx else (bx + xs)
    rows = (by + bh - 1 - ys) if fy else (by + ys)
    if cols.min() < 0 or rows.min() < 0 or cols.max() >= W or rows.max() >= H:
        return -1.0
    # a straight reference row (mid-height) and column (mid-width)
    mid_row = by + bh // 2
    mid_col = bx + bw // 2
    win = img[np.ix_(rows, cols)].astype(np.float64)            # (n+1, n+1, 3)
    outs = img[rows, cols[0]].astype(np.float64)                # per row: just outside
    ref_row = img[mid_row, cols].astype(np.float64)[None]       # straight part of the side
    ref_col = img[rows, mid_col].astype(np.float64)              # straight part of the top
    d = rim[None, :] - outs                                      # (n+1, 3)
    den = (d * d).sum(axis=1)
    if np.any(den < 9.0):
        # outside too close to the rim in some row: fall back to the side's outside colour
        outs = np.broadcast_to(outside, outs.shape).copy()
        d = rim[None, :] - outs
        den = (d * d).sum(axis=1)
        if np.any(den < 9.0):
            return -1.0
    cov = np.clip((((win - outs[:, None, :]) * d[:, None, :]).sum(axis=2)) / den[:, None], 0.0, 1.0)
    d0 = rim - outside
    den0 = float((d0 * d0).sum())
    if den0 < 9.0:
        return -1.0
    cov_ref = np.clip(((ref_row - outside) @ d0) / den0, 0.0, 1.0)[0]
    cov_col = np.clip(((ref_col - outs) * d).sum(axis=1) / den, 0.0, 1.0)
    # vertical coverage of each row: the top side's profile up to where it reaches the rim
    cap = _ramp(cov_col)
    e_ref = _edge_pos(cov_ref[None], np.ones(1))[0]
    e = _edge_pos(cov, np.maximum(cap, 1e-6))
    live = cap > 0.05
    if np.isnan(e_ref) or np.isnan(e[live]).any():
        return -1.0
    missing = float(((e - e_ref) * cap)[live].sum())
    if missing <= 0:
        return 0.0
    return math.sqrt(missing / _CORNER_K)


def _ramp(c: np.ndarray) -> np.ndarray:
    """Coverage along a profile from outside inward, up to where it first reaches ~1; 1 after."""
    out = np.ones_like(c)
    hit = np.flatnonzero(c >= 0.9)
    stop = int(hit[0]) if len(hit) else len(c)
    out[:stop] = c[:stop]
    return out


def _edge_pos(cov: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Sub-pixel boundary per row: sum of (1 - cov/cap) until the rim is reached (or the
    peak of a thin border). ``cov`` (rows, n)."""
    c = np.clip(cov / cap[:, None], 0.0, 1.0)
    rows, n = c.shape
    reach = c >= 0.9
    peak = np.maximum.accumulate(c, axis=1)
    falling = (peak >= 0.3) & (c < peak - 0.15)
    stop_reach = np.where(reach.any(axis=1), reach.argmax(axis=1), n)
    stop_fall = np.where(falling.any(axis=1), falling.argmax(axis=1) - 1, n)
    stop = np.minimum(stop_reach, stop_fall)
    idx = np.arange(n)[None, :]
    take = idx <= stop[:, None]
    e = ((1.0 - c) * take).sum(axis=1)
    return np.where(stop >= n, np.nan, e)  # never reached the rim: unmeasurable


# --- assembly ---------------------------------------------------------------------------

def _arrange(found: list[tuple[tuple[int, int, int, int], Box]]) -> list[Box]:
    # the same outline from two regions (a border ring and the interior): keep the larger fill
    found.sort(key=lambda fb: (fb[0][1], fb[0][0], -fb[0][2] * fb[0][3], -fb[1].fill_area))
    kept: list[Box] = []
    for _, box in found:
        dup = False
        for i in range(len(kept) - 1, -1, -1):
            k = kept[i]
            if k.y < box.y - 2:
                break
            if (abs(k.x - box.x) <= 1 and abs(k.y - box.y) <= 1 and abs(k.w - box.w) <= 2
                    and abs(k.h - box.h) <= 2):
                if box.fill_area > k.fill_area:
                    kept[i] = box
                dup = True
                break
        if not dup:
            kept.append(box)
    kept.sort(key=lambda b: (b.y, b.x, -b.w * b.h))
    # parents: smallest enclosing box
    order = sorted(range(len(kept)), key=lambda i: kept[i].w * kept[i].h)
    parents: list[int | None] = [None] * len(kept)
    for pos, i in enumerate(order):
        b = kept[i]
        for j in order[pos + 1:]:
            p = kept[j]
            if (p.w * p.h > b.w * b.h and p.x <= b.x and p.y <= b.y
                    and p.x + p.w >= b.x + b.w and p.y + p.h >= b.y + b.h):
                parents[i] = j
                break
    out = []
    for i, b in enumerate(kept):
        out.append(Box(b.x, b.y, b.w, b.h, b.fill, b.border, b.border_width, b.radius,
                       parents[i], b.radii, b.outside, b.fill_area))
    return out
