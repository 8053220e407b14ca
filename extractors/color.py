"""Colour palette of a UI screenshot as DTCG colour tokens.

What it measures
    The distinct colours a screenshot is painted with (backgrounds, surfaces, borders,
    accents, text) and, for each, its *pixel share*: the fraction of the measured pixels
    whose colour lies within the merge radius of the token's colour.

How
    1. Images above ``MAX_PIXELS`` are subsampled by striding (nearest neighbour, so no
       colour is ever blended into a new one).
    2. Exact colours are counted (RGB packed into one integer) and converted to OKLab.
    3. Greedy clustering in OKLab: the most frequent unassigned colour seeds a cluster and
       takes every unassigned colour within the merge radius. The token's colour is the
       seed (the mode): exact for lossless sources, within noise for JPEG. Lossless or
       lossy comes from ``ctx.source_format`` (PNG / JPEG), else from pixel speckle.
    4. Spatial evidence per cluster from a label image: *core* pixels (all 8 neighbours in
       the same cluster; for lossy sources also flat pixel to pixel) and *line* pixels
       (horizontal or vertical runs of at least ``LINE_MIN``, so 1-px borders count). Run
       pixels that mix the colours on either side (an anti-aliased or fractional edge) or
       that keep fading on one side (a soft shadow's edge) do not count. Clusters that
       are mostly not their seed colour (gradient bands, photos), thin bands between
       near-identical colours, and blends of two neighbouring colours are dropped.
    5. Text: glyph strokes have no solid core, but a text colour is the far end of a
       ramp of edge blends towards its background; a candidate is accepted when many
       distinct colours lie between it and an accepted background and its own pixels
       touch nothing beyond it (lossless sources only; JPEG destroys thin text chroma).
    Clusters without enough evidence are left out rather than guessed; ``confidence``
    grows with the evidence (text colours top out at 0.8).

Units and limits
    ``share`` is a fraction of measured pixels (after subsampling); ``pixels`` is the
    cluster's size in input-image pixels (measured x stride^2); ``boxes`` are
    ``[x, y, w, h]`` in input-image pixels. Colours are sRGB, alpha is always 1. Colours
    seen through translucent layers are reported as seen. Text rendered with subpixel
    (LCD) anti-aliasing, very thin or tiny text (< ~80 exact pixels) and text in JPEGs
    are usually missed. Photos contribute only genuinely flat areas. At most
    ``MAX_TOKENS`` tokens. Typical cost: ~80-120 ms for 1440x900 on one core, ~170 ms
    when a large photo adds ~400k distinct colours.

Pure and deterministic: no I/O, same input, same output (ties broken by colour value).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stylestream.extractors import ExtractContext
from stylestream.schemas.tokens import EXTENSION_KEY, ColorToken, ColorValue, Evidence

#: images larger than this are subsampled by striding before measuring
MAX_PIXELS = 4_000_000
#: an image of unknown format with more small speckle than this is treated as lossy
NOISY = 0.008
#: OKLab merge radius for lossless sources (Tailwind gray-50 vs gray-100 is ~0.018)
MERGE_LOSSLESS = 0.010
#: OKLab merge radius for lossy (JPEG, lossy WebP) sources
MERGE_LOSSY = 0.032
#: lossy sources: a core pixel differs from its 4 neighbours by at most this many levels
FLAT_LOSSY = 6
#: lossy sources: colours this close (OKLab) to a seed count as the seed for purity
PURE_LOSSY = 0.012
#: least share of a cluster's pixels at its seed colour for it to be a flat colour
MIN_PURITY = 0.5
#: lossy sources: noise spreads even a flat area over neighbouring values
MIN_PURITY_LOSSY = 0.3
#: text colours: least exact pixels (count, and share of the image), least RGB contrast
#: to the background, and how many backgrounds to try
TEXT_MIN_PX = 60
TEXT_MIN_SHARE = 0.00006
TEXT_MIN_PURITY = 0.3
TEXT_MIN_CONTRAST = 60.0
TEXT_MAX_BASES = 8
#: most of a text colour's neighbours that may lie beyond it (then it is a blend)
TEXT_MAX_BEYOND = 0.02
#: most of a text colour's pixels that may lie on long straight runs
TEXT_MAX_LINE = 0.4
#: shortest horizontal/vertical same-colour run that counts as a line (1-px borders)
LINE_MIN = 12
#: evidence needed to report a colour: solid-core pixels, or pixels on long lines
MIN_CORE = 20
MIN_LINE = 36
#: most seeds the clustering considers, and most tokens reported
MAX_SEEDS = 512
MAX_TOKENS = 48
#: tokens under this confidence are left out
MIN_CONFIDENCE = 0.5

_HUES = (
    (8.0, "pink"), (38.0, "red"), (60.0, "orange"), (78.0, "amber"), (105.0, "yellow"),
    (138.0, "lime"), (172.0, "green"), (200.0, "teal"), (225.0, "cyan"), (245.0, "sky"),
    (270.0, "blue"), (285.0, "indigo"), (300.0, "violet"), (315.0, "purple"),
    (335.0, "fuchsia"), (360.0, "pink"),
)
GRAY_CHROMA = 0.03


def extract(image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
    """Palette of ``image`` (RGB uint8, H x W x 3) as ``{"color": {"palette": {name: token}}}``.

    Tokens are sorted by pixel share, descending; names are ``<hue family>-<OKLab L x 100>``
    (``gray-97``, ``blue-55``), with the hex appended when two colours share a name.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    stride = _stride(image.shape[0] * image.shape[1])
    img = np.ascontiguousarray(image[::stride, ::stride]) if stride > 1 else image
    palette = {name: token for name, token in _palette(img, ctx, stride)}
    return {"color": {"palette": palette}}


