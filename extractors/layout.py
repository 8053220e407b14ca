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
    1. Flat regions: pixels are linked to their 4 neighbours when both are flat (no
       neighbour differs by more than ``tol`` in any channel: 2 levels for lossless images,
       more for JPEG-like noise) and within tol, or when they are equal; linked pixels form a
       region (labelled on a grid of pixels and links, so a one-pixel bridge of fill keeps a
       tight badge whole while an anti-aliased ramp does not chain a box to its page).
       Regions with a spread-out colour (gradients, photos), too small, or lying in a text
       line's ink band (glyphs, counters; lines from ``find_text_lines``) are dropped.
    2. Shape: per-row and per-column extents of each region give how well it fills its
       bounding box and where it touches each side; glyphs touching their box in pieces
       (H, n) and glyph rings whose hole shows the outside colour (o, D, 0) fail.
    3. Sides: a few colour profiles walk outward from where each side touches its box (the
       tangent of a curved side). Each is the fill, a short transition, a stable outside.
       A transition on the fill-outside segment is anti-aliasing (its coverage moves the
       edge by a sub-pixel amount); one fading pixel by pixel is a shadow; otherwise it is a
       border (colour, width from summed coverage). A band of one colour on all four sides
       with the outside beyond it is a border when thin (a 1px CSS border at 3x), a glyph
       stroke when the fill colour returns beyond it, else a box of its own.
    4. Corner radius from coverage (sub-pixel, see ``_box_radii``): the area the rounded
       corner cuts out of the bounding box is r^2 (1 - pi/4); bordered corners lose a
       calibrated ``BORDER_BIAS``.
    5. Boxes with the same outline are merged (a thick border ring is a region too), and
       each box gets the smallest box that encloses it as parent.

Units and limits
    Everything in image pixels (callers divide by ``ctx.scale``). Elements without a flat
    fill (images, gradients) are not boxes; an element whose fill equals its surroundings
    and has no border is invisible and not found (shadow-only cards are found when the
    shadow makes a step at their edge). Borders on only some sides (table-row dividers)
    leave ``border`` None. Radii under ~1 px read as 0. Deterministic: no randomness; the
    order is (y, x, -area).

Memo
    Inside ``text.shared_detections()`` (several extractors on one image in one process)
    ``find_boxes`` computes them once: the last ``text.MEMO_SIZE`` results are kept per
    process, keyed by a digest of the image's bytes (with shape and dtype), ``lossy``
    (resolved from the pixels when None) and the text lines (found, through their own memo,
    when None). The memo holds tuples of frozen ``Box`` objects and a hit returns a new list
    of them; it never changes a result: a changed pixel or argument misses. See ``text``.
    Apart from the memo, each thread keeps the link grid and its labels (20 bytes per pixel of
    its last image, each array up to ``SCRATCH_MAX`` bytes) to reuse on the next image of the
    same size: fresh arrays that large cost more in page faults than the labelling.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from stylestream.extractors.text import Memo, TextLine, image_key, lines_of, sharing

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
#: least outline area / bounding-box area (a circle is 0.785, less its anti-aliased rim)
MIN_RECT = 0.7
#: profiles walk this far outward looking for the outside colour
PROFILE = 14
#: longest transition (border + anti-aliasing), image px
MAX_TRANSITION = 9
#: widest band of one colour read as a border with the outside beyond it (a 1px CSS border
#: at 3x), or 10 % of the box's side; wider bands are boxes of their own (a tile round a chip)
MAX_BAND = 3
#: profiles per side
SAMPLES = 3
#: a side that touches its box along less than this share of its length is curved
CURVED = 0.5
#: regions larger than this (image px) are never glyphs
GLYPH_MAX = 160
#: largest corner window (radius measurable up to about this), image px
MAX_CORNER = 200
_CORNER_K = 1.0 - math.pi / 4.0
#: image px a border adds to a measured radius (see ``_box_radii``)
BORDER_BIAS = 0.75


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
    offset: float        # box pixels beyond the region's last pixel (fill run + transition)
    outside: tuple | None
    border: tuple | None
    border_width: float


@dataclass(slots=True)
class _Vote:
    """A side's reading: ``a`` takes the first stable colour beyond the fill as the outside;
    ``b`` (when the profiles allow it) takes it as a border band with the outside beyond."""

    a: _Side
    b: _Side | None


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
    key = image_key(image) if sharing() else None
    # the arguments as the computation sees them: lines found here are the memoised ones
    lines = lines_of(image, key) if text_lines is None else tuple(text_lines)
    if key is None:
        return _find_boxes(image, bool(lossy), lines)
    found = _MEMO.get((key, bool(lossy), lines), lambda: tuple(_find_boxes(image, bool(lossy), lines)))
    return list(found)


_MEMO = Memo()


