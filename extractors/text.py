"""Text lines found from pixels alone (no OCR): where text is, how tall, how heavy, what colour.

Shared by the typography and spacing extractors. ``find_text_lines(image)`` returns one
``TextLine`` per visual line of text (a run of glyphs on one baseline), sorted by (y, x).

How
    1. Local contrast: the morphological gradient (3x3 dilate - erode) of luma marks every
       edge, whatever the polarity (dark text on light, light on dark, text on buttons).
    2. Glyph candidates: connected components of the edge mask. Dropped: hollow frames
       (boxes, buttons, inputs, checkboxes: nearly all their pixels near their own bounding
       box), containers (cards, tables: three or more candidates inside their box), thin
       long rules (dividers, borders) and huge components.
    3. Lines: each candidate links to the first candidate to its right within about a word
       space (its own height), seen from two rows around its middle, if both stand on the
       same background colour and their heights differ less than 2x (periods and icons are
       looked past); linked candidates are one line. Looking from the middle of each glyph
       keeps stacked lines of a paragraph apart.
    4. Each line is measured in a crop of its own: the background is the colour of the crop's
       frame, the ink is the colour farthest from it, and every pixel gets a *coverage*
       (0 = background, 1 = ink) by projection on that segment, which undoes anti-aliasing.
       Crops whose frame is not one colour (photos), with too little contrast, or with many
       pixels off the background-ink ramp (illustrations) are rejected, as are solid blocks
       (bars: glyph boxes mostly filled) and lines whose glyph heights do not cluster.
    5. Metrics from ink components (coverage >= 0.5) with sub-pixel edges from the coverage
       of their edge rows: the baseline is the most common glyph bottom; heights above it
       split (Otsu on log height) into an x-height cluster (a, e, o...) and a tall cluster
       (capitals, digits, ascenders; its biggest group within 4 %, clear of t, $ and
       brackets). A line with one cluster reports it as ``x_height`` when it shows
       lowercase (descenders, i/j dots, glyphs as wide as tall), else as ``cap_height``.
       A tall cluster over 1.8 x-heights is icons, not letters, and is dropped. Stroke
       width is the median horizontal ink width (coverage summed along each run) across
       the middle of the glyphs, i.e. the vertical stem width.

Units and limits
    Everything in image pixels (callers divide by ``ctx.scale``). ``cap_height`` is the
    height of the tall glyphs: capitals, digits, and ascenders (b, d, h, l), which in most
    sans fonts stand 0-5 % above the capitals. Text smaller than ~6 px x-height is unreliable;
    single glyphs, text on photos and text touching boxes or underlines may be missed;
    two pieces of text less than a word space apart on one row and one background are one
    line (a multi-colour line takes the colour farthest from its background). ~0.05 ms per
    line plus ~8-20 ms per 1440x900 image on one core (crm_dense, 217 lines: ~21 ms).
    Deterministic: same pixels, same lines.

Memo
    Several extractors running in one process on one image (``extract_local``, naming) ask
    for its lines and boxes. Inside ``with shared_detections():`` ``find_text_lines`` and
    ``layout.find_boxes`` keep the last ``MEMO_SIZE`` results per process, keyed by a
    digest (BLAKE2b) of the image's bytes with its shape and dtype; a hit returns a new list
    of the same frozen objects (the memo holds tuples, so no caller can change what another
    one gets). The memo is thread-safe (one lock) and never changes a result: a changed
    pixel misses. Outside the block nothing is kept or hashed: a worker that runs one
    extractor would pay ~6 ms per 1440x900 image for the digest and never hit.
    ``clear_memo()`` empties both memos.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from stylestream.extractors.components import component_roots

#: gradient (luma levels) that makes an edge pixel; light-grey placeholder text is ~60-90
EDGE_MIN = 24
#: edge components this tall or shorter are never glyphs (1-3 px rules and specks)
MIN_GLYPH_H = 5
#: share of a component's pixels within 3 px of its own bounding box that makes it a
#: hollow box (rounded corners of buttons and inputs fall inside)
HOLLOW_SHARE = 0.75
#: background/ink contrast (RGB euclidean) below which a line is not text
MIN_CONTRAST = 40.0
#: least share of a crop's frame within FRAME_TOL of the background colour
MIN_FRAME_UNIFORM = 0.6
FRAME_TOL = 14
#: most share of non-background pixels far from the background-ink ramp
MAX_OFF_RAMP = 0.3
#: glyphs link into a line when their heights differ less than this ratio and their
#: backgrounds by at most this much in every RGB channel (pale badges differ from white
#: by 15-40 in one channel)
MAX_LINK_RATIO = 2.0
MAX_LINK_BG = 12
#: ink coverage that counts as a glyph pixel
INK = 0.5
#: most median fill (ink area / box area) of glyph components; solid bars are ~1
MAX_FILL = 0.8
#: least share of glyph heights at the x-height or the tall height
MIN_CLUSTERED = 0.6
#: median width / height of glyphs above which a one-height line is lowercase
LOWER_ASPECT = 0.93
#: least ratio of tall-glyph to x-height medians for two height clusters (fonts: 1.25-1.6)
TALL_OVER_X = 1.17
TALL_MAX_OVER_X = 1.8
TALL_MIN_OVER_X = 1.22


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
    #: how many glyphs the x-height and the tall height were measured on
    x_count: int = 0
    cap_count: int = 0


#: results each detector memo keeps (per process)
MEMO_SIZE = 2


class Memo:
    """A small thread-safe LRU of immutable results, keyed by an image digest and the
    call's arguments (see the module doc)."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        try:
            hash(key)
        except TypeError:  # an argument that cannot be a key (unhashable lines): no memo
            return compute()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()  # outside the lock: a slow image does not hold up other threads
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def image_key(image: np.ndarray) -> tuple:
    """(digest of the pixels, shape, dtype): equal keys mean equal arrays."""
    a = np.ascontiguousarray(image)
    return (hashlib.blake2b(memoryview(a).cast("B"), digest_size=20).digest(), a.shape, a.dtype.str)