# --- colour maths ----------------------------------------------------------------------

_LIN = np.where(
    np.arange(256) / 255.0 <= 0.04045,
    np.arange(256) / 255.0 / 12.92,
    ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4,
)
_M1 = np.array([
    [0.4122214708, 0.5363325363, 0.0514459929],
    [0.2119034982, 0.6806995451, 0.1073969566],
    [0.0883024619, 0.2817188376, 0.6299787005],
])
_M2 = np.array([
    [0.2104542553, 0.7936177850, -0.0040720468],
    [1.9779984951, -2.4285922050, 0.4505937099],
    [0.0259040371, 0.7827717662, -0.8086757660],
])


def srgb_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """OKLab (L in 0..1) of sRGB uint8 colours, shape (..., 3)."""
    lin = _LIN[rgb]
    # 3x3 products written out: BLAS dispatch for (n, 3) @ (3, 3) is slow and erratic
    r, g, b = lin[..., 0], lin[..., 1], lin[..., 2]
    lms = [np.cbrt(m[0] * r + m[1] * g + m[2] * b) for m in _M1]
    return np.stack([m[0] * lms[0] + m[1] * lms[1] + m[2] * lms[2] for m in _M2], axis=-1)


_D65 = np.array([0.95047, 1.0, 1.08883])
_RGB_XYZ = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])


