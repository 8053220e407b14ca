"""Text lines found from pixels alone (no OCR): where text is, how tall, how heavy, what colour.

Shared by the typography and spacing extractors. ``find_text_lines(image)`` returns one
``TextLine`` per visual line of text (a run of glyphs on one baseline), sorted by (y, x).

How
    1. Local contrast: the morphological gradient (3x3 dilate - erode) of luma marks every
       edge, whatever the polarity (dark text on light, light on dark, text on buttons).
    2. Glyph candidates: connected components of the edge mask. Components that are hollow
       frames (boxes, buttons, inputs, checkboxes: nearly all their pixels on their own
       bounding box), thin long rules (dividers, borders), and huge ones are dropped.
    3. Lines: each candidate paints a horizontal band (the middle of its height, extended to
       the right by about a word space); connected bands are one line. Bands use the
       middle of each glyph so stacked lines of a paragraph stay apart.
    4. Each line is measured in a crop of its own: the background is the colour of the crop's
       frame, the ink is the colour farthest from it, and every pixel gets a *coverage*
       (0 = background, 1 = ink) by projection on that segment, which undoes anti-aliasing.
       Crops whose frame is not one colour (photos), with too little contrast, or with many
       pixels off the background-ink ramp (illustrations) are rejected, as are lines with
       fewer than two glyphs of text-like height.
    5. Metrics from ink components (coverage >= 0.5) with sub-pixel edges from the coverage
       of their edge rows: the baseline is the most common glyph bottom; heights above it
       form an x-height cluster (a, e, o...) and a tall cluster (capitals, digits, ascenders);
       a line with one cluster only (all capitals, digits) reports it as ``cap_height`` and
       ``x_height = 0``. Stroke width is the median horizontal ink width (coverage summed
       along each run) across the middle of the glyphs, i.e. the vertical stem width.

Units and limits
    Everything in image pixels (callers divide by ``ctx.scale``). ``cap_height`` is the
    height of the tall glyphs: capitals, digits, and ascenders (b, d, h, l), which in most
    sans fonts stand 0-5 % above the capitals. Text smaller than ~6 px x-height is unreliable;
    single glyphs, text on photos and text touching boxes or underlines may be missed;
    two short pieces of text less than a word space apart on one row are one line.
    Deterministic: same pixels, same lines; nothing cached between calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: gradient (luma levels) that makes an edge pixel; light-grey placeholder text is ~60-90
EDGE_MIN = 24
#: edge components this tall or shorter are never glyphs (1-3 px rules and specks)
MIN_GLYPH_H = 5
#: share of a component's pixels on its own bounding-box frame that makes it a hollow box
HOLLOW_SHARE = 0.8
#: background/ink contrast (RGB euclidean) below which a line is not text
MIN_CONTRAST = 40.0
#: least share of a crop's frame within FRAME_TOL of the background colour
MIN_FRAME_UNIFORM = 0.6
FRAME_TOL = 14
#: most share of non-background pixels far from the background-ink ramp
MAX_OFF_RAMP = 0.3
#: ink coverage that counts as a glyph pixel
INK = 0.5
#: least ratio of tall-glyph to x-height medians for two height clusters (fonts: 1.25-1.6)
TALL_OVER_X = 1.17


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text; all lengths in image pixels."""

    x: int
    y: int
    w: int
    h: int                            #: bounding box of the line's ink
    x_height: float                   #: 0.0 if not measurable
    cap_height: float                 #: tall glyphs (capitals, digits, ascenders); 0.0 if not measurable
    baseline: float                   #: y of the baseline (pixel-edge coordinate)
    stroke: float                     #: median vertical stem width
    color: tuple[int, int, int]       #: ink colour (the text's solid core)
    background: tuple[int, int, int]  #: colour behind the text
    glyphs: int                       #: connected ink components in the line
    #: ink coverage summed over the line (≈ ink area in px), for weighting by amount of text
    ink: float = 0.0