_MEMO = Memo()
_SHARING: ContextVar[bool] = ContextVar("stylestream_shared_detections", default=False)


@contextmanager
def shared_detections() -> Iterator[None]:
    """Within the block (this context: threads started inside need ``copy_context()``),
    the shared detectors memoise their results; see the module doc."""
    token = _SHARING.set(True)
    try:
        yield
    finally:
        _SHARING.reset(token)


def sharing() -> bool:
    """Whether the shared detectors memoise here (inside ``shared_detections()``)."""
    return _SHARING.get()


def clear_memo() -> None:
    """Forget every memoised detector result (text lines and boxes) of this process."""
    _MEMO.clear()
    from stylestream.extractors import layout

    layout._MEMO.clear()


def find_text_lines(image: np.ndarray) -> list[TextLine]:
    """Text lines of an RGB uint8 (H, W, 3) image, sorted by (y, x). See the module doc."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    return list(lines_of(image, image_key(image) if sharing() else None))


def lines_of(image: np.ndarray, key: tuple | None) -> tuple[TextLine, ...]:
    """The lines of a checked image, through the memo when ``key`` (its ``image_key``) is
    given."""
    if key is None:
        return tuple(_find_text_lines(image))
    return _MEMO.get(key, lambda: tuple(_find_text_lines(image)))  # type: ignore[no-any-return]


def _find_text_lines(image: np.ndarray) -> list[TextLine]:
    H, W = image.shape[:2]
    if H < 8 or W < 8:
        return []
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edge = cv2.threshold(grad, EDGE_MIN - 1, 1, cv2.THRESH_BINARY, dst=grad)[1]  # grad >= EDGE_MIN
    # BBDT: the same labels and stats as the default (Spaghetti), ~3x faster with stats
    n, lab, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(edge, 8, cv2.CV_32S, cv2.CCL_BBDT)
    if n <= 1:
        return []
    glyph = _glyph_candidates(lab, stats, H)
    ids = np.flatnonzero(glyph)
    if len(ids) < 2:
        return []
    bands = _line_groups(image, stats, ids)
    lines = _measure_all(image, bands)
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
        frame = _frame_counts(lab, x, y, w, h, np.flatnonzero(big))
        # a filled stem (l, I, 1 of large text) is hollow too, but tall and narrow
        stem = h >= 3 * w
        ok &= ~(big & ~stem & (frame >= HOLLOW_SHARE * np.maximum(area, 1)))
    # containers: cards, tables, nav bars whose outline joins inner rules are not hollow,
    # but hold other candidates inside their box; a glyph never holds three
    tall = np.flatnonzero(ok & (h >= 14))
    if len(tall):
        cand = np.flatnonzero(ok & (h >= 7))  # not i-dots
        cx = x[cand] + w[cand] / 2.0
        cy = y[cand] + h[cand] / 2.0
        for chunk in range(0, len(tall), 256):
            t = tall[chunk:chunk + 256]
            inside = ((cx[None, :] > x[t, None]) & (cx[None, :] < (x + w)[t, None])
                      & (cy[None, :] > y[t, None]) & (cy[None, :] < (y + h)[t, None])
                      & (h[cand][None, :] < 0.6 * h[t, None]))
            ok[t[inside.sum(axis=1) >= 3]] = False
    return ok


def _frame_counts(lab: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray, h: np.ndarray,
                  ids: np.ndarray) -> np.ndarray:
    """Pixels of each component ``ids`` (all at least 10 x 10) within 3 px of its own
    bounding box, indexed by label: only the box's border strips are read (3 full rows at
    the top and the bottom, 3 pixels at each end of the rows between)."""
    W = lab.shape[1]
    xb, yb, wb, hb = (a[ids].astype(np.int64) for a in (x, y, w, h))
    cid = np.repeat(np.arange(len(ids)), hb)  # one entry per box row
    r = np.arange(len(cid)) - np.repeat(np.cumsum(hb) - hb, hb)
    inner = (r >= 3) & (r < hb[cid] - 3)
    row = yb[cid] + r
    ci = cid[inner]
    seg_c = np.concatenate([cid, ci])
    seg_at = np.concatenate([row * W + xb[cid], row[inner] * W + (xb + wb - 3)[ci]])
    seg_len = np.concatenate([np.where(inner, 3, wb[cid]), np.full(len(ci), 3, np.int64)])
    starts = np.cumsum(seg_len) - seg_len
    idx = np.repeat(seg_at - starts, seg_len) + np.arange(int(seg_len.sum()))
    lp = np.repeat(ids.astype(lab.dtype)[seg_c], seg_len)
    return np.bincount(lp[lab.ravel()[idx] == lp], minlength=len(x))


def _same_bg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(a - b)
    return np.maximum(np.maximum(d[:, 0], d[:, 1]), d[:, 2]) <= MAX_LINK_BG


def _line_groups(image: np.ndarray, stats: np.ndarray, ids: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Group glyph candidates into lines; return the union box (x0, y0, x1, y1) of each.

    Each candidate paints its core (the middle half of its height) into a label map; from
    the middle of its right side it looks right for about a word space (its own height)
    and links to the first core it meets, if that candidate stands on the same background
    (colour just outside its corners) and is of a compatible height. The map holds only
    the rows looked along."""
    H, W = image.shape[:2]
    x, y, w, h = (stats[ids, i].astype(np.int64) for i in range(4))
    n = len(ids)
    # background colour: median of the four pixels just outside the corners
    cxs = np.stack([x - 1, x + w, x - 1, x + w]).clip(0, W - 1)
    cys = np.stack([y - 1, y - 1, y + h, y + h]).clip(0, H - 1)
    # (the mean of the middle two, as np.median; exact on integers)
    four = np.sort(image[cys, cxs], axis=0)
    bgc = (four[1].astype(np.float32) + four[2]) / 2  # (n, 3)
    top = y + h // 4
    bot = np.maximum(y + h - 1 - h // 4, top)
    # scan right from two rows around each candidate's middle (a descender's middle is low,
    # an ascender's high: one of the two rows meets the next glyph's core)
    scan_rows = (y + (2 * h) // 5, y + (3 * h) // 5)
    rows = np.unique(np.concatenate(scan_rows))
    # cores painted small first, so a big candidate's core never hides the small ones it
    # overlaps: each pixel holds the latest painted (the highest rank) of the cores on it
    order = np.argsort(-h, kind="stable")
    rank = np.empty(n, np.int32)
    rank[order] = np.arange(1, n + 1, dtype=np.int32)
    r0 = np.searchsorted(rows, top)
    pr, pc = _ramps(r0, np.searchsorted(rows, bot, "right") - r0)  # (map row, candidate)
    at, k = _ramps(pr * W + x[pc], w[pc])
    labels = np.zeros(len(rows) * W, np.int32)
    np.maximum.at(labels, at, rank[pc[k]])
    start = np.minimum(x + w, W - 1)
    length = np.clip(np.minimum(h + 1, W - start), 1, None)
    seg = np.repeat(np.arange(n), length)
    offs = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    first = np.full(n, -1, np.int64)
    first_off = np.full(n, np.iinfo(np.int64).max)
    for row in scan_rows:
        got = labels[np.searchsorted(rows, row)[seg] * W + start[seg] + offs]
        hit = np.where(got > 0, order[np.maximum(got, 1) - 1], -1)
        hv_ = np.maximum(hit, 0)
        ratio = np.maximum(h[seg], h[hv_]) / np.maximum(np.minimum(h[seg], h[hv_]), 1)
        # a much smaller or larger glyph (a period, an icon) is looked past, a change of
        # background ends the line
        seen = (hit >= 0) & (hit != seg) & ~((ratio > MAX_LINK_RATIO)
                                             & _same_bg(bgc[seg], bgc[hv_]))
        vi = np.flatnonzero(seen)
        if len(vi) == 0:
            continue
        # first hit per segment: segments are in order, so keep each segment's first
        segs_v = seg[vi]
        keep = np.r_[True, segs_v[1:] != segs_v[:-1]]
        sv, hv, ov = segs_v[keep], hit[vi[keep]], offs[vi[keep]]
        better = ov < first_off[sv]
        first[sv[better]] = hv[better]
        first_off[sv[better]] = ov[better]
    i_idx = np.flatnonzero(first >= 0)
    j_idx = first[i_idx]
    ok = _same_bg(bgc[i_idx], bgc[j_idx])
    root = component_roots(n, i_idx[ok].tolist(), j_idx[ok].tolist())
    order = np.argsort(root, kind="stable")
    rs = root[order]
    starts = np.flatnonzero(np.r_[True, rs[1:] != rs[:-1]])
    bx0 = np.minimum.reduceat(x[order], starts)
    by0 = np.minimum.reduceat(y[order], starts)
    bx1 = np.maximum.reduceat((x + w)[order], starts)
    by1 = np.maximum.reduceat((y + h)[order], starts)
    cnt = np.diff(np.r_[starts, len(order)])
    # one candidate may be a whole word (small text: the gradients of its letters touch)
    wide = (bx1 - bx0) >= 1.2 * (by1 - by0)
    return [(int(bx0[i]), int(by0[i]), int(bx1[i]), int(by1[i]))
            for i in np.flatnonzero((cnt >= 2) | wide)]


# --- measuring one line ------------------------------------------------------------------

def _ramps(start: np.ndarray, length: np.ndarray, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """start + step * (0 .. length - 1) for each entry, concatenated, and each value's entry."""
    offs = length.cumsum() - length
    k = np.arange(int(offs[-1] + length[-1])) - offs.repeat(length) if len(length) else np.zeros(0, np.int64)
    return start.repeat(length) + step * k, np.arange(len(length)).repeat(length)


def _seg_median_u8(vals: np.ndarray, seg: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Median of uint8 rows (k, 3) per segment (float32, as ``_median``), from per-segment
    histograms, and each segment's size; every segment in range(n) must be non-empty."""
    cnt = np.bincount(seg, minlength=n)
    base = seg * 256
    # cumulative histogram of each channel of each segment: (3, n, 256)
    cum = np.stack([np.bincount(base + vals[:, c], minlength=n * 256) for c in range(3)])
    cum = cum.reshape(3, n, 256).cumsum(axis=2, dtype=np.int32)
    # the value at sorted position p is the number of levels with at most p values below
    # (cum is non-decreasing up to cnt: the count of levels at most p is where it first
    # passes p)
    lo = np.argmax(cum > ((cnt - 1) // 2).astype(np.int32)[:, None], axis=2).T.astype(np.float32)
    hi = np.argmax(cum > (cnt // 2).astype(np.int32)[:, None], axis=2).T.astype(np.float32)
    return (lo + hi) / 2, cnt


def _seg_count(mask: np.ndarray, pat: np.ndarray) -> np.ndarray:
    """True values of a boolean array in each of its segments (non-empty, starting at
    ``pat``; each shorter than 2**31)."""
    return np.add.reduceat(mask, pat, dtype=np.int32)


def _measure_all(image: np.ndarray, bands: list[tuple[int, int, int, int]]) -> list[TextLine]:
    """Measure every line box (step 4 of the module doc). The per-pixel steps run on all
    crops at once, laid end to end in one buffer (every operation is elementwise or per
    crop, so each value is the one a crop of its own would give)."""
    H, W = image.shape[:2]
    if not bands:
        return []
    b = np.array(bands, np.int64)
    # the edge box reaches one pixel beyond the ink; one more gives a clean frame
    cx0, cy0 = np.maximum(b[:, 0] - 1, 0), np.maximum(b[:, 1] - 1, 0)
    cx1, cy1 = np.minimum(b[:, 2] + 1, W), np.minimum(b[:, 3] + 1, H)
    ch, cw = cy1 - cy0, cx1 - cx0
    live = np.flatnonzero((ch >= 6) & (cw >= 6))
    if not len(live):
        return []
    cx0, cy0, cx1, cy1, ch, cw = cx0[live], cy0[live], cx1[live], cy1[live], ch[live], cw[live]
    n = len(live)
    # frames: top and bottom rows, then the left and right columns between them
    rows_at = np.concatenate([cy0 * W + cx0, (cy1 - 1) * W + cx0])
    fi_r, fs_r = _ramps(rows_at, np.concatenate([cw, cw]))
    cols_at = np.concatenate([(cy0 + 1) * W + cx0, (cy0 + 1) * W + cx1 - 1])
    fi_c, fs_c = _ramps(cols_at, np.concatenate([ch - 2, ch - 2]), W)
    fseg = np.concatenate([fs_r, fs_c]) % n
    fpix = image.reshape(-1, 3)[np.concatenate([fi_r, fi_c])]
    bg, nf = _seg_median_u8(fpix, fseg, n)
    fd = np.abs(fpix.astype(np.float32) - bg[fseg])  # (numpy's mixed uint8 - float32 loop is slow)
    uni = np.maximum(np.maximum(fd[:, 0], fd[:, 1]), fd[:, 2]) <= FRAME_TOL
    ok = np.bincount(fseg[uni], minlength=n) >= MIN_FRAME_UNIFORM * nf
    # crops, end to end: pixel rows (float32 RGB) minus the crop's background, exact (bg
    # is a multiple of 0.5)
    sel = np.flatnonzero(ok)
    if not len(sel):
        return []
    npx = ch[sel] * cw[sel]
    pat = npx.cumsum() - npx
    bgs = bg[sel]
    diff = np.empty((int(npx.sum()), 3), np.float32)
    # OpenCV: numpy's mixed uint8 - float32 loop is several times slower
    for y0, y1, x0, x1, a, b_, bg_ in zip(cy0[sel].tolist(), cy1[sel].tolist(), cx0[sel].tolist(),
                                          cx1[sel].tolist(), pat.tolist(), (pat + npx).tolist(),
                                          bgs.tolist(), strict=True):
        cv2.subtract(image[y0:y1, x0:x1], (*bg_, 0.0), dst=diff[a:b_].reshape(y1 - y0, x1 - x0, 3),
                     dtype=cv2.CV_32F)
    # squared distance from the background; exact in float32 in any order (bg is a multiple
    # of 0.5, so every term is a multiple of 0.25 below 2**16); channel by channel, without
    # a full-size array of squares
    dist2 = diff[:, 0] * diff[:, 0]
    term = diff[:, 1] * diff[:, 1]
    dist2 += term
    dist2 += np.multiply(diff[:, 2], diff[:, 2], out=term)
    del term
    # the k-th largest distance: mostly the maximum itself (the ink's solid core); else
    # only values over the contrast floor and over the k-th largest column maximum (k
    # columns reach that) can be it
    top = np.maximum.reduceat(dist2, pat)
    kk = np.maximum(3, npx // 500)
    n_top = _seg_count(dist2 == top.repeat(npx), pat)
    far2 = top.astype(np.float64)
    alive = top >= MIN_CONTRAST ** 2
    for i in np.flatnonzero(alive & (n_top < kk)).tolist():
        k, w_ = int(kk[i]), int(cw[sel[i]])
        flat = dist2[pat[i]:pat[i] + npx[i]]
        floor = MIN_CONTRAST ** 2
        if w_ >= k:
            floor = max(floor, float(np.partition(flat.reshape(-1, w_).max(axis=0), w_ - k)[w_ - k]))
        cand = flat[flat >= floor]
        if len(cand) < k:
            alive[i] = False
        else:
            # a full sort: SIMD, and many times faster than a partition on the many equal
            # values of flat areas
            cand.sort()
            far2[i] = float(cand[len(cand) - k])
    thr = (0.93 ** 2 * far2).astype(np.float32)
    inky = dist2 >= np.where(alive, thr, np.inf).astype(np.float32).repeat(npx)
    ink_rgb = np.zeros((len(sel), 3), np.float32)
    if inky.any():
        at = np.flatnonzero(inky)
        ps = np.searchsorted(pat, at, "right") - 1
        # the pixels themselves, from the image
        r, c_ = np.divmod(at - pat[ps], cw[sel][ps])
        at = (cy0[sel][ps] + r) * W + cx0[sel][ps] + c_
        ink_rgb[alive] = _seg_median_u8(image.reshape(-1, 3)[at], ps, len(sel))[0][alive]
    d = ink_rgb - bgs
    dd = (d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) + d[:, 2] * d[:, 2]  # exact: see dist2
    alive &= dd >= MIN_CONTRAST ** 2
    # coverage: projection on the background-ink segment (a matrix product per crop, as
    # BLAS rounds it), clipped to [0, 1]
    cov = np.zeros(len(diff), np.float32)
    ddc = np.where(alive, dd, 1.0).astype(np.float32)
    v = d / ddc[:, None]
    li = np.flatnonzero(alive)
    for a, b_, h_, w_, v_ in zip(pat[li].tolist(), (pat + npx)[li].tolist(), ch[sel[li]].tolist(),
                                 cw[sel[li]].tolist(), v[li], strict=True):
        np.matmul(diff[a:b_].reshape(h_, w_, 3), v_, out=cov[a:b_].reshape(h_, w_))
    np.maximum(cov, 0.0, out=cov)
    np.minimum(cov, 1.0, out=cov)
    fg = dist2 > FRAME_TOL ** 2
    n_fg = _seg_count(fg, pat)
    alive &= n_fg > 0
    # distance from the background-ink ramp, channel by channel (as cov[fg][:, None] * d)
    resid = np.empty(len(diff), np.float32)
    off = np.empty(len(diff), np.float32)
    for c in range(3):
        out = resid if c == 0 else off
        np.multiply(cov, d[:, c].repeat(npx), out=out)
        np.subtract(diff[:, c], out, out=out)
        np.abs(out, out=out)
        if c:
            np.maximum(resid, off, out=resid)
    del off
    # resid > lim (float64) compared in float32: against the largest float32 <= lim
    lim = 24.0 + 0.15 * np.sqrt(dd.astype(np.float64))
    lim32 = lim.astype(np.float32)
    lim32 = np.where(lim32 > lim, np.nextafter(lim32, np.float32(-np.inf)), lim32)
    far = (resid > lim32.repeat(npx)) & fg
    alive &= _seg_count(far, pat) <= MAX_OFF_RAMP * n_fg
    inked = (cov >= INK).view(np.uint8)
    live = np.flatnonzero(alive)
    return _glyph_lines(cov, inked, pat[live], ch[sel[live]], cw[sel[live]], cx0[sel[live]],
                        cy0[sel[live]], ink_rgb[live], bgs[live])


# --- measuring the glyphs of all lines ---------------------------------------------------

def _seg_starts(seg: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted segment index begins."""
    return np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])


def _seg_reduce(ufunc: np.ufunc, vals: np.ndarray, seg: np.ndarray, n: int, empty: float) -> np.ndarray:
    """``ufunc`` over each segment of ``vals`` (``seg`` sorted) into n slots; ``empty`` where
    a segment has no values."""
    out = np.full(n, empty, vals.dtype if vals.dtype.kind == "f" else np.float64)
    if len(vals):
        at = _seg_starts(seg)
        out[seg[at]] = ufunc.reduceat(vals, at)
    return out


def _seg_median(vals: np.ndarray, seg: np.ndarray, n: int) -> np.ndarray:
    """``_median`` of each segment (``seg`` sorted; NaN where empty), in the values' own
    arithmetic: (a + b) / 2 of the two middle values."""
    cnt = np.bincount(seg, minlength=n)
    bits = vals.view(np.int32) if vals.dtype == np.float32 else vals
    if bits.dtype in (np.int32, np.int64) and len(vals) and bits.min() >= 0 and bits.max() < 2 ** 31:
        # non-negative int32-sized values or float32 (whose bits then order as its values
        # do): one sort of (segment, bits) in an int64 does what the two-key sort does
        key = (seg.astype(np.int64) << 32) | bits
        key.sort()
        s = key.astype(np.int32).view(vals.dtype) if vals.dtype == np.float32 else key & 0xFFFFFFFF
    else:
        s = vals[np.lexsort((vals, seg))]
    at = cnt.cumsum() - cnt
    full = cnt > 0
    lo, hi = at[full] + (cnt[full] - 1) // 2, at[full] + cnt[full] // 2
    mid = (s[lo] + s[hi]) / 2
    out = np.full(n, np.nan, mid.dtype)
    out[full] = mid
    return out


def _keep(k: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    return [a[k] for a in arrays]


def _label_crops(inked: np.ndarray, pat: np.ndarray, ch: np.ndarray, cw: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """8-connected components (stats rows x, y, w, h, area, in crop coordinates) of every
    crop's ink mask, and each one's crop, crop by crop, each crop's in the order a
    labelling of the crop alone gives. One labelling of all crops packed in shelves into
    one image: each crop at an even row and column (the 2 x 2 blocks of the labelling fall
    as in the crop alone, so its components come in the same order) with a zero row and
    column around it (components cannot join)."""
    n = len(ch)
    wd = max(int(cw.max()), 1024)
    order = np.argsort(-ch, kind="stable")
    ox, oy, shelf = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    shelf_y = [0]
    x = y = tall = 0
    for i, h_, w_ in zip(order.tolist(), ch[order].tolist(), cw[order].tolist(), strict=True):
        if x and x + w_ > wd:
            y += tall + 1 + ((tall + 1) & 1)
            x = tall = 0
            shelf_y.append(y)
        ox[i], oy[i], shelf[i] = x, y, len(shelf_y) - 1
        x += w_ + 1 + ((w_ + 1) & 1)
        tall = max(tall, h_)
    canvas = np.zeros((y + tall, wd), np.uint8)
    for i, a, h_, w_ in zip(range(n), pat.tolist(), ch.tolist(), cw.tolist(), strict=True):
        canvas[oy[i]:oy[i] + h_, ox[i]:ox[i] + w_] = inked[a:a + h_ * w_].reshape(h_, w_)
    # BBDT: the same labels and stats as the default (Spaghetti), faster
    st = cv2.connectedComponentsWithStatsWithAlgorithm(canvas, 8, cv2.CV_32S, cv2.CCL_BBDT)[2]
    st = st[1:].astype(np.int64)
    # the crop of each component: its shelf from its top, then the crop from its left
    key = shelf[order] * (wd + 1) + ox[order]  # increasing: shelves in order, left to right
    at = np.searchsorted(np.array(shelf_y), st[:, 1], "right") - 1
    own = order[np.searchsorted(key, at * (wd + 1) + st[:, 0], "right") - 1]
    back = np.argsort(own, kind="stable")
    st, own = st[back], own[back]
    st[:, 0] -= ox[own]
    st[:, 1] -= oy[own]
    return st, own


def _glyph_lines(cov: np.ndarray, inked: np.ndarray, pat: np.ndarray, ch: np.ndarray, cw: np.ndarray,
                 cx0: np.ndarray, cy0: np.ndarray, ink_rgb: np.ndarray, bgs: np.ndarray) -> list[TextLine]:
    """Step 5 for every crop (flat at ``pat`` in the coverage ``cov`` and its ink mask,
    ``ch`` x ``cw``, origin ``cx0``, ``cy0`` in the image) at once: its glyph components
    and the metrics from them; crops whose glyphs do not look like text give no line.
    Every value is the one the crop measured alone gives (same operations per value; the
    medians by one sort per segment)."""
    nl = len(ch)
    if not nl:
        return []
    st, seg = _label_crops(inked, pat, ch, cw)
    st, seg = st[st[:, 4] >= 2], seg[st[:, 4] >= 2]
    m = np.bincount(seg, minlength=nl)
    alive = m >= 2
    st, seg = _keep(alive[seg], st, seg)
    gx, gy, gw, gh, ga = st.T
    big = gh >= np.maximum(3, 0.3 * _seg_reduce(np.maximum, gh, seg, nl, 0))[seg]
    alive &= np.bincount(seg[big], minlength=nl) >= 2
    # solid blocks (bars, swatches) are not glyphs: most glyphs fill little of their box
    fill = _seg_median(ga[big] / (gw[big] * gh[big]), seg[big], nl)
    alive &= ~(fill > MAX_FILL)
    if not alive.any():
        return []
    gx, gy, gw, gh, ga, big, seg = _keep(alive[seg], gx, gy, gw, gh, ga, big, seg)
    # sub-pixel glyph top and bottom edges from the coverage of the rows at each edge: the
    # most of each row's span (0 off the crop)
    rows = np.stack([gy, gy - 1, gy + gh - 1, gy + gh])
    inside = (rows >= 0) & (rows < ch[seg])
    at = pat[seg] + np.clip(rows, 0, ch[seg] - 1) * cw[seg] + gx
    span = np.tile(gw, 4)
    idx, _ = _ramps(at.ravel(), span)
    c = np.maximum.reduceat(cov[idx], span.cumsum() - span)
    c = np.where(inside.ravel(), c, np.float32(0.0)).reshape(4, -1)
    tops = gy + 1.0 - c[0] - c[1]
    bots = (gy + gh - 1.0) + c[2] + c[3]
    # baseline: the most common bottom among glyph-sized components
    bb, bseg = bots[big], seg[big]
    tol = np.maximum(1.0, 0.05 * _seg_median(gh[big], bseg, nl))
    kb = np.bincount(bseg, minlength=nl)
    rep = kb[bseg]
    pi = np.arange(len(bb)).repeat(rep)
    pj = (np.arange(int(rep.sum())) - (rep.cumsum() - rep).repeat(rep)) + (kb.cumsum() - kb)[bseg].repeat(rep)
    close = np.abs(bb[pi] - bb[pj]) <= tol[bseg][pi]
    counts = np.bincount(pi[close], minlength=len(bb))
    # ties (rare) go to the higher bottom: descenders are never the majority
    top_count = _seg_reduce(np.maximum, counts, bseg, nl, 0)
    anchor = _seg_reduce(np.minimum, np.where(counts == top_count[bseg], bb, np.inf), bseg, nl, np.inf)
    on_base = np.abs(bb - anchor[bseg]) <= tol[bseg]
    alive &= np.bincount(bseg[on_base], minlength=nl) >= 2
    baseline = _seg_median(bb[on_base], bseg[on_base], nl)
    # heights above the baseline of glyphs that reach down to it (descenders included)
    sitting = big & (bots >= (baseline - tol)[seg])
    hseg = seg[sitting]
    hts = baseline[hseg] - tops[sitting]
    hmax = np.maximum(_seg_reduce(np.maximum, hts, hseg, nl, 0.0), 0.0)
    tall = hts > np.maximum(2.0, 0.35 * hmax)[hseg]
    hts, hseg = hts[tall], hseg[tall]
    nh = np.bincount(hseg, minlength=nl)
    alive &= nh >= 2
    # height clusters of all lines at once, on heights sorted once
    k = alive[hseg]
    hts, hseg = hts[k], hseg[k]
    hts = hts[np.lexsort((hts, hseg))]
    x_height, x_count, cap_height, cap_count = _height_clusters(hts, hseg, nh * alive)
    # text: most glyph heights sit at the x-height or the tall height (bars do not)
    near = np.abs(hts - cap_height[hseg]) <= np.maximum(1.0, 0.08 * cap_height)[hseg]
    near |= (x_height > 0)[hseg] & (np.abs(hts - x_height[hseg]) <= np.maximum(1.0, 0.1 * x_height)[hseg])
    alive &= ~(np.bincount(hseg[near], minlength=nl) < MIN_CLUSTERED * nh)
    gx, gy, gw, gh, tops, bots, seg = _keep(alive[seg], gx, gy, gw, gh, tops, bots, seg)
    one = alive & (x_height == 0.0)
    lower = one & _lowercase(gw, gh, tops, bots, seg, one, baseline, cap_height, tol)
    x_height, cap_height = np.where(lower, cap_height, x_height), np.where(lower, 0.0, cap_height)
    x_count, cap_count = np.where(lower, cap_count, x_count), np.where(lower, 0, cap_count)
    stroke = _stroke(cov, pat, ch, cw, alive, baseline, np.where(x_height != 0.0, x_height, cap_height))
    # ink box of each line in crop pixels
    ix0 = _seg_reduce(np.minimum, gx, seg, nl, 0)
    iy0 = _seg_reduce(np.minimum, gy, seg, nl, 0)
    ix1 = _seg_reduce(np.maximum, gx + gw, seg, nl, 0)
    iy1 = _seg_reduce(np.maximum, gy + gh, seg, nl, 0)
    live = np.flatnonzero(alive)
    # colours: clipped and rounded half to even, as round() of each channel
    color = np.rint(np.clip(ink_rgb[live], 0.0, 255.0)).astype(np.int64).tolist()
    background = np.rint(np.clip(bgs[live], 0.0, 255.0)).astype(np.int64).tolist()
    ink = [float(cov[a:a + h_ * w_].reshape(h_, w_).sum()) for a, h_, w_ in zip(
        pat[live].tolist(), ch[live].tolist(), cw[live].tolist(), strict=True)]
    return [TextLine(x=ox + x0, y=oy + y0, w=x1 - x0, h=y1 - y0, x_height=round(xh, 3),
                     cap_height=round(cap, 3), baseline=round(oy + base, 3), stroke=round(sw, 3),
                     color=tuple(c), background=tuple(b), glyphs=g, ink=round(ik, 1),  # type: ignore[arg-type]
                     x_count=int(xc), cap_count=int(cc))
            for ox, oy, x0, y0, x1, y1, xh, cap, base, sw, c, b, g, ik, xc, cc in zip(
                cx0[live].tolist(), cy0[live].tolist(), ix0[live].astype(np.int64).tolist(),
                iy0[live].astype(np.int64).tolist(), ix1[live].astype(np.int64).tolist(),
                iy1[live].astype(np.int64).tolist(), x_height[live].tolist(), cap_height[live].tolist(),
                baseline[live].tolist(), stroke[live].tolist(), color, background, m[live].tolist(), ink,
                x_count[live].tolist(), cap_count[live].tolist(), strict=True)]


def _lowercase(gw: np.ndarray, gh: np.ndarray, tops: np.ndarray, bots: np.ndarray, seg: np.ndarray,
               which: np.ndarray, baseline: np.ndarray, height: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """For each line ``which`` (glyph components by line ``seg``; baseline, height of its one
    height cluster and tolerance by line): is that cluster x-height (lowercase) rather than
    capitals/digits? Yes when a glyph descends from the cluster's top (g, p, y: its top at
    the cluster top, its bottom well below the baseline; not $ or brackets, which rise
    above the capitals too), a dot floats above the cluster (i, j), or the glyphs are as
    wide as tall (a, e, n, o, s, u, w: ~1.0; capitals and digits: ~0.7-0.85)."""
    nl = len(which)
    gw, gh, tops, bots, seg = _keep(which[seg], gw, gh, tops, bots, seg)
    base, h, tol = baseline[seg], height[seg], tol[seg]
    at_top = np.abs((base - tops) - h) <= np.maximum(1.0, 0.1 * h)
    desc = (bots > base + np.maximum(tol, 0.28 * h)) & at_top
    dots = (bots < base - 1.0 * h) & (gh <= 0.4 * h)
    body = at_top & (np.abs(bots - base) <= np.maximum(tol, 0.1 * h))
    aspect = _seg_median(gw[body] / gh[body], seg[body], nl)
    wide = (np.bincount(seg[body], minlength=nl) >= 2) & (aspect >= LOWER_ASPECT)
    return which & ((np.bincount(seg[desc | dots], minlength=nl) > 0) | wide)


def _seg_last(seg: np.ndarray, n: int) -> np.ndarray:
    """Index of the last entry of each of n segments (``seg`` sorted, every one non-empty)."""
    return np.searchsorted(seg, np.arange(n), "right") - 1


def _height_clusters(hs: np.ndarray, seg: np.ndarray, nh: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x-height, its glyphs, tall height, its glyphs) of each line from its heights above
    the baseline (``hs`` sorted within each line ``seg``, sorted; ``nh`` heights per line,
    0 or at least 2); 0.0 and 0 for a missing cluster.

    Two clusters when the best split of the sorted heights (Otsu on log height) leaves
    medians at least ``TALL_OVER_X`` apart and two glyphs at least below it (one short
    glyph is a symbol: the lower ring of %, a bullet); else one cluster, returned as tall
    (callers decide from dots and descenders whether it was lowercase).

    Every line at once, in the float64 operations of a line on its own: running sums along
    the rows of a zero-padded matrix (sequential), the first best split."""
    nl = len(nh)
    xh, xc, cap, cc = np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl)
    li = np.flatnonzero(nh)
    if not len(li):
        return xh, xc, cap, cc
    n = nh[li]
    a = n.cumsum() - n
    # Otsu on log height: between-class variance of each split i (1 .. n - 1)
    m = int(n.max())
    pos = np.arange(len(hs)) - a.repeat(n)
    row = np.arange(len(li)).repeat(n)
    lg = np.zeros((len(li), m))
    lg[row, pos] = np.log(hs)
    csum = np.cumsum(lg, axis=1)
    total = csum[np.arange(len(li)), n - 1]
    i = np.arange(1, m)
    c = csum[:, :-1]
    rest = n[:, None] - i
    m0 = c / i
    m1 = (total[:, None] - c) / np.maximum(rest, 1)
    dm = m1 - m0
    between = (i * rest) * (dm * dm)
    between[rest <= 0] = -np.inf
    split = np.argmax(between, axis=1) + 1
    two = (n >= 3) & (split >= 2)
    # the x-height: the median of the heights below the split
    lo_a, lo_b = a + (split - 1) // 2, a + split // 2
    x = np.where(two, (hs[np.minimum(lo_a, len(hs) - 1)] + hs[np.minimum(lo_b, len(hs) - 1)]) / 2, 0.0)
    t_cap, t_n = _tall(hs, a + split, a + n, two, x)
    icons = two & (t_cap > TALL_MAX_OVER_X * x)
    both = two & ~icons & (t_cap >= TALL_OVER_X * x)
    one = ~icons & ~both
    o_cap, o_n = _tall(hs, a, a + n, one, np.zeros(len(li)))
    xh[li] = np.where(both, x, 0.0)
    xc[li] = np.where(both, split, 0)
    cap[li] = np.where(both, t_cap, np.where(icons, x, o_cap))
    cc[li] = np.where(both, t_n, np.where(icons, split, o_n))
    return xh, xc, cap, cc


def _tall(hs: np.ndarray, s: np.ndarray, e: np.ndarray, which: np.ndarray, x: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Height of the biggest group (consecutive heights within 4 %) of each cluster
    ``hs[s:e]`` (sorted) of the lines ``which``, the higher one on a tie, and its size
    (0.0 and 0 elsewhere): capitals, digits and ascenders agree within a few per cent,
    while $ and brackets stand higher and t lower. Where the x-height ``x`` is known (not
    0), groups at least ``TALL_MIN_OVER_X`` times it come first (t, the commonest
    tall-ish lowercase letter, stands 1.15-1.2 x-heights tall, capitals and ascenders
    1.28-1.4)."""
    out_h, out_n = np.zeros(len(s)), np.zeros(len(s), np.int64)
    w = np.flatnonzero(which & (e > s))
    if not len(w):
        return out_h, out_n
    idx, line = _ramps(s[w], e[w] - s[w])
    v = hs[idx]
    new = np.ones(len(idx), bool)
    new[1:] = (line[1:] != line[:-1]) | (v[1:] > 1.04 * v[:-1])
    gstart = np.flatnonzero(new)
    glen = np.diff(np.r_[gstart, len(idx)])
    gline = line[gstart]
    glast = v[gstart + glen - 1]
    gmed = (v[gstart + (glen - 1) // 2] + v[gstart + glen // 2]) / 2
    # best by (reaches TALL_MIN_OVER_X x-heights, size, later): the last after sorting
    order = np.lexsort((np.arange(len(gstart)), glen, glast >= TALL_MIN_OVER_X * x[w][gline], gline))
    best = order[_seg_last(gline[order], len(w))]
    out_h[w], out_n[w] = gmed[best], glen[best]
    return out_h, out_n


def _stroke(cov: np.ndarray, pat: np.ndarray, ch: np.ndarray, cw: np.ndarray, which: np.ndarray,
            baseline: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Median horizontal width of ink runs across the middle of the glyphs (rows ``band``
    0.3-0.7 above ``baseline``) of each crop ``which`` (flat at ``pat`` in ``cov``); 0.0
    elsewhere. Each crop's rows, zero-padded at both ends, lie end to end in one buffer;
    the run sums come from a running sum over each crop's rows alone (float32, as a crop
    alone sums them)."""
    out = np.zeros(len(ch), np.float32)
    li = np.flatnonzero(which)
    r0 = np.maximum(np.rint(baseline[li] - 0.7 * band[li]).astype(np.int64), 0)
    r1 = np.rint(baseline[li] - 0.3 * band[li]).astype(np.int64)
    r1 = np.minimum(np.maximum(r1, r0 + 1), ch[li])
    ok = r1 > r0
    li, r0, r1 = li[ok], r0[ok], r1[ok]
    if not len(li):
        return out
    w = cw[li]
    blen = (r1 - r0) * (w + 2)
    blk = blen.cumsum() - blen
    buf = np.zeros(int(blen.sum()), np.float32)
    csum = np.empty_like(buf)
    first = pat[li] + r0 * w
    for a, b, f, n_, w_ in zip(blk.tolist(), (blk + blen).tolist(), first.tolist(), (r1 - r0).tolist(),
                               w.tolist(), strict=True):
        buf[a:b].reshape(n_, w_ + 2)[:, 1:-1] = cov[f:f + n_ * w_].reshape(n_, w_)
        np.cumsum(buf[a:b], out=csum[a:b])
    on = buf > 0.1
    change = np.flatnonzero(on[1:] != on[:-1]) + 1
    # every row starts and ends off (the zero pads): changes pair up into runs
    starts, ends = change[0::2], change[1::2]
    # run [start, end): sum = csum[end - 1] - csum[start - 1]; every run starts after a 0
    sums = csum[ends - 1] - csum[starts - 1]
    keep = sums >= 0.5
    med = _seg_median(sums[keep], np.searchsorted(blk, starts[keep], "right") - 1, len(li))
    out[li] = np.where(np.isnan(med), np.float32(0.0), med)
    return out