def srgb_to_cielab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65, L in 0..100) of sRGB uint8 colours, shape (..., 3)."""
    xyz = (_LIN[np.asarray(rgb, np.uint8)] @ _RGB_XYZ.T) / _D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1) between CIELAB arrays (..., 3),
    broadcasting. ~1 is a just-noticeable difference; 5 reads as "a different colour"."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, np.float64), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar ** 7 / (c_bar ** 7 + 25.0 ** 7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl = L2 - L1
    dc = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar = (L1 + L2) / 2
    cp_bar = (c1p + c2p) / 2
    hsum = h1p + h2p
    h_bar = np.where(np.abs(h1p - h2p) > 180,
                     np.where(hsum < 360, hsum + 360, hsum - 360), hsum) / 2
    h_bar = np.where(c1p * c2p == 0, hsum, h_bar)
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    rc = 2 * np.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25.0 ** 7))
    sl = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    sc = 1 + 0.045 * cp_bar
    sh = 1 + 0.015 * cp_bar * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2
                   + rt * (dc / sc) * (dhh / sh))


def _unpack(codes: np.ndarray) -> np.ndarray:
    return np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=-1).astype(np.uint8)


# --- the measurement ---------------------------------------------------------------------

def _stride(pixels: int) -> int:
    return max(1, math.ceil(math.sqrt(pixels / MAX_PIXELS))) if pixels > MAX_PIXELS else 1


def _noise_level(img: np.ndarray) -> float:
    """Fraction of pixels that are a small local extremum (1..6 levels above or below
    both horizontal neighbours), on every 4th row.

    Block compression leaves speckle like that around every edge; a lossless render has
    it only where a gradient is dithered. About 0.0001-0.005 for lossless UI screenshots,
    0.015-0.07 for JPEG at quality 75-95, 0.005-0.02 for lossy WebP.
    """
    g = img[::4].astype(np.int16)
    a = g[:, 1:-1] - g[:, :-2]
    b = g[:, 1:-1] - g[:, 2:]
    ext = (a * b > 0) & (np.abs(a) <= 6) & (np.abs(b) <= 6)
    return float(ext.any(axis=2).mean())


def _is_lossy(img: np.ndarray, source_format: str) -> bool:
    """Trust the container when it decides (PNG is lossless, JPEG lossy); measure otherwise
    (WebP can be either, and callers may not say)."""
    fmt = source_format.lower()
    if fmt in ("jpeg", "jpg"):
        return True
    if fmt == "png":
        return False
    return _noise_level(img) > NOISY


def _palette(img: np.ndarray, ctx: ExtractContext, stride: int):
    h, w, _ = img.shape
    n = h * w
    codes = (img[..., 0].astype(np.int32) << 16) | (img[..., 1].astype(np.int32) << 8) | img[..., 2]
    flat = codes.ravel()
    srt = np.sort(flat)
    starts = np.flatnonzero(np.r_[True, srt[1:] != srt[:-1]])
    uniq = srt[starts]
    counts = np.diff(np.r_[starts, n])

    lossy = _is_lossy(img, ctx.source_format)
    radius = MERGE_LOSSY if lossy else MERGE_LOSSLESS

    # --- greedy clustering, seeds by frequency (ties: lower colour code first) ---
    order = np.lexsort((uniq, -counts))
    lab = srgb_to_oklab(_unpack(uniq))
    assigned = np.full(len(uniq), -1, np.int32)
    # a colour too rare to show MIN_CORE solid pixels cannot seed a cluster
    min_seed = MIN_CORE // 2 if lossy else MIN_CORE
    seeds: list[int] = []
    free = np.arange(len(uniq))
    fl, fa, fb = (np.ascontiguousarray(lab[:, i]) for i in range(3))
    r2 = radius * radius
    for idx in order[: MAX_SEEDS * 8]:
        if counts[idx] < min_seed or len(seeds) >= MAX_SEEDS:
            break
        if assigned[idx] >= 0:
            continue
        l0, a0, b0 = lab[idx]
        near = (fl - l0) ** 2 + (fa - a0) ** 2 + (fb - b0) ** 2 <= r2
        assigned[free[near]] = len(seeds)
        seeds.append(int(idx))
        if near.sum() > 64:  # compact the free list once it is worth it
            keep_free = ~near
            free, fl, fa, fb = free[keep_free], fl[keep_free], fa[keep_free], fb[keep_free]
        else:
            fl[near] = np.inf  # never near again
    k = len(seeds)
    if k == 0:
        return []
    seed_lab = lab[seeds]
    seed_codes = uniq[seeds]

    labels = _label_image(codes, uniq, assigned)  # (h, w), -1 = colour in no cluster
    pixels = np.bincount(labels.ravel() + 1, minlength=k + 1)[1:]
    # purity: share of a cluster's pixels at (lossless) or within noise of (lossy) its
    # seed colour. Flat UI colours are pure; gradient bands and photos are not.
    d_seed = np.sqrt(((lab - seed_lab[np.maximum(assigned, 0)]) ** 2).sum(axis=1))
    at_seed = (assigned >= 0) & (d_seed <= (PURE_LOSSY if lossy else 1e-9))
    purity = np.bincount(assigned[at_seed], weights=counts[at_seed], minlength=k)[:k] / np.maximum(pixels, 1)

    # --- spatial evidence ---
    core = _core_mask(labels)
    if lossy:
        # compression smears edges into small same-cluster blobs; a solid area is also
        # flat pixel to pixel
        core &= _flat_mask(img, FLAT_LOSSY)
    core_px = np.bincount(labels[1:-1, 1:-1][core], minlength=k)[:k] if core.any() else np.zeros(k, np.int64)
    # line evidence decides for clusters without a solid core, and vetoes text colours
    need = (core_px < MIN_CORE) | (purity < MIN_PURITY)
    line_px, line_blend, runs = _line_evidence(img, labels, need, lossy)
    pairs = _boundary_pairs(labels)
    adj = _adjacency(labels, pairs, k)
    thin = _gradient_steps(adj, seed_lab, pixels, radius)
    # solid areas are mostly core; edge blends (and JPEG's smeared ones) are mostly rim
    rim = core_px < 0.5 * pixels
    blend = _blends(adj, _unpack(seed_codes), rim, 12.0 if lossy else 4.0, lossy, core_px)
    thin |= blend

    good_line = np.maximum(line_px - line_blend, 0)
    core_ok = (core_px >= MIN_CORE) & ~thin
    line_ok = (good_line >= MIN_LINE) & (line_blend <= line_px * 0.5) & ~thin
    keep = (core_ok | line_ok) & (purity >= (MIN_PURITY_LOSSY if lossy else MIN_PURITY))
    conf_core = 0.5 + 0.25 * np.log10(np.maximum(core_px, 1) / MIN_CORE)
    conf_line = 0.5 + 0.25 * np.log10(np.maximum(good_line, 1) / MIN_LINE)
    conf = np.where(core_ok, conf_core, 0.0)
    conf = np.maximum(conf, np.where(line_ok, conf_line, 0.0))
    conf = np.clip(conf, 0.0, 1.0)
    keep &= conf >= MIN_CONFIDENCE

    if not lossy:
        text, text_conf = _text_colours(img, codes, labels, pairs, uniq, counts, assigned,
                                        np.asarray(seeds), keep, purity, core_px)
        # glyphs are short strokes; a colour mostly in long straight runs is a rule or
        # the edge of a shadow, which the line evidence above has already judged
        text &= line_px <= TEXT_MAX_LINE * pixels
        keep |= text
        conf = np.where(text, np.maximum(conf, text_conf), conf)

    kept = np.flatnonzero(keep)
    kept = kept[np.lexsort((seed_codes[kept], -pixels[kept]))][:MAX_TOKENS]
    if len(kept) == 0:
        return []
    boxes = _example_boxes(labels, core, kept, runs, stride)

    out = []
    names: dict[str, int] = {}
    rgb = _unpack(seed_codes)
    for c in kept:
        name = _name(seed_lab[c])
        names[name] = names.get(name, 0) + 1
    seen: set[str] = set()
    for c in kept:
        r, g, b = (int(v) for v in rgb[c])
        hexv = f"#{r:02x}{g:02x}{b:02x}"
        name = _name(seed_lab[c])
        if names[name] > 1 or name in seen:
            name = f"{name}-{hexv[1:]}"
        seen.add(name)
        token = ColorToken(
            value=ColorValue(
                colorSpace="srgb",
                components=(round(r / 255, 4), round(g / 255, 4), round(b / 255, 4)),
                alpha=1.0,
                hex=hexv,
            ),
            extensions={EXTENSION_KEY: Evidence(
                confidence=round(float(conf[c]), 3),
                share=round(float(pixels[c]) / n, 6),
                pixels=int(pixels[c]) * stride * stride,
                boxes=boxes.get(int(c)) or None,
            )},
        )
        out.append((name, token))
    return out


def _text_colours(img, codes, labels, pairs, uniq, counts, assigned, seeds, keep, purity, core_px):
    """Colours of anti-aliased text: thin glyph strokes have no solid core, but the text
    colour is the far end of a ramp of edge blends towards the background behind it.

    A candidate T (an exact colour with enough pixels) is text on an accepted background
    B when many distinct colours lie on the sRGB segment B-T (the blends) and, where T's
    pixels touch other colours, those lie between B and T: never much beyond T (then T
    is itself the blend of a darker text) nor on the far side of B (then T is a ring of
    a shadow or an edge between two surfaces).
    Returns (mask over clusters, confidence per cluster).
    """
    k = len(seeds)
    n = labels.size
    found = np.zeros(k, bool)
    conf = np.zeros(k)
    seed_count = counts[seeds]
    # near-solid AA pixels join the text colour's cluster, so purity is lower than for
    # a flat area; the ramp and neighbour tests below are what reject gradients
    cand = np.flatnonzero(~keep & (purity >= TEXT_MIN_PURITY)
                          & (seed_count >= max(TEXT_MIN_PX, TEXT_MIN_SHARE * n)))
    bases = np.flatnonzero(keep & (core_px >= 5 * MIN_CORE))
    if len(cand) == 0 or len(bases) == 0:
        return found, conf
    pixels = np.bincount(labels.ravel() + 1, minlength=k + 1)[1:]
    bases = bases[np.argsort(-pixels[bases], kind="stable")][:TEXT_MAX_BASES]
    seed_rgb = _unpack(uniq[seeds]).astype(np.float64)
    # the blends: colours in no accepted cluster
    pool = (counts >= 2) & ~np.r_[keep, False][assigned]
    pool_rgb = _unpack(uniq[pool]).astype(np.float64)
    pool_n = counts[pool].astype(np.float64)
    base_of = np.full(k, -1)
    for c in cand:
        best, best_nb = -1, 0.0
        for b in bases:
            d = seed_rgb[c] - seed_rgb[b]
            length = float(np.sqrt(d @ d))
            if length < TEXT_MIN_CONTRAST:
                continue
            rel = pool_rgb - seed_rgb[b]
            t = (rel[:, 0] * d[0] + rel[:, 1] * d[1] + rel[:, 2] * d[2]) / (length * length)
            resid = np.abs(rel - t[:, None] * d[None, :]).max(axis=1)
            between = (t > 0.08) & (t < 0.92) & (resid <= 3.0 + 0.02 * length)
            nb = float(pool_n[between].sum())
            if np.count_nonzero(between) >= 5 and nb > best_nb:
                best, best_nb = int(b), nb
        if best >= 0 and best_nb >= 0.3 * seed_count[c]:
            base_of[c] = best
    tested = np.flatnonzero(base_of >= 0)
    if len(tested) == 0:
        return found, conf
    # where the candidates' pixels touch other clusters, what is on the other side?
    is_cand = np.zeros(k + 1, bool)
    is_cand[tested] = True
    beyond = np.zeros(k)
    opposite = np.zeros(k)
    touches = np.zeros(k)
    flat = labels.ravel()
    rgb_flat = img.reshape(-1, 3).astype(np.float64)
    codes_flat = codes.ravel()
    seed_code = np.r_[uniq[seeds], -1]
    p0, q0 = pairs
    for p, q in ((p0, q0), (q0, p0)):
        l_p = flat[p]
        # only the candidate's exact pixels: its cluster also holds near blends of
        # other, darker text, whose neighbours say nothing about the candidate
        m = is_cand[l_p] & (codes_flat[p] == seed_code[l_p])
        t_lbl = l_p[m]
        tb = seed_rgb[base_of[t_lbl]]
        d = seed_rgb[t_lbl] - tb
        length = np.maximum(np.sqrt((d * d).sum(axis=1)), 1e-9)
        # position on the ramp: 1 at the candidate, 0 at the background
        t1 = ((rgb_flat[q[m]] - tb) * d).sum(axis=1) / (length * length)
        touches += np.bincount(t_lbl, minlength=k)[:k]
        beyond += np.bincount(t_lbl, weights=t1 > 1 + 3.0 / length, minlength=k)[:k]
        opposite += np.bincount(t_lbl, weights=t1 < -0.15 - 3.0 / length, minlength=k)[:k]
    ok = np.zeros(k, bool)
    ok[tested] = True
    ok &= (beyond <= TEXT_MAX_BEYOND * touches) & (opposite <= 0.25 * touches) & (touches > 0)
    conf = np.where(ok, np.clip(0.5 + 0.15 * np.log10(np.maximum(seed_count, 1) / TEXT_MIN_PX), 0.5, 0.8), 0.0)
    return ok, conf


def _label_image(codes: np.ndarray, uniq: np.ndarray, assigned: np.ndarray) -> np.ndarray:
    """Cluster of every pixel, through a 2**24-entry lookup table (only the pages of it
    that colours touch are ever written; faster than a binary search even for 300k)."""
    lut = np.empty(1 << 24, np.int32)
    lut[uniq] = assigned
    return lut[codes]


def _flat_mask(img: np.ndarray, tol: int) -> np.ndarray:
    """(h-2, w-2) mask of pixels within ``tol`` levels of their 4 neighbours."""
    import cv2

    c = np.ascontiguousarray(img[1:-1, 1:-1])
    worst = np.zeros(c.shape, np.uint8)
    for nb in (img[:-2, 1:-1], img[2:, 1:-1], img[1:-1, :-2], img[1:-1, 2:]):
        np.maximum(worst, cv2.absdiff(np.ascontiguousarray(nb), c), out=worst)
    return np.maximum(np.maximum(worst[..., 0], worst[..., 1]), worst[..., 2]) <= tol


def _core_mask(labels: np.ndarray) -> np.ndarray:
    """(h-2, w-2) mask of pixels whose 8 neighbours share their (valid) label."""
    c = labels[1:-1, 1:-1]
    m = c >= 0
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            m &= labels[dy:dy + c.shape[0], dx:dx + c.shape[1]] == c
    return m


def _runs(labels: np.ndarray):
    """Same-label runs along rows: (row, start, length, label) arrays."""
    h, w = labels.shape
    change = np.ones((h, w), bool)
    change[:, 1:] = labels[:, 1:] != labels[:, :-1]
    rows, cols = np.nonzero(change)
    flat_start = rows * w + cols
    lengths = np.diff(np.r_[flat_start, h * w])
    # runs never cross rows because column 0 always starts a run
    return rows, cols, lengths, labels[rows, cols]


def _line_evidence(img: np.ndarray, labels: np.ndarray, need: np.ndarray, lossy: bool):
    """Pixels on long runs per cluster, and how many of them look like edge blends.

    A run pixel is a blend when its colour lies on the segment between its two
    neighbours across the run (above/below for a horizontal run): that is what an
    anti-aliased edge at a fractional position, or a gradient step, looks like.
    """
    tol = 10.0 if lossy else 2.5
    k = len(need)
    need1 = np.r_[need, False]  # label -1 indexes the trailing False
    line_px = np.zeros(k, np.int64)
    blend_px = np.zeros(k, np.int64)
    example: dict[int, tuple[int, int, int, int]] = {}
    for transpose in (False, True):
        lab_ = labels.T if transpose else labels
        rows, cols, lengths, lbl = _runs(lab_)
        sel = (lengths >= LINE_MIN) & need1[lbl] & (rows > 0) & (rows < lab_.shape[0] - 1)
        if not sel.any():
            continue
        rows, cols, lengths, lbl = rows[sel], cols[sel], lengths[sel], lbl[sel]
        # only runs whose neighbours across are not the same cluster along the whole run
        # matter for blending; sample each run's pixels (up to 32 evenly spaced)
        samples = np.minimum(lengths, 32)
        rid = np.repeat(np.arange(len(rows)), samples)
        offs = np.arange(samples.sum()) - np.repeat(np.cumsum(samples) - samples, samples)
        pos = cols[rid] + (offs * lengths[rid]) // samples[rid]
        r = rows[rid]
        if transpose:
            c, a, b = img[pos, r], img[pos, r - 1], img[pos, r + 1]
        else:
            c, a, b = img[r, pos], img[r - 1, pos], img[r + 1, pos]
        c, a, b = (v.astype(np.float32) for v in (c, a, b))
        ab = a - b
        denom = (ab * ab).sum(axis=1)
        t = ((c - b) * ab).sum(axis=1) / np.maximum(denom, 1e-6)
        resid = np.abs(c - (b + t[:, None] * ab)).max(axis=1)
        # strictly between: at least 2 levels from either side (near-solid AA pixels of a
        # glyph stem are 98 % text colour, and still not a colour of their own)
        span = np.sqrt(denom)
        is_blend = ((denom > 4 * tol * tol) & (t * span >= 2.0) & ((1 - t) * span >= 2.0)
                    & (resid <= tol))
        if lossy:
            is_blend |= _fringe(c, a) | _fringe(c, b)
        else:
            # the edge of a soft shadow: on one side the colour keeps fading for another
            # pixel (a 1-px border is followed by a flat surface instead)
            n_rows = lab_.shape[0]
            r2a, r2b = np.maximum(r - 2, 0), np.minimum(r + 2, n_rows - 1)
            if transpose:
                a2, b2 = img[pos, r2a], img[pos, r2b]
            else:
                a2, b2 = img[r2a, pos], img[r2b, pos]
            a2, b2 = a2.astype(np.float32), b2.astype(np.float32)
            is_blend |= _fading(c, a, a2) & (r >= 2)
            is_blend |= _fading(c, b, b2) & (r < n_rows - 2)
        frac = np.bincount(rid, weights=is_blend, minlength=len(rows)) / samples
        line_px += np.bincount(lbl, weights=lengths, minlength=k)[:k].astype(np.int64)
        blend_px += np.bincount(lbl, weights=lengths * frac, minlength=k)[:k].astype(np.int64)
        # the longest non-blend run of each cluster is an example box
        good = frac < 0.5
        if good.any():
            o = np.lexsort((cols[good], rows[good], -lengths[good]))
            gl, gr, gc, gn = lbl[good][o], rows[good][o], cols[good][o], lengths[good][o]
            first = np.unique(gl, return_index=True)[1]
            for i in first:
                box = (int(gc[i]), int(gr[i]), int(gn[i]), 1)
                if transpose:
                    box = (box[1], box[0], 1, box[2])
                prev = example.get(int(gl[i]))
                if prev is None or max(box[2], box[3]) > max(prev[2], prev[3]):
                    example[int(gl[i])] = box
    return line_px, blend_px, example


def _fading(c: np.ndarray, n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Whether ``c -> n1 -> n2`` (three pixels in a row) is a ramp still on its way:
    ``n1`` strictly between ``c`` and ``n2`` on their sRGB segment. (m, 3) float -> (m,)."""
    d = n2 - c
    den = (d * d).sum(axis=1)
    t = ((n1 - c) * d).sum(axis=1) / np.maximum(den, 1e-6)
    resid = np.abs(n1 - (c + t[:, None] * d)).max(axis=1)
    span = np.sqrt(den)
    return (span >= 6.0) & (t * span >= 2.0) & ((1 - t) * span >= 2.0) & (resid <= 3.0 + 0.1 * span)