def _find_boxes(image: np.ndarray, lossy: bool, text_lines: Sequence[TextLine]) -> list[Box]:
    tol = TOL_LOSSY if lossy else TOL_LOSSLESS
    contrast = MIN_CONTRAST_LOSSY if lossy else MIN_CONTRAST

    labels, stats, mean, uniform, rows, planes = _regions(image, tol)
    found: list[tuple] = []
    # side readings by profile content: rows of one table, buttons of one kind repeat them
    memo: dict = {}
    for lab in _candidates(stats, uniform, rows, text_lines):
        m = _measure(image, labels, int(lab), stats[lab], mean[rows.lut[lab]], rows.of(int(lab)), tol,
                     contrast, memo)
        if m is not None:
            found.append(m)
    # corner radii of all boxes at once (see ``_box_radii``)
    radii = _box_radii(planes, [m[-1] for m in found])
    boxes: list[tuple[tuple[int, int, int, int], Box]] = []
    for (bx, by, bw_, bh_, F, border, bw, outside, area, _), rad in zip(found, radii, strict=True):
        good = sorted(r for r in rad if r >= 0)
        radius = 0.0
        if good:
            mid = good[(len(good) - 1) // 2: len(good) // 2 + 1]
            radius = float(sum(mid) / len(mid))
        box = Box(
            x=bx, y=by, w=bw_, h=bh_, fill=F, border=border, border_width=round(bw, 3),
            radius=round(radius, 3), parent=None, radii=tuple(round(r, 3) for r in rad),  # type: ignore[arg-type]
            outside=tuple(int(v) for v in np.rint(outside)),  # type: ignore[arg-type]
            fill_area=area,
        )
        boxes.append(((bx, by, bw_, bh_), box))
    return _arrange(boxes)


# --- regions ----------------------------------------------------------------------------

class _Rows:
    """The rows of the regions worth measuring: ``of(label)`` gives the first and the last
    column of each of the region's rows, top to bottom (every row of a connected region
    holds some of its pixels). ``lut`` maps a label to its index + 1 (0: not kept)."""

    __slots__ = ("lut", "offs", "first", "last")

    def __init__(self, lut, offs, first, last):
        self.lut, self.offs, self.first, self.last = lut, offs, first, last

    def of(self, lab: int):
        k = int(self.lut[lab])
        s, e = int(self.offs[k - 1]), int(self.offs[k])
        return self.first[s:e], self.last[s:e]


#: per thread, the last call's largest scratch arrays (the link grid and its labels, 20 bytes
#: per image pixel): a fresh array of that size costs a page fault per 4 KiB page on first
#: touch (~5000 for a 1440 x 900 image's labels), more than the labelling itself. Arrays
#: over SCRATCH_MAX bytes are not kept.
_SCRATCH = threading.local()
SCRATCH_MAX = 1 << 27


def _scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array for this thread, reused while the shape stays the same (never
    handed out twice within one ``_find_boxes`` call, never part of a result)."""
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = np.empty(shape, dtype)
        setattr(_SCRATCH, name, buf if buf.nbytes <= SCRATCH_MAX else None)
    return buf


def _regions(image: np.ndarray, tol: int):
    H, W = image.shape[:2]
    ch = cv2.split(image)
    # largest channel difference to the right (dx, in dxp between zero columns) and down
    dxp = np.zeros((H, W + 1), np.uint8)
    dyp = np.zeros((H + 1, W), np.uint8)
    dx = dxp[:, 1:W]
    dy = dyp[1:H]
    for i, c in enumerate(ch):
        if i == 0:
            cv2.absdiff(c[:, 1:], c[:, :-1], dst=dx)
            cv2.absdiff(c[1:], c[:-1], dst=dy)
        else:
            cv2.max(dx, cv2.absdiff(c[:, 1:], c[:, :-1]), dst=dx)
            cv2.max(dy, cv2.absdiff(c[1:], c[:-1]), dst=dy)
    # pixels are nodes of a grid at twice the resolution. The link between two neighbours
    # is open when both are flat (no neighbour differs by more than tol) and within tol,
    # or when they are (nearly) equal: a one-pixel bridge of exact fill between two parts
    # (a tight badge whose text nearly meets its curved ends) keeps them one region, while
    # the small steps of an anti-aliased low-contrast curve do not chain a box to its
    # surroundings. (A step over tol makes both its pixels edge pixels: a link between two
    # flat pixels is always within tol.) With nb a pixel's largest difference to any
    # neighbour, a link is open when max(nb, nb of the other) <= tol or its own difference
    # <= same, i.e. when min(that max, difference + tol - same) <= tol (saturating add).
    nb = cv2.max(cv2.max(dxp[:, :-1], dxp[:, 1:]), cv2.max(dyp[:-1], dyp[1:]))
    same = max(0, tol - TOL_LOSSLESS)
    h_open = np.zeros((H, W), np.uint8)
    v_open = np.zeros((H, W), np.uint8)
    cv2.compare(cv2.min(cv2.max(nb[:, 1:], nb[:, :-1]), cv2.add(dx, tol - same)), tol, cv2.CMP_LE,
                dst=h_open[:, :-1])
    cv2.compare(cv2.min(cv2.max(nb[1:], nb[:-1]), cv2.add(dy, tol - same)), tol, cv2.CMP_LE,
                dst=v_open[:-1])
    # even rows: pixel, link right, pixel, ...; odd rows: link down, nothing, link down, ...
    grid = _scratch("grid", (H, 2, W, 2), np.uint8)
    cv2.merge([np.full((H, W), 255, np.uint8), h_open], dst=grid[:, 0])
    cv2.merge([v_open, np.zeros((H, W), np.uint8)], dst=grid[:, 1])
    grid = grid.reshape(2 * H, 2 * W)
    # two diagonal neighbours in this grid always share a node, so 8-connectivity gives the
    # same regions as 4, and OpenCV labels it faster (its last row and column are closed
    # links and empty nodes: no labels). Labels come in raster order of each region's first
    # pixel node. The statistics are taken from the pixel nodes alone (a region's extreme
    # nodes are pixels: a link lies between two of its pixels), over horizontal runs of
    # linked pixels (from the open links, one label each), which is much cheaper than
    # OpenCV's per-node statistics or a pass over the labels.
    big = _scratch("labels", (2 * H, 2 * W), np.int32)
    n, big = cv2.connectedComponentsWithAlgorithm(grid, 8, cv2.CV_32S, cv2.CCL_SPAGHETTI, labels=big)
    labels = big[::2, ::2]
    # every row's last link is closed: runs end at closed links and never span two rows
    ends = np.flatnonzero(h_open.ravel() == 0)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    row = starts // W
    x0 = starts - row * W
    x1 = ends - row * W
    lab = big.ravel()[2 * (starts + row * W)]
    stats, rows, kk, pick = _label_stats(lab, row, x0, x1, n)
    # colour statistics (of the regions that may become candidates) on every other pixel of
    # every other row: regions worth measuring are at least MIN_SIDE wide, so each keeps
    # enough samples. Sums go over the runs of even rows (exact integer sums, from
    # integral images), which is much cheaper than weighted counts over every sample.
    k = len(rows.offs) - 1
    pr = row[pick]
    even = (pr & 1) == 0
    rl = kk[even]
    sr = pr[even] >> 1
    a = (x0[pick][even] + 1) >> 1      # first sample of the run (column of the samples)
    b = (x1[pick][even] >> 1) + 1      # one past its last
    cnt = np.bincount(rl, weights=b - a, minlength=k + 1)
    den = np.maximum(cnt, 1.0)
    sch = [np.ascontiguousarray(c[::2, ::2]) for c in ch]
    # a run's sum from the integral image: its row's prefix sums at b and at a
    wi = sch[0].shape[1] + 1
    depth = cv2.CV_32S if 255 * sch[0].size < 2**31 else cv2.CV_64F
    top = sr * wi
    bot = top + wi
    sums = []
    for c in sch:
        ii = cv2.integral(c, sdepth=depth).ravel()
        s = (ii.take(bot + b) - ii.take(top + b)) - (ii.take(bot + a) - ii.take(top + a))
        sums.append(np.bincount(rl, weights=s, minlength=k + 1))
    mean = np.stack(sums, axis=1) / den[:, None]
    # uniformity: share of the region's pixels within tol of its mean colour
    m = np.rint(mean).astype(np.int16)
    mu8 = m.astype(np.uint8)
    if k < 256:
        # few regions: their indices in one byte, the means by table look-up, the count
        # of samples off the mean by a histogram (exact: float32 counts below 2^24)
        sl = rows.lut.astype(np.uint8).take(big[::4, ::4])
        dev = None
        for i, c in enumerate(sch):
            ad = cv2.absdiff(c, cv2.LUT(sl, np.resize(mu8[:, i], 256)))
            dev = ad if dev is None else cv2.max(dev, ad)
        hist = cv2.calcHist([sl], [0], cv2.compare(dev, tol, cv2.CMP_GT), [256], [0, 256])
        bad = hist.ravel()[: k + 1].astype(np.int64)
    else:
        sl = rows.lut.take(big[::4, ::4])
        dev = None
        for i, c in enumerate(sch):
            ad = cv2.absdiff(c, mu8[:, i].take(sl))
            dev = ad if dev is None else cv2.max(dev, ad)
        bad = np.bincount(sl.ravel()[(dev > tol).ravel()], minlength=k + 1)
    uniform = np.where(cnt > 0, 1.0 - bad / den, 0.0)
    uniform[0] = 0.0
    return labels, stats, m, uniform, rows, ch


def _label_stats(lab, row, x0, x1, n: int):
    """(n, 5) int32 [left, top, width, height, area] of each label from the horizontal runs
    ``row``, ``x0`` .. ``x1`` of label ``lab`` (zeros but the area for labels smaller than
    MIN_AREA, and for label 0, absent); the rows (``_Rows``) of the labels that pass the size
    test of ``_candidates``; and the runs of those: their index + 1 and the runs' positions."""
    area = np.bincount(lab, weights=x1 - x0 + 1, minlength=n)
    stats = np.zeros((n, 5), np.int32)
    stats[:, 4] = area
    # only regions of at least MIN_AREA pixels can be candidates: the rest keep zeros
    ids = np.flatnonzero(area >= MIN_AREA)
    lut = np.zeros(n, np.intp)
    lut[ids] = np.arange(1, len(ids) + 1)
    kk = lut[lab]
    pick = np.flatnonzero(kk)
    kk = kk[pick]
    row = row[pick]
    x0 = x0[pick]
    x1 = x1[pick]
    big = np.iinfo(np.int64).max
    left = np.full(len(ids) + 1, big, np.int64)
    right = np.full(len(ids) + 1, -1, np.int64)
    top = np.full(len(ids) + 1, big, np.int64)
    bottom = np.full(len(ids) + 1, -1, np.int64)
    np.minimum.at(left, kk, x0)
    np.maximum.at(right, kk, x1)
    np.minimum.at(top, kk, row)
    np.maximum.at(bottom, kk, row)
    w = (right - left + 1)[1:]
    h = (bottom - top + 1)[1:]
    stats[ids, 0] = left[1:]
    stats[ids, 1] = top[1:]
    stats[ids, 2] = w
    stats[ids, 3] = h
    # the rows of the regions that pass the size test: their runs grouped by region (in
    # raster order), the first of each row gives its first column, the last its last
    ok = (w >= MIN_SIDE - 2) & (h >= MIN_SIDE - 2)
    ok = np.concatenate([[False], ok])
    lut[ids] = 0
    lut[ids[ok[1:]]] = np.arange(1, int(ok.sum()) + 1)
    kk = np.cumsum(ok)[kk] * ok[kk]
    sel = np.flatnonzero(kk)
    kk = kk[sel]
    pick = pick[sel]
    row = row[sel]
    x0 = x0[sel]
    x1 = x1[sel]
    # rows of region q (index + 1) lie at offs[q - 1] + (row - its top): a region's rows
    # are contiguous; a row's first column is the least of its runs' starts, its last the
    # largest of their ends
    nk = int(ok.sum())
    offs = np.zeros(nk + 1, np.intp)
    np.cumsum(h[ok[1:]], out=offs[1:])
    base = offs[:-1] - top[1:][ok[1:]]
    at = base[kk - 1] + row
    first = np.full(int(offs[-1]), big, np.int64)
    last = np.full(int(offs[-1]), -1, np.int64)
    np.minimum.at(first, at, x0)
    np.maximum.at(last, at, x1)
    return stats, _Rows(lut, offs, first, last), kk, pick


def _candidates(stats: np.ndarray, uniform: np.ndarray, rows: _Rows, text_lines) -> np.ndarray:
    # the regions of ``rows`` passed the size tests (label 0, the links' background, never
    # does); ``uniform`` is by their index + 1, in label order
    ids = np.flatnonzero(rows.lut)[uniform[1:] >= MIN_UNIFORM]
    if len(ids) == 0 or not text_lines:
        return ids
    x = stats[:, cv2.CC_STAT_LEFT]
    y = stats[:, cv2.CC_STAT_TOP]
    w = stats[:, cv2.CC_STAT_WIDTH]
    h = stats[:, cv2.CC_STAT_HEIGHT]
    # ink of a glyph and its counters lie inside a line's ink band: within its rows, inside
    # it or just beyond its ends (a glyph the line grouping left out)
    t = np.array([(ln.x, ln.y, ln.w, ln.h) for ln in text_lines], np.float64)
    reach = 1.5 * t[:, 3]
    cx, cy, cw, ch = x[ids, None], y[ids, None], w[ids, None], h[ids, None]
    inside = ((cx >= t[:, 0] - reach) & (cy >= t[:, 1] - 2) & (cx + cw <= t[:, 0] + t[:, 2] + reach)
              & (cy + ch <= t[:, 1] + t[:, 3] + 2))
    return ids[~inside.any(axis=1)]


# --- one region -------------------------------------------------------------------------

def _measure(img, labels, lab, st, fill, rows, tol, contrast, memo) -> tuple | None:
    x0, y0, cw, ch, area = st.tolist()
    H, W = labels.shape
    if x0 == 0 and y0 == 0 and cw == W and ch == H:
        return None  # the page itself
    # first and last pixel of each row (every row of a connected region holds some)
    first, last = rows
    outline = float((last - first).sum() + len(first))
    if outline < MIN_RECT * cw * ch:
        return None
    # straight parts of each side: rows/columns where the region touches its bbox side
    t_left = np.flatnonzero(first == x0)
    t_right = np.flatnonzero(last == x0 + cw - 1)
    t_top = np.flatnonzero(labels[y0, x0: x0 + cw] == lab)
    t_bottom = np.flatnonzero(labels[y0 + ch - 1, x0: x0 + cw] == lab)
    for t, length in ((t_left, ch), (t_right, ch), (t_top, cw), (t_bottom, cw)):
        # a box side is one straight run (an anti-aliased tangent may flicker); glyphs
        # (H, n, m) touch their box in pieces far apart
        if len(t) and int(t[-1]) - int(t[0]) + 1 - len(t) > max(2, 0.2 * length):
            return None
    f_lr = min(len(t_left), len(t_right)) / ch
    f_tb = min(len(t_top), len(t_bottom)) / cw
    # circles, ellipses and pills touch their box at points only but fill it well
    roundish = outline >= MIN_RECT * cw * ch
    if max(f_lr, f_tb) < 0.3 and not roundish:
        return None

    F = tuple(fill.tolist())
    votes: dict[str, _Vote] = {}
    for name, touch, length, base, start, step, vertical in (
        ("left", t_left, ch, y0, x0, -1, True),
        ("right", t_right, ch, y0, x0 + cw - 1, 1, True),
        ("top", t_top, cw, x0, y0, -1, False),
        ("bottom", t_bottom, cw, x0, y0 + ch - 1, 1, False),
    ):
        curved = len(touch) < CURVED * length
        vote = _side_vote(img, F, tol, contrast, _samples(touch, length, curved), base, start,
                          step, vertical, curved, memo)
        if vote.a.kind == "open" and vote.b is None:
            return None
        votes[name] = vote
    if all(v.a.kind == "edge" for v in votes.values()):
        return None
    # a band of one colour on all four sides with the outside beyond it is a border (a 1px
    # CSS border at 3x, a glyph's stroke around its counter)
    bands = [v.b for v in votes.values()]
    if all(b is not None for b in bands):
        wid = [b.border_width for b in bands]  # type: ignore[union-attr]
        if (_spread([b.border for b in bands]) > 3 * tol + 6  # type: ignore[union-attr]
                or max(wid) - min(wid) > 1.0):
            bands = []
        elif _median(wid) > max(MAX_BAND, 0.1 * min(cw, ch)):
            # too wide for a border: a glyph's stroke around its counter (the same colour
            # again beyond it), or a box of its own around this one (a tile round a chip)
            beyond = [b.outside for b in bands]  # type: ignore[union-attr]
            if all(_dist(o, F) <= 3 * tol + 6 for o in beyond):  # type: ignore[arg-type]
                return None
            bands = []
    else:
        bands = []
    sides = {k: (bands[i] if bands else v.a) for i, (k, v) in enumerate(votes.items())}
    if any(sd.kind == "open" for sd in sides.values()):
        return None  # type: ignore[unreachable]
    closed = [sd for sd in sides.values() if sd.kind == "box"]
    # filled sides: the outside differs from the fill (with or without a border between)
    filled = [sd for sd in closed if _dist(sd.outside, F) >= contrast]  # type: ignore[arg-type]
    bordered = [sd for sd in closed if sd.border is not None]
    if len(closed) < 4 and not filled:
        return None  # a strip between divider lines that runs off the image
    border = None
    bw = 0.0
    if len(bordered) == 4:
        bs = [sd.border for sd in bordered]
        ws = [sd.border_width for sd in bordered]
        if _spread(bs) <= 3 * tol + 6 and max(ws) - min(ws) <= 1.0:  # type: ignore[arg-type]
            border = tuple(round(_median([float(b[j]) for b in bs])) for j in range(3))  # type: ignore[index]
            bw = float(_median(ws))
    if not filled and border is None:
        return None
    if not filled:
        # same fill inside and out, held by a border: glyph counters look like this too
        if bw > 0.2 * min(cw, ch) or min(cw, ch) < 10:
            return None
    elif min(cw, ch) < 10 and max(cw, ch) > 3 * min(cw, ch):
        return None  # a stem of bold text, not a box
    outs = [sd.outside for sd in closed if sd.outside is not None]
    outside = np.array([_median([float(o[j]) for o in outs]) for j in range(3)])
    if (filled and area < 0.8 * outline and max(cw, ch) <= GLYPH_MAX
            and _glyph_ring(img, labels[y0: y0 + ch, x0: x0 + cw] == lab, area, first - x0, last - x0, x0, y0,
                            outside, tol, contrast)):
        return None

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
    # how deep the region's own corners curve bounds the corner window (the curve leaves
    # the side ~sqrt(r) rows before the corner ends: twice the depth covers it): the first
    # row from either end where the region touches its box's left or right side
    depth = max(int(t_left[0]) if len(t_left) else 0, ch - 1 - int(t_left[-1]) if len(t_left) else 0,
                int(t_right[0]) if len(t_right) else 0, ch - 1 - int(t_right[-1]) if len(t_right) else 0)
    reach = 2 * depth + int(math.ceil(max(sd.offset for sd in sides.values()))) + 4
    return (bx, by, bw_, bh_, F, border, bw, outside, area,
            (bx, by, bw_, bh_, F, border, outside, reach))


def _glyph_ring(img, mask, area, left, right, x0, y0, outside, tol, contrast) -> bool:
    """Is the region the ink of a glyph with a counter (o, D, P, 0)? Its biggest hole shows
    the outside colour and is curved; a box's holes are its content (text, child boxes)."""
    ch, cw = mask.shape
    cols = np.arange(cw)[None, :]
    inside = (cols >= left[:, None]) & (cols <= right[:, None])
    holes = (inside & ~mask).view(np.uint8)
    n, hl, hs, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    if n <= 1:
        return False
    big = 1 + int(np.argmax(hs[1:, cv2.CC_STAT_AREA]))
    hx, hy, hw, hh, ha = (int(v) for v in hs[big])
    if ha < 0.08 * area or ha >= 0.9 * hw * hh:
        return False  # small, or a rectangle (a child panel in the page colour)
    # its mean colour: exact integer sums over its ha pixels (as numpy's mean)
    sel = cv2.compare(hl[hy: hy + hh, hx: hx + hw], big, cv2.CMP_EQ)
    win = img[y0 + hy: y0 + hy + hh, x0 + hx: x0 + hx + hw]
    colour = np.array(cv2.sumElems(cv2.bitwise_and(win, win, mask=sel))[:3]) / ha
    return bool(np.abs(colour - outside).max() < max(contrast, 3 * tol + 6))


def _samples(touch: np.ndarray, length: int, curved: bool) -> np.ndarray:
    """Up to SAMPLES positions spread over the straight part of a side; on a curved side
    (a pill's end, a circle) the middle of where it touches its box."""
    if len(touch) == 0:
        return np.array([length // 2])
    if curved:
        mid = len(touch) // 2
        return touch[max(0, mid - 1): mid + 1]
    if len(touch) <= SAMPLES:
        return touch
    n = len(touch) - 1
    return touch[[(n * k + (SAMPLES + 1) // 2) // (SAMPLES + 1) for k in range(1, SAMPLES + 1)]]


_EDGE = _Side("edge", 0.0, None, None, 0.0)
_OPEN = _Side("open", 0.0, None, None, 0.0)


def _side_vote(img, F, tol, contrast, positions, base, start, step, vertical, curved=False,
               memo=None) -> _Vote:
    """Read one side from outward profiles at ``positions`` along it: rows offset by
    ``base`` for left/right sides (``vertical``, ``start`` is the column), columns for
    top/bottom (``start`` is the row); ``step`` -1 walks left/up, +1 right/down. ``memo``
    (a dict, or None) keeps readings by the profiles' pixels: a reading depends on nothing
    else (but the fill, the direction, the tolerances and whether the side is curved)."""
    H, W = img.shape[:2]
    n = min(PROFILE, start if step < 0 else (W if vertical else H) - 1 - start)
    if n <= 0:
        return _Vote(_EDGE, None)
    lo, hi = (start - n, start + 1) if step < 0 else (start, start + n + 1)
    # one profile per position, pixels in image order (basic slices: cheaper than a gather)
    if vertical:
        blk = [img[base + p, lo:hi] for p in positions.tolist()]
    else:
        blk = [img[lo:hi, base + p] for p in positions.tolist()]
    if memo is None:
        memo = {}
    raw = [prof.tobytes() for prof in blk]
    key = (tuple(raw), step, F, curved)
    vote = memo.get(key)
    if vote is not None:
        return vote
    reaches_edge = n < PROFILE
    reads: list[_Vote] = []
    for prof, pb in zip(blk, raw, strict=True):
        pkey = (pb, step, F, reaches_edge)
        r = memo.get(pkey)
        if r is None:
            P = prof.tolist()
            if step < 0:
                P.reverse()
            r = memo[pkey] = _profile(P, F, tol, contrast, reaches_edge)
        reads.append(r)
    # the most common kind, "box" on a tie, else "edge" before "open"
    kinds = [r.a.kind for r in reads]
    nb, ne, no = kinds.count("box"), kinds.count("edge"), kinds.count("open")
    best = "box" if nb >= ne and nb >= no else ("edge" if ne >= no else "open")
    a = _median_side([r.a for r in reads if r.a.kind == best], curved)
    bs = [r.b for r in reads if r.b is not None]
    b = _median_side(bs) if 2 * len(bs) > len(reads) else None
    vote = memo[key] = _Vote(a, b)
    return vote


def _median_side(group: list[_Side], curved: bool = False) -> _Side:
    if group[0].kind != "box":
        return group[0]
    # the border question by majority, then the median offset
    with_b = [r for r in group if r.border is not None]
    without = [r for r in group if r.border is None]
    pick = with_b if len(with_b) > len(without) else without
    pick.sort(key=lambda r: r.offset)
    # a curved side reaches farthest at its tangent point: the largest reading there
    return pick[-1] if curved else pick[len(pick) // 2]


def _median(v: list) -> float:
    """np.median of a few floats, exactly (the mean of the middle two of an even count)."""
    s = sorted(v)
    h = len(s) // 2
    return s[h] if len(s) % 2 else (s[h - 1] + s[h]) / 2


def _spread(cols: list) -> float:
    """Largest channel difference of any colour of ``cols`` from the first (floats)."""
    c0 = cols[0]
    return max(abs(float(c[j]) - float(c0[j])) for c in cols for j in range(3))


def _dist(a, b) -> float:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2]))


def _stable(P: list, j: int, tol: int, reaches_edge: bool) -> tuple[int, int]:
    """First run of near-equal pixels from j on that is long enough to be a colour of its
    own (3 px, or 2 at the profile's end): (start, end) or (-1, -1)."""
    m = len(P)
    while j < m:
        # the run: pixels within tol of its first one (most are equal to it)
        a = P[j]
        a0, a1, a2 = a
        k = j + 1
        while k < m:
            c = P[k]
            if c != a:
                c0, c1, c2 = c
                if abs(c0 - a0) > tol or abs(c1 - a1) > tol or abs(c2 - a2) > tol:
                    break
            k += 1
        if k - j >= 3 or (k == m and (k - j >= 2 or reaches_edge)):
            return j, k
        j = k
    return -1, -1


def _mean(seg: list) -> tuple[float, float, float]:
    n = len(seg)
    s0 = s1 = s2 = 0
    for c0, c1, c2 in seg:
        s0 += c0
        s1 += c1
        s2 += c2
    return (s0 / n, s1 / n, s2 / n)


def _profile(P: list, F: tuple, tol: int, contrast: int, reaches_edge: bool) -> _Vote:
    """One outward profile (list of RGB): P[0] is the region's last pixel (the fill)."""
    m = len(P)
    f0, f1, f2 = F
    i = 1
    while i < m:
        c0, c1, c2 = P[i]
        if abs(c0 - f0) > tol or abs(c1 - f1) > tol or abs(c2 - f2) > tol:
            break
        i += 1
    if i == m:
        return _Vote(_Side("edge", float(m - 1), None, None, 0.0) if reaches_edge else _OPEN, None)
    o1, e1 = _stable(P, i, tol, reaches_edge)
    if o1 < 0 or o1 - i > MAX_TRANSITION:
        return _Vote(_OPEN, None)
    O = _mean(P[o1: min(o1 + 3, e1)])
    a = _read(P[i:o1], i, F, O, tol, contrast)
    b = None
    if e1 < m and e1 - i <= MAX_TRANSITION:
        # the first colour may be a band (border) with the real outside right after it
        o2, e2 = _stable(P, e1, tol, reaches_edge)
        if o2 >= 0 and o2 - e1 <= 2:
            O2 = _mean(P[o2: min(o2 + 3, e2)])
            if _dist(O2, O) >= contrast:
                b = _band(P[i:o1], P[e1:o2], e1 - o1, i, F, O, O2, tol)
    return _Vote(a, b)


def _read(T: list, i: int, F: tuple, O: tuple, tol: int, contrast: int) -> _Side:
    """Fill, transition T, outside O: an edge (anti-aliased or not) or a border in T."""
    dof = _dist(O, F)
    if not T:
        if dof < contrast:
            return _OPEN
        return _Side("box", float(i - 1), O, None, 0.0)
    fo = [_blend(c, F, O) for c in T]
    if all(r <= tol + 3 and -0.1 < t < 1.1 for t, r in fo):
        if dof < contrast:
            return _OPEN
        # t is each blend's share of the outside; the rest is box
        return _Side("box", i - 1 + sum(1.0 - min(max(t, 0.0), 1.0) for t, _ in fo), O, None, 0.0)
    if dof >= contrast:
        # a shadow: the transition fades towards the outside pixel by pixel (after at most
        # one border or anti-aliased pixel); the box ends where the fill does
        for k0 in (0, 1):
            R = T[k0:]
            if len(R) >= 2 and all(_dist(R[k], O) < _dist(R[k - 1], O) for k in range(1, len(R))):
                if k0 == 0:
                    return _Side("box", float(i - 1), O, None, 0.0)
                t, r = _blend(T[0], F, R[0])
                if r <= tol + 3:
                    return _Side("box", i - 1 + 1.0 - min(max(t, 0.0), 1.0), O, None, 0.0)
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


def _band(T1: list, T2: list, run: int, i: int, F: tuple, B: tuple, O: tuple, tol: int) -> _Side | None:
    """Fill, T1, a band of colour B (``run`` px), T2, outside O: a border of width
    coverage(T1) + run + coverage(T2)."""
    cov = float(run)
    for c in T1:
        t, r = _blend(c, F, B)
        if r > tol + 3:
            return None
        cov += min(max(t, 0.0), 1.0)
    part = 0.0
    for c in T2:
        t, r = _blend(c, O, B)
        if r > tol + 3:
            return None
        part += min(max(t, 0.0), 1.0)
    return _Side("box", i - 1 + len(T1) + run + part, O, B, cov + part)


def _blend(c, A, B) -> tuple[float, float]:
    """Colour c as A + t (B - A): (t, max-channel residual)."""
    d0, d1, d2 = B[0] - A[0], B[1] - A[1], B[2] - A[2]
    den = d0 * d0 + d1 * d1 + d2 * d2
    e0, e1, e2 = c[0] - A[0], c[1] - A[1], c[2] - A[2]
    if den < 1e-9:
        return 0.0, max(abs(e0), abs(e1), abs(e2))
    t = (e0 * d0 + e1 * d1 + e2 * d2) / den
    return t, max(abs(e0 - t * d0), abs(e1 - t * d1), abs(e2 - t * d2))


def _coverage(px, outs, first, second, two) -> np.ndarray:
    """Share of the box in each pixel: a pixel is the outside colour (``outs``, broadcast
    against ``px``) blended with the box's colour ``first`` (its fill, or its border when
    the fill equals the outside: a white input on white) or, where ``two`` (broadcast like
    ``px``), with ``second`` (the border), whichever explains it better. Colours are
    3-tuples of float32 channel planes; ``first`` and ``second`` broadcast like ``outs``.
    NaN where the box colour does not stand out from that row's outside.
    """
    e0, e1, e2 = (p - o for p, o in zip(px, outs, strict=True))
    best_t = None
    best_r = None
    for colour in (first, second):
        if colour is None:
            continue
        d0, d1, d2 = (c - o for c, o in zip(colour, outs, strict=True))
        den = d0 * d0 + d1 * d1 + d2 * d2
        den = np.where(den < 9.0, np.nan, den)
        t = (e0 * d0 + e1 * d1 + e2 * d2) / den
        r = np.maximum(np.maximum(np.abs(e0 - t * d0), np.abs(e1 - t * d1)), np.abs(e2 - t * d2))
        if best_t is None:
            best_t, best_r = t, r
        else:
            take = (r < best_r) & two
            best_t = np.where(take, t, best_t)
    assert best_t is not None
    return np.clip(best_t, 0.0, 1.0)


def _box_radii(planes, reqs) -> list[tuple[float, ...]]:
    """Radius of each corner (top-left, top-right, bottom-right, bottom-left) of each box
    ``(x, y, w, h, fill, border, outside, reach)`` of ``reqs`` from coverage, -1 where
    unmeasurable (cut by the image edge, something beside the box). ``planes`` are the
    image's three colour channels.

    Coverage of a pixel (see ``_coverage``) is 0 outside, 1 in the box; the outside is
    taken per row just beyond the box so a shadow does not bias it. Per row, the sub-pixel
    boundary e(y) is where the coverage reaches 1 (the scan stops there, or at the peak of
    a thin border); rows partly above the box weigh by their vertical coverage. The
    corner's missing area relative to the straight sides is sum(e(y) - e_straight) =
    r^2 (1 - pi/4). The four corners are flipped into one top-left orientation and
    measured together, and boxes with the same window size all at once.
    """
    out: list[tuple[float, ...]] = [(-1.0,) * 4] * len(reqs)
    groups: dict[int, list[int]] = {}
    for i, (_, _, bw, bh, fill, border, outside, reach) in enumerate(reqs):
        n = min(min(bw, bh) // 2 + 2, reach, MAX_CORNER)
        if n < 3:
            continue
        if max(abs(fill[0] - outside[0]), abs(fill[1] - outside[1]), abs(fill[2] - outside[2])) < 3 \
                and border is None:
            continue
        groups.setdefault(n, []).append(i)
    for n, idx in groups.items():
        for i, rad in zip(idx, _radii_group(planes, [reqs[i] for i in idx], n), strict=True):
            out[i] = rad
    return out


def _radii_group(planes, reqs, n) -> list[tuple[float, ...]]:
    """``_box_radii`` of boxes whose corner windows are all (n+1) px square."""
    H, W = planes[0].shape
    k = len(reqs)
    bx, by, bw, bh = (np.array([q[j] for q in reqs], np.intp) for j in range(4))
    xs = np.arange(n + 1) - 1
    # each corner's columns and rows walk inward from one pixel outside the box
    c_in = bx[:, None] + xs
    c_out = (bx + bw - 1)[:, None] - xs
    r_in = by[:, None] + xs
    r_out = (by + bh - 1)[:, None] - xs
    C = np.stack([c_in, c_out, c_out, c_in], axis=1)                  # (k, 4, n+1)
    R = np.stack([r_in, r_in, r_out, r_out], axis=1)
    # corners cut by the image edge are unmeasurable
    ok = (C.min(axis=2) >= 0) & (C.max(axis=2) < W) & (R.min(axis=2) >= 0) & (R.max(axis=2) < H)
    np.clip(C, 0, W - 1, out=C)
    np.clip(R, 0, H - 1, out=R)
    RW = R * W
    at_win = RW[..., None] + C[..., None, :]                          # (k, 4, n+1, n+1)
    at_out = RW + C[..., :1]                                          # (k, 4, n+1)
    at_row = (by + bh // 2)[:, None, None] * W + C
    at_col = RW + (bx + bw // 2)[:, None, None]
    win = [p.take(at_win).astype(np.float32) for p in planes]
    outs = [p.take(at_out).astype(np.float32) for p in planes]
    ref_row = [p.take(at_row).astype(np.float32) for p in planes]
    ref_col = [p.take(at_col).astype(np.float32) for p in planes]
    o32 = np.array([q[6] for q in reqs], np.float64).astype(np.float32)
    out32 = [o32[:, j, None, None] for j in range(3)]                 # (k, 1, 1) each
    # beside the box something else (a neighbour, a label): use the side's outside colour
    far = np.maximum(np.maximum(np.abs(outs[0] - out32[0]), np.abs(outs[1] - out32[1])),
                     np.abs(outs[2] - out32[2])) > 40
    outs = [np.where(far, o, s) for o, s in zip(out32, outs, strict=True)]
    # the box's colour: its fill, and its border where it has one; only the border where
    # the fill equals the outside (the border alone draws the corner)
    no_fill = [max(abs(q[4][j] - q[6][j]) for j in range(3)) < 3 for q in reqs]
    first = np.array([q[5] if nf else q[4] for q, nf in zip(reqs, no_fill, strict=True)], np.float64)
    two = np.array([q[5] is not None and not nf for q, nf in zip(reqs, no_fill, strict=True)])
    f32 = first.astype(np.float32)
    first_c = [f32[:, j, None, None] for j in range(3)]
    second_c = None
    if two.any():
        s32 = np.array([q[5] if t else q[4] for q, t in zip(reqs, two, strict=True)],
                       np.float64).astype(np.float32)
        second_c = [s32[:, j, None, None] for j in range(3)]
    two = two[:, None, None]
    cov = _coverage(win, [o[..., None] for o in outs], [c[..., None] for c in first_c],
                    None if second_c is None else [c[..., None] for c in second_c], two[..., None])
    cov_ref = _coverage(ref_row, out32, first_c, second_c, two)
    cov_col = _coverage(ref_col, outs, first_c, second_c, two)
    # vertical coverage of each row: the top side's profile up to where it reaches the rim
    hit = cov_col >= 0.9
    top = np.where(hit.any(axis=-1), hit.argmax(axis=-1), n + 1)
    cap = np.where(np.arange(n + 1) < top[..., None], cov_col, 1.0)  # (k, 4, n+1)
    e_ref = _edge_pos(cov_ref.reshape(-1, n + 1), np.ones(4 * k, cov_ref.dtype)).reshape(k, 4)
    e = _edge_pos(cov.reshape(-1, n + 1), np.maximum(cap, 1e-6).reshape(-1)).reshape(k, 4, n + 1)
    live = cap > 0.05
    bad = ~ok | np.isnan(cap).any(axis=-1) | np.isnan(e_ref) | (np.isnan(e) & live).any(axis=-1)
    part = (e - e_ref[..., None]) * cap
    res = []
    for i in range(k):
        rad = []
        for c in range(4):
            if bad[i, c]:
                rad.append(-1.0)
                continue
            missing = float(part[i, c][live[i, c]].sum())
            r = math.sqrt(missing / _CORNER_K) if missing > 0 else 0.0
            if reqs[i][5] is not None:
                # where a border curves, its pixels also hold some fill, which reads as a
                # little outside: a border adds ~0.75 px to the radius (Chromium at 1x-3x,
                # 1-3 px borders)
                r = max(0.0, r - BORDER_BIAS)
            rad.append(r)
        res.append(tuple(rad))
    return res


def _edge_pos(cov: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Sub-pixel boundary per row: sum of (1 - cov/cap) until the rim is reached (or the
    peak of a thin border). ``cov`` (rows, n), ``cap`` (rows,)."""
    c = np.clip(cov / cap[:, None], 0.0, 1.0)
    rows, n = c.shape
    reach = c >= 0.9
    peak = np.maximum.accumulate(c, axis=1)
    falling = (peak >= 0.3) & (c < peak - 0.15)
    stop_reach = np.where(reach.any(axis=1), reach.argmax(axis=1), n)
    stop_fall = np.where(falling.any(axis=1), falling.argmax(axis=1) - 1, n)
    stop = np.minimum(stop_reach, stop_fall)
    take = np.arange(n)[None, :] <= stop[:, None]
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