def find_text_lines(image: np.ndarray) -> list[TextLine]:
    """Text lines of an RGB uint8 (H, W, 3) image, sorted by (y, x). See the module doc."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    H, W = image.shape[:2]
    if H < 8 or W < 8:
        return []
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edge = (grad >= EDGE_MIN).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(edge, connectivity=8)
    if n <= 1:
        return []
    glyph = _glyph_candidates(lab, stats, H)
    ids = np.flatnonzero(glyph)
    if len(ids) < 2:
        return []
    bands = _line_bands(stats, ids, H, W)
    lines: list[TextLine] = []
    for x0, y0, x1, y1 in bands:
        line = _measure(image, x0, y0, x1, y1)
        if line is not None:
            lines.append(line)
    lines.sort(key=lambda t: (t.y, t.x, t.h, t.w))
    return lines


# --- candidates and grouping -------------------------------------------------------------

def _glyph_candidates(lab: np.ndarray, stats: np.ndarray, H: int) -> np.ndarray:
    """Mask over components that may be (parts of) glyphs."""
    x, y, w, h, area = (stats[:, i] for i in range(5))
    ok = (h > MIN_GLYPH_H) & (h <= min(0.5 * H, 400)) & (w >= 2)
    ok &= ~((h <= 8) & (w > 12 * h))           # rules: thin and long
    ok &= w <= 60 * h                          # nothing text-like is that elongated
    ok[0] = False
    # hollow frames: nearly all pixels within 2 px of the component's own bounding box
    big = ok & (w >= 10) & (h >= 10)
    if big.any():
        sel = np.zeros(len(stats), bool)
        sel[big] = True
        ys, xs = np.nonzero(sel[lab])
        ls = lab[ys, xs]
        on_frame = ((ys - y[ls] < 2) | (y[ls] + h[ls] - 1 - ys < 2)
                    | (xs - x[ls] < 2) | (x[ls] + w[ls] - 1 - xs < 2))
        frame = np.bincount(ls, weights=on_frame, minlength=len(stats))
        ok &= ~(big & (frame >= HOLLOW_SHARE * np.maximum(area, 1)))
    return ok


def _line_bands(stats: np.ndarray, ids: np.ndarray, H: int, W: int) -> list[tuple[int, int, int, int]]:
    """Group glyph candidates into lines; return the union box (x0, y0, x1, y1) of each."""
    x, y, w, h = (stats[ids, i].astype(np.int64) for i in range(4))
    mask = np.zeros((H, W), np.uint8)
    top = y + (3 * h) // 10
    bot = np.maximum(y + h - 1 - (3 * h) // 10, top)
    right = np.minimum(x + w - 1 + h, W - 1)
    for i in range(len(ids)):
        mask[top[i]:bot[i] + 1, x[i]:right[i] + 1] = 1
    n, lab = cv2.connectedComponents(mask, connectivity=4)
    which = lab[(top + bot) // 2, x]
    x1 = x + w
    y1 = y + h
    order = np.argsort(which, kind="stable")
    which_s = which[order]
    starts = np.flatnonzero(np.r_[True, which_s[1:] != which_s[:-1]])
    bx0 = np.minimum.reduceat(x[order], starts)
    by0 = np.minimum.reduceat(y[order], starts)
    bx1 = np.maximum.reduceat(x1[order], starts)
    by1 = np.maximum.reduceat(y1[order], starts)
    cnt = np.diff(np.r_[starts, len(order)])
    out = []
    for i in np.flatnonzero(cnt >= 2):
        out.append((int(bx0[i]), int(by0[i]), int(bx1[i]), int(by1[i])))
    return out


# --- measuring one line ------------------------------------------------------------------

def _measure(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> TextLine | None:
    H, W = image.shape[:2]
    # the edge box reaches one pixel beyond the ink; one more gives a clean frame
    cx0, cy0 = max(x0 - 1, 0), max(y0 - 1, 0)
    cx1, cy1 = min(x1 + 1, W), min(y1 + 1, H)
    crop = image[cy0:cy1, cx0:cx1].astype(np.float32)
    ch, cw = crop.shape[:2]
    if ch < 6 or cw < 6:
        return None
    frame = np.concatenate([crop[0], crop[-1], crop[1:-1, 0], crop[1:-1, -1]])
    bg = np.median(frame, axis=0)
    if np.mean(np.abs(frame - bg).max(axis=1) <= FRAME_TOL) < MIN_FRAME_UNIFORM:
        return None
    diff = crop - bg
    dist = np.sqrt((diff * diff).sum(axis=2))
    far = float(np.percentile(dist, 99.8))
    if far < MIN_CONTRAST:
        return None
    core = dist >= 0.93 * far
    ink_rgb = np.median(crop[core], axis=0)
    d = ink_rgb - bg
    dd = float(d @ d)
    if dd < MIN_CONTRAST ** 2:
        return None
    cov = np.clip((diff @ d) / dd, 0.0, 1.0)
    resid = np.abs(diff - cov[..., None] * d).max(axis=2)
    fg = dist > FRAME_TOL
    n_fg = int(fg.sum())
    if n_fg == 0:
        return None
    off = np.count_nonzero(fg & (resid > 24.0 + 0.15 * np.sqrt(dd)))
    if off > MAX_OFF_RAMP * n_fg:
        return None
    inkmask = (cov >= INK).astype(np.uint8)
    n, lab, st, _ = cv2.connectedComponentsWithStats(inkmask, connectivity=8)
    if n < 3:
        return None
    gx, gy, gw, gh, ga = (st[1:, i] for i in range(5))
    keep = ga >= 2
    gx, gy, gw, gh = gx[keep], gy[keep], gw[keep], gh[keep]
    if len(gx) < 2:
        return None
    covp = np.pad(cov, ((1, 1), (0, 0)))  # row r of cov is row r + 1 of covp
    # sub-pixel glyph top and bottom edges from the coverage of the edge rows
    c_top_in = _seg_max(covp, gy + 1, gx, gw)
    c_top_out = _seg_max(covp, gy, gx, gw)
    c_bot_in = _seg_max(covp, gy + gh, gx, gw)
    c_bot_out = _seg_max(covp, gy + gh + 1, gx, gw)
    tops = gy + 1.0 - c_top_in - c_top_out
    bots = (gy + gh - 1) + c_bot_in + c_bot_out
    heights_px = gh
    big = heights_px >= max(3, 0.3 * heights_px.max())
    if np.count_nonzero(big) < 2:
        return None
    # baseline: the most common bottom among glyph-sized components
    bb = bots[big]
    tol = max(1.0, 0.05 * float(np.median(heights_px[big])))
    counts = (np.abs(bb[:, None] - bb[None, :]) <= tol).sum(axis=1)
    best = counts.max()
    # ties (rare) go to the higher bottom: descenders are never the majority
    anchor = float(np.min(bb[counts == best]))
    on_base = np.abs(bb - anchor) <= tol
    if np.count_nonzero(on_base) < 2:
        return None
    baseline = float(np.median(bb[on_base]))
    # heights above the baseline of glyphs that reach down to it (descenders included)
    sitting = big & (bots >= baseline - tol)
    hts = baseline - tops[sitting]
    hts = hts[hts > 2.0]
    if len(hts) < 2:
        return None
    x_height, cap_height = _height_clusters(hts)
    if x_height == 0.0 and _lowercase(gy, gh, tops, bots, baseline, cap_height, tol):
        x_height, cap_height = cap_height, 0.0
    stroke = _stroke(cov, baseline, x_height or cap_height)
    # ink box of the line in image pixels
    ix0 = int(gx.min())
    iy0 = int(gy.min())
    ix1 = int((gx + gw).max())
    iy1 = int((gy + gh).max())
    color = tuple(int(round(float(v))) for v in np.clip(ink_rgb, 0, 255))
    background = tuple(int(round(float(v))) for v in np.clip(bg, 0, 255))
    return TextLine(
        x=cx0 + ix0, y=cy0 + iy0, w=ix1 - ix0, h=iy1 - iy0,
        x_height=round(float(x_height), 3), cap_height=round(float(cap_height), 3),
        baseline=round(cy0 + baseline, 3), stroke=round(float(stroke), 3),
        color=color, background=background,  # type: ignore[arg-type]
        glyphs=int(len(gx)), ink=round(float(cov.sum()), 1),
    )


def _lowercase(gy, gh, tops, bots, baseline: float, height: float, tol: float) -> bool:
    """One height cluster only: is it x-height (lowercase) rather than capitals/digits?
    Yes when a glyph descends (g, p, y: reaches ``0.15 height`` below the baseline and is
    taller than the cluster) or a dot floats above the cluster (i, j)."""
    desc = (bots > baseline + max(tol, 0.15 * height)) & (bots - tops > 1.1 * height)
    dots = (bots < baseline - 1.0 * height) & (gh <= 0.4 * height)
    return bool(desc.any() or dots.any())


def _seg_max(a: np.ndarray, rows: np.ndarray, x0: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Max of a[row, x0:x0+w] for each segment (rows clipped into range, outside = 0)."""
    h = a.shape[0]
    starts = np.cumsum(w) - w
    seg = np.repeat(np.arange(len(w)), w)
    cols = x0[seg] + (np.arange(int(w.sum())) - starts[seg])
    r = rows[seg]
    inside = (r >= 0) & (r < h)
    vals = np.where(inside, a[np.clip(r, 0, h - 1), cols], 0.0)
    return np.maximum.reduceat(vals, starts)