def _boundary_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (p, q) of 4-neighbour pixel pairs whose labels differ (q right of or
    below p). Edges are a few per cent of a UI screenshot, so later steps stay small."""
    h, w = labels.shape
    flat = labels.ravel()
    hp = np.flatnonzero((labels[:, 1:] != labels[:, :-1]).ravel())
    hp = hp + hp // (w - 1)  # index in the (h, w - 1) view -> index in the image
    vp = np.flatnonzero(flat[w:] != flat[:-w])
    p = np.concatenate([hp, vp])
    q = np.concatenate([hp + 1, vp + w])
    return p, q


def _adjacency(labels: np.ndarray, pairs, k: int) -> np.ndarray:
    """(k, k) counts of 4-neighbour pixel contacts between different clusters (symmetric)."""
    flat = labels.ravel()
    la, lb = flat[pairs[0]].astype(np.int64), flat[pairs[1]].astype(np.int64)
    m = (la >= 0) & (lb >= 0)
    la, lb = la[m], lb[m]
    adj = np.bincount(la * k + lb, minlength=k * k) + np.bincount(lb * k + la, minlength=k * k)
    return adj.reshape(k, k).astype(np.float64)


def _gradient_steps(adj: np.ndarray, seed_lab: np.ndarray, pixels: np.ndarray,
                    radius: float) -> np.ndarray:
    """Clusters that are thin bands *between* near-identical colours (gradients, shadows).

    A gradient step touches a slightly lighter band on one side and a slightly darker one
    on the other; a 1-px border touches similar colours too, but on one side of it in
    colour space. So: mostly soft contacts, thin, and the soft neighbours' directions
    in OKLab cancel out.
    """
    diff = seed_lab[None, :, :] - seed_lab[:, None, :]  # [i, j] = lab_j - lab_i
    dist = np.sqrt((diff ** 2).sum(axis=2))
    near = (dist < 3.0 * radius) & (dist > 0)
    soft_w = np.where(near, adj, 0.0)
    soft = soft_w.sum(axis=1)
    total = adj.sum(axis=1)
    unit = diff / np.maximum(dist, 1e-9)[:, :, None]
    pull = np.sqrt(((soft_w[:, :, None] * unit).sum(axis=1) ** 2).sum(axis=1))
    balance = pull / np.maximum(soft, 1e-9)
    # a band of width w touches its neighbours along ~2 * area / w pixel edges
    band_width = 2.0 * pixels / np.maximum(soft, 1)
    return (soft > 0.6 * total) & (band_width < 8.0) & (soft >= 2 * LINE_MIN) & (balance < 0.5)


def _blends(adj: np.ndarray, rgb: np.ndarray, candidates: np.ndarray, tol: float,
            lossy: bool, strength: np.ndarray) -> np.ndarray:
    """Which candidate clusters are a mix of two clusters they touch (anti-aliased edges).

    Edge pixels between colours A and B take colours on the sRGB segment A-B; JPEG
    smears them into small blobs that can look solid. A colour counts as a blend when it
    lies on the segment between two of its main neighbours (each at least 10 % of its
    contacts), distinct from both ends. For lossy sources also when it is a chroma fringe of
    a neighbour (see ``_fringe``).
    """
    out = np.zeros(len(rgb), bool)
    col = rgb.astype(np.float64)
    for c in np.flatnonzero(candidates):
        row = adj[c]
        total = row.sum()
        if total <= 0:
            continue
        nb = np.flatnonzero(row >= 0.1 * total)
        nb = nb[np.argsort(-row[nb], kind="stable")][:6]
        if len(nb) < 2:
            continue
        a = col[nb][:, None, :]
        b = col[nb][None, :, :]
        ab = a - b
        den = (ab ** 2).sum(axis=2)
        t = ((col[c] - b) * ab).sum(axis=2) / np.maximum(den, 1e-9)
        resid = np.abs(col[c] - (b + t[..., None] * ab)).max(axis=2)
        span = np.sqrt(den)
        hit = ((den > (4 * tol) ** 2) & (t * span >= 2.0) & ((1 - t) * span >= 2.0)
               & (resid <= tol))
        if lossy:
            # only a fringe of a clearly more solid neighbour (the relation is symmetric)
            strong = strength[nb] > 4 * strength[c]
            hit |= (_fringe(col[c][None, :], col[nb]) & strong)[:, None]
        out[c] = bool(hit.any())
    return out


_YCC = np.array([
    [0.299, 0.587, 0.114],
    [-0.168736, -0.331264, 0.5],
    [0.5, -0.418688, -0.081312],
])


def _fringe(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    """JPEG chroma subsampling keeps luma sharp but spreads colour over 2 px: the pixels
    along an edge get their neighbour's luma with a different chroma. ``c``, ``n``:
    (m, 3) float RGB -> (m,) bool."""
    yc = np.stack([c[..., 0] * m[0] + c[..., 1] * m[1] + c[..., 2] * m[2] for m in _YCC], axis=-1)
    yn = np.stack([n[..., 0] * m[0] + n[..., 1] * m[1] + n[..., 2] * m[2] for m in _YCC], axis=-1)
    dy = np.abs(yc[..., 0] - yn[..., 0])
    dc = np.hypot(yc[..., 1] - yn[..., 1], yc[..., 2] - yn[..., 2])
    return (dy <= 8.0) & (dc >= 4.0)


def _example_boxes(labels, core, kept, runs, stride):
    """Up to three boxes [x, y, w, h] per kept cluster: its largest solid areas."""
    import cv2

    boxes: dict[int, list[tuple[int, int, int, int]]] = {}
    n, comp, stats, _ = cv2.connectedComponentsWithStats(core.view(np.uint8), connectivity=4)
    if n > 1:
        comp_label = np.full(n, -1, np.int64)
        comp_label[comp[core]] = labels[1:-1, 1:-1][core]
        ids = np.arange(1, n)
        area = stats[1:, cv2.CC_STAT_AREA]
        lbl = comp_label[1:]
        o = np.lexsort((stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP], -area, lbl))
        kept_set = set(int(c) for c in kept)
        for i in o:
            c = int(lbl[i])
            if c not in kept_set:
                continue
            lst = boxes.setdefault(c, [])
            if len(lst) >= 3:
                continue
            j = ids[i]
            x, y, w_, h_ = (int(v) for v in stats[j, :4])
            # core pixels sit one pixel inside the area; the core image is offset by 1
            lst.append((x * stride, y * stride, (w_ + 2) * stride, (h_ + 2) * stride))
    for c in kept:
        c = int(c)
        if c not in boxes and c in runs:
            x, y, w_, h_ = runs[c]
            boxes[c] = [(x * stride, y * stride, w_ * stride, h_ * stride)]
    return boxes


def _name(lab: np.ndarray) -> str:
    light, a, b = (float(v) for v in lab)
    chroma = math.hypot(a, b)
    lnum = int(round(min(max(light, 0.0), 1.0) * 100))
    if chroma < GRAY_CHROMA:
        return f"gray-{lnum}"
    hue = math.degrees(math.atan2(b, a)) % 360.0
    for limit, family in _HUES:
        if hue < limit:
            return f"{family}-{lnum}"
    return f"pink-{lnum}"