def _height_clusters(hts: np.ndarray) -> tuple[float, float]:
    """(x-height, tall height) from heights above the baseline; 0.0 for a missing cluster.

    Two clusters when the best split of the sorted heights (Otsu on log height) leaves
    medians at least ``TALL_OVER_X`` apart; else one cluster, returned as tall
    (callers decide from dots and descenders whether it was lowercase)."""
    hts = np.sort(hts)
    lg = np.log(hts)
    n = len(lg)
    best, split = -1.0, 0
    csum = np.cumsum(lg)
    total = csum[-1]
    for i in range(1, n):
        m0 = csum[i - 1] / i
        m1 = (total - csum[i - 1]) / (n - i)
        between = i * (n - i) * (m1 - m0) ** 2
        if between > best:
            best, split = between, i
    if n >= 2 and split > 0:
        lo, hi = hts[:split], hts[split:]
        x, cap = float(np.median(lo)), float(np.median(hi))
        if cap >= TALL_OVER_X * x and x >= 0.45 * cap:
            return x, cap
    return 0.0, float(np.median(hts))


def _stroke(cov: np.ndarray, baseline: float, band: float) -> float:
    """Median horizontal width of ink runs across the middle of the glyphs."""
    r0 = int(round(baseline - 0.7 * band))
    r1 = int(round(baseline - 0.3 * band))
    r0, r1 = max(r0, 0), min(max(r1, r0 + 1), cov.shape[0])
    if r1 <= r0:
        return 0.0
    rows = cov[r0:r1]
    rows = np.pad(rows, ((0, 0), (1, 1)))
    on = rows > 0.1
    flat_on = on.ravel()
    flat = rows.ravel()
    change = np.flatnonzero(np.diff(flat_on.astype(np.int8)) != 0) + 1
    if len(change) < 2:
        return 0.0
    starts, ends = change[0::2], change[1::2]
    m = min(len(starts), len(ends))
    starts, ends = starts[:m], ends[:m]
    csum = np.r_[0.0, np.cumsum(flat)]
    sums = csum[ends] - csum[starts]
    sums = sums[sums >= 0.5]
    return float(np.median(sums)) if len(sums) else 0.0
