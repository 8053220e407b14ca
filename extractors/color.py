"""Colour palette, colour roles, light/dark scheme and text contrast of a UI screenshot.

What it measures
    The distinct colours a screenshot is painted with (backgrounds, surfaces, borders,
    accents, text) and, for each, its *pixel share*: the fraction of the measured pixels
    whose colour lies within the merge radius of the token's colour (``color.palette``).
    Then the *role* of palette colours, from where they are used (``color.<role>``):
    ``background``, ``surface`` (``surface-2``, ``-3``), ``primary``, ``text-on-primary``,
    ``text-primary`` / ``-secondary`` / ``-tertiary``, ``border``, ``accent`` (``accent-2``)
    and the status colours ``success``, ``warning``, ``danger``, ``info``; the scheme
    (light/dark) and the WCAG 2.x contrast of every text-on-background pair seen (group
    ``$extensions``).

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
       (horizontal or vertical runs of at least ``LINE_MIN`` CSS px, so 1-px borders count). Run
       pixels that mix the colours on either side (an anti-aliased or fractional edge) or
       that keep fading on one side (a soft shadow's edge) do not count. Clusters that
       are mostly not their seed colour (gradient bands, photos), thin bands between
       near-identical colours, and blends of two neighbouring colours are dropped.
    5. Text: glyph strokes have no solid core, but a text colour is the far end of a
       ramp of edge blends towards its background; a candidate is accepted when many
       distinct colours lie between it and an accepted background and its own pixels
       touch nothing beyond it (lossless sources only; JPEG destroys thin text chroma).
       Renderers that boost text contrast leave a few pixels beyond it: up to
       ``TEXT_MAX_BEYOND_CONFIRMED`` of them are allowed when at least two text lines
       (``text.find_text_lines``) have it as their ink.
    Clusters without enough evidence are left out rather than guessed; ``confidence``
    grows with the evidence (text colours top out at 0.8).
    6. Roles, from element boxes (``layout.find_boxes``) and text lines (both found at
       about 1x: a 2x/3x screenshot is subsampled by its device scale first), each box
       fill, border, line ink and ground mapped onto the palette:
       - background: the most common colour, unless that is mostly floating cards on
         another colour (then that one), or saturated beside a large neutral area;
         ``scheme`` is dark when its OKLab lightness is under 0.5;
       - surfaces: fills of large boxes (>= 40 CSS px a side) that are neutral (or of
         the background's tint) and near the background's lightness, by nesting level;
       - primary: saturated fills of button-sized boxes (20-72 CSS px tall, wider than
         1.6 x tall) with a label, saturated text on the page (links); red, amber and
         green count less (they are usually status); text-on-primary: ink on it;
       - text-primary: the highest-contrast neutral ink with >= 12 % of the text ink on
         the background and surfaces; secondary, tertiary: lower-contrast inks with
         >= 4 %, in contrast order;
       - border: the neutral colour with the most outline length (box borders, dividers);
       - success / warning / danger / info: saturated colours (OKLab chroma >= 0.09) of
         the green / orange-yellow / red / cyan-blue hue families that fill or outline a
         box, colour text or cover a flat area; info never shares the primary's hue;
       - accent(s): other saturated hues with at least two such uses, away from the
         primary's hue (>= 25 degrees).
       A role token has its palette entry's colour and names it in ``ref``; roles
       without evidence are left out, never guessed.

Units and limits
    ``share`` is a fraction of measured pixels (after subsampling); ``pixels`` is the
    cluster's size in input-image pixels (measured x stride^2); ``boxes`` are
    ``[x, y, w, h]`` in input-image pixels. Colours are sRGB, alpha is always 1. Colours
    seen through translucent layers are reported as seen. Text rendered with subpixel
    (LCD) anti-aliasing, very thin or tiny text (< ~80 exact pixels) and text in JPEGs
    are usually missed. Photos contribute only genuinely flat areas. At most
    ``MAX_TOKENS`` tokens. Role sizes are CSS px (image px / ``ctx.scale``); role
    ``boxes`` are image px, ``count`` the uses seen (boxes, lines), ``contrast`` the WCAG
    ratio of a text role on the background it mostly sits on. Roles need their colour in
    the palette: on JPEGs text roles are mostly absent, and a surface within the lossy
    merge radius of the background merges with it. An undetected device scale (a 2x
    screenshot without hairlines, not told) doubles sizes: buttons can be missed.
    The status hue families are conventions: an orange brand colour reads as warning.
    Typical cost on one core for 1440x900: palette and roles ~20-45 ms, plus the
    detectors it runs on a ~1x image: text lines ~10-35 ms, boxes ~15-35 ms.

Pure and deterministic: no I/O, same input, same output (ties broken by colour value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
#: the same, for a colour that text lines found by ``text.find_text_lines`` confirm as
#: their ink (at least ``TEXT_MIN_LINES`` of them)
TEXT_MAX_BEYOND_CONFIRMED = 0.08
TEXT_MIN_LINES = 2
#: where a text colour lies on the ray from a line's background through its measured
#: ink (1 = the ink itself; the solid core of glyph stems comes within a few per cent)
INK_RAY = (0.95, 1.12)
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
    """Colours of ``image`` (RGB uint8, H x W x 3) as ``{"color": {"palette": {name: token},
    <role>: token, ..., "$extensions": {EXTENSION_KEY: {"scheme": ..., "contrast": [...]}}}}``.

    Palette tokens are sorted by pixel share, descending; names are ``<hue family>-<OKLab
    L x 100>`` (``gray-97``, ``blue-55``), with the hex appended when two colours share a
    name. Role tokens follow in a fixed order (see the module doc); ``contrast`` lists
    ``{text, background, ratio, aa, aaa, aaLarge, lines[, role]}``, most lines first.
    Images under ``ROLE_MIN_SIDE`` px a side get the palette only.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    stride = _stride(image.shape[0] * image.shape[1])
    img = np.ascontiguousarray(image[::stride, ::stride]) if stride > 1 else image
    lossy = _is_lossy(img, ctx)
    det, step = _detector_image(image, ctx, stride)
    lines = _find_lines(det)
    tokens, entries = _palette(img, ctx, stride, lossy, lines)
    group: dict[str, Any] = {"palette": {name: token for name, token in tokens}}
    roles, info = _roles(det, step, ctx, entries, lossy, lines)
    group.update(roles)
    if info:
        group["$extensions"] = {EXTENSION_KEY: info}
    return {"color": group}


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


def _pack(img: np.ndarray) -> np.ndarray:
    """RGB uint8 (h, w, 3) -> packed 0xRRGGBB int32 (h, w): OpenCV's BGRA bytes read as
    little-endian int32, with the alpha byte cleared."""
    import cv2

    if img.shape[0] == 0 or img.shape[1] == 0:
        return np.zeros(img.shape[:2], np.int32)
    v = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGRA).view("<i4")[..., 0]
    v &= 0xFFFFFF
    return v.astype(np.int32, copy=False)


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


def _is_lossy(img: np.ndarray, ctx: ExtractContext) -> bool:
    """Trust the container when it decides (``ctx.lossy``); measure the pixels otherwise."""
    return ctx.lossy if ctx.lossy is not None else _noise_level(img) > NOISY


def _palette(img: np.ndarray, ctx: ExtractContext, stride: int, lossy: bool, lines=()):
    h, w, _ = img.shape
    n = h * w
    codes = _pack(img)
    uniq, counts, run_label = _count_colours(codes.ravel())

    radius = MERGE_LOSSY if lossy else MERGE_LOSSLESS

    # --- greedy clustering, seeds by frequency (ties: lower colour code first) ---
    order = np.lexsort((uniq, -counts))
    lab = srgb_to_oklab(_unpack(uniq))
    assigned = np.full(len(uniq), -1, np.int32)
    # a colour too rare to show MIN_CORE solid pixels cannot seed a cluster
    min_seed = MIN_CORE // 2 if lossy else MIN_CORE
    seeds: list[int] = []
    free = np.arange(len(uniq))
    # copies: the loop marks taken colours in fl, which must never write through to lab
    fl, fa, fb = (lab[:, i].copy() for i in range(3))
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
        return [], []
    seed_lab = lab[seeds]
    seed_codes = uniq[seeds]

    # -1 = colour in no cluster; int16 holds MAX_SEEDS clusters and halves later passes
    labels = run_label(assigned.astype(np.int16)).reshape(h, w)
    # pixels per cluster: the counts of its colours (whole numbers, exact as floats)
    inside = assigned >= 0
    pixels = np.bincount(assigned[inside], weights=counts[inside], minlength=k)[:k].astype(np.int64)
    # purity: share of a cluster's pixels at (lossless) or within noise of (lossy) its
    # seed colour. Flat UI colours are pure; gradient bands and photos are not.
    d_seed = np.sqrt(((lab - seed_lab[np.maximum(assigned, 0)]) ** 2).sum(axis=1))
    at_seed = (assigned >= 0) & (d_seed <= (PURE_LOSSY if lossy else 1e-9))
    purity = np.bincount(assigned[at_seed], weights=counts[at_seed], minlength=k)[:k] / np.maximum(pixels, 1)

    # --- spatial evidence ---
    core, pairs = _core_and_pairs(labels)
    if lossy:
        # compression smears edges into small same-cluster blobs; a solid area is also
        # flat pixel to pixel
        core &= _flat_mask(img, FLAT_LOSSY)
    # solid areas: the core's components, each within one cluster
    parts = _core_parts(labels, core)
    core_px = np.bincount(parts[2], weights=parts[1][1:, 4], minlength=k)[:k].astype(np.int64)
    # line evidence decides for clusters without a solid core, and vetoes text colours
    need = (core_px < MIN_CORE) | (purity < MIN_PURITY)
    # runs as long in CSS px at any device scale: at 2x the stems of body text are 20 px
    min_len = LINE_MIN * max(1, int(ctx.scale / stride + 0.25))
    line_px, line_blend, runs = _line_evidence(codes, labels, need, lossy, min_len)
    flat_labels = labels.ravel()
    pair_labels = flat_labels[pairs[0]], flat_labels[pairs[1]]
    adj = _adjacency(pair_labels, k)
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

    text = np.zeros(k, bool)
    if not lossy:
        text, text_conf = _text_colours(codes, pairs, pair_labels, uniq, counts, assigned,
                                        np.asarray(seeds), pixels, keep, purity, core_px, lines)
        # glyphs are short strokes; a colour mostly in long straight runs is a rule or
        # the edge of a shadow, which the line evidence above has already judged
        text &= line_px <= TEXT_MAX_LINE * pixels
        text &= ~keep
        keep |= text
        conf = np.where(text, np.maximum(conf, text_conf), conf)

    kept = np.flatnonzero(keep)
    kept = kept[np.lexsort((seed_codes[kept], -pixels[kept]))][:MAX_TOKENS]
    if len(kept) == 0:
        return [], []
    boxes = _example_boxes(parts, kept, runs, stride)

    out = []
    entries: list[_Entry] = []
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
        entries.append(_Entry(
            name=name, hex=hexv, rgb=(r, g, b),
            lab=tuple(float(v) for v in seed_lab[c]),  # type: ignore[arg-type]
            share=float(pixels[c]) / n, confidence=float(conf[c]),
            line_share=float(min(line_px[c], pixels[c])) / max(float(pixels[c]), 1.0),
            boxes=boxes.get(int(c)) or [], text=bool(text[c]),
        ))
    return out, entries


def _text_colours(codes, pairs, pair_labels, uniq, counts, assigned, seeds, pixels, keep, purity,
                  core_px, lines=()):
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
    n = codes.size
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
    bases = bases[np.argsort(-pixels[bases], kind="stable")][:TEXT_MAX_BASES]
    seed_rgb = _unpack(uniq[seeds]).astype(np.float64)
    # the blends: colours in no accepted cluster
    pool = (counts >= 2) & ~np.r_[keep, False][assigned]
    pool_rgb = _unpack(uniq[pool]).astype(np.float64)
    pool_n = counts[pool].astype(np.float64)
    # sorted by red: a blend on the segment B-T lies in the segment's bounding box (grown
    # by the residual allowed), so a binary search on red leaves the colours worth
    # projecting; one candidate's bases at once, over the union of their red ranges (the
    # bounding box itself follows from the tests below, so a wider range finds the same
    # blends; the counts are whole numbers, so the sums are exact in any order)
    by_red = np.argsort(pool_rgb[:, 0], kind="stable")
    pr, pg, pb = (np.ascontiguousarray(pool_rgb[by_red, i]) for i in range(3))
    pool_n = pool_n[by_red]
    base_rgb = seed_rgb[bases]
    # each pool colour relative to each base (whole numbers), and per pool colour its
    # pixels and a 1 (ok @ weights: blend pixels and blend colours per base)
    rel3 = np.stack([pool[None, :] - base_rgb[:, i:i + 1] for i, pool in enumerate((pr, pg, pb))], axis=1)
    weights = np.stack([pool_n, np.ones(len(pool_n))], axis=1)
    base_of = np.full(k, -1)
    for c in cand:
        d = seed_rgb[c] - base_rgb                    # (bases, 3), whole numbers
        length = np.sqrt((d * d).sum(axis=1))
        use = length >= TEXT_MIN_CONTRAST
        if not use.any():
            continue
        rows = slice(None) if use.all() else np.flatnonzero(use)
        d, length, bb = d[rows], length[rows], base_rgb[rows]
        tol = 3.0 + 0.02 * length
        lo = np.minimum(seed_rgb[c, 0], bb[:, 0]) - (tol + 1e-6)
        hi = np.maximum(seed_rgb[c, 0], bb[:, 0]) + (tol + 1e-6)
        i0, i1 = np.searchsorted(pr, (lo.min(), hi.max()))
        r = rel3[rows, :, i0:i1]
        t = np.matmul(d[:, None, :], r)[:, 0, :]
        t /= (length * length)[:, None]
        # on the segment's inner part, off it by at most tol in every channel
        ok = (t > 0.08) & (t < 0.92)
        e = t[:, None, :] * d[:, :, None]
        np.subtract(r, e, out=e)
        np.abs(e, out=e)
        ok &= e.max(axis=1) <= tol[:, None]
        nb, n_between = (ok @ weights[i0:i1]).T
        nb = np.where(n_between >= 5, nb, 0.0)
        j = int(np.argmax(nb))  # the first base with the most blend pixels
        if nb[j] > 0 and nb[j] >= 0.3 * seed_count[c]:
            base_of[c] = bases[np.flatnonzero(use)[j]]
    tested = np.flatnonzero(base_of >= 0)
    if len(tested) == 0:
        return found, conf
    # where the candidates' pixels touch other clusters, what is on the other side?
    is_cand = np.zeros(k + 1, bool)
    is_cand[tested] = True
    codes_flat = codes.ravel()
    seed_code = np.r_[uniq[seeds], -1]
    p0, q0 = pairs
    la, lb = pair_labels
    # both directions of each pair: the candidate's pixel p, its neighbour q
    s1, s2 = np.flatnonzero(is_cand[la]), np.flatnonzero(is_cand[lb])
    p = np.concatenate([p0[s1], q0[s2]])
    q = np.concatenate([q0[s1], p0[s2]])
    t_lbl = np.concatenate([la[s1], lb[s2]])
    # only the candidate's exact pixels: its cluster also holds near blends of
    # other, darker text, whose neighbours say nothing about the candidate
    exact = codes_flat[p] == seed_code[t_lbl]
    q, t_lbl = q[exact], t_lbl[exact]
    # position on the ramp (1 at the candidate, 0 at the background): the dot product is
    # a whole number, exact in int32, then divided by the squared length per cluster
    tb = seed_rgb[np.maximum(base_of, 0)]
    d = seed_rgb - tb
    length = np.maximum(np.sqrt((d * d).sum(axis=1)), 1e-9)
    di = d.astype(np.int32)
    off = (tb.astype(np.int32) * di).sum(axis=1)
    v = codes_flat[q]
    dot = ((v >> 16) * di[t_lbl, 0] + ((v >> 8) & 255) * di[t_lbl, 1] + (v & 255) * di[t_lbl, 2]
           - off[t_lbl])
    t1 = dot / (length * length)[t_lbl]
    touches = np.bincount(t_lbl, minlength=k)[:k].astype(np.float64)
    beyond = np.bincount(t_lbl[t1 > (1 + 3.0 / length)[t_lbl]], minlength=k)[:k].astype(np.float64)
    opposite = np.bincount(t_lbl[t1 < (-0.15 - 3.0 / length)[t_lbl]], minlength=k)[:k].astype(np.float64)
    ok = np.zeros(k, bool)
    ok[tested] = True
    ok &= (opposite <= 0.25 * touches) & (touches > 0)
    strict = ok & (beyond <= TEXT_MAX_BEYOND * touches)
    conf = np.where(strict, np.clip(0.5 + 0.15 * np.log10(np.maximum(seed_count, 1) / TEXT_MIN_PX),
                                    0.5, 0.8), 0.0)
    # renderers that boost text contrast leave a few pixels darker than the text colour:
    # a looser bound holds when found text lines confirm the colour as their ink
    loose = ok & ~strict & (beyond <= TEXT_MAX_BEYOND_CONFIRMED * touches)
    if loose.any() and lines:
        votes = _line_votes(lines, seed_rgb, strict | keep, loose)
        confirmed = loose & (votes >= TEXT_MIN_LINES)
        conf = np.where(confirmed, np.clip(0.45 + 0.05 * votes, 0.5, 0.7), conf)
        strict |= confirmed
    return strict, conf


def _line_votes(lines, seed_rgb: np.ndarray, strict: np.ndarray, loose: np.ndarray) -> np.ndarray:
    """How many text lines have each ``loose`` candidate cluster as their ink.

    A line's measured ink (its solid core) lies within a few per cent of its true colour
    on the ray from its background; the candidate must sit there, and a colour already
    accepted (solid, or text on stricter evidence: ``strict``) takes the line first (a
    blend of that colour can sit there too). All lines at once: (lines, candidates)
    planes per channel."""
    votes = np.zeros(len(seed_rgb), np.int64)
    idx = np.flatnonzero(strict | loose)
    bg = np.array([t.background for t in lines], np.float64)
    d = np.array([t.color for t in lines], np.float64) - bg
    dd = (d * d).sum(axis=1)
    rel = [seed_rgb[idx, i][None, :] - bg[:, i:i + 1] for i in range(3)]
    # whole numbers: the dot product is exact in any order
    tt = (rel[0] * d[:, 0:1] + rel[1] * d[:, 1:2] + rel[2] * d[:, 2:3]) / np.maximum(dd, 1.0)[:, None]
    resid = np.abs(rel[0] - tt * d[:, 0:1])
    for i in (1, 2):
        np.maximum(resid, np.abs(rel[i] - tt * d[:, i:i + 1]), out=resid)
    fit = ((tt >= INK_RAY[0]) & (tt <= INK_RAY[1]) & (resid <= (6.0 + 0.06 * np.sqrt(dd))[:, None])
           & (dd >= 400.0)[:, None])
    # a line goes to the candidate nearest its ink (first of equals), unless an accepted
    # colour fits it
    vote = fit.any(axis=1) & ~(fit & strict[idx][None, :]).any(axis=1)
    best = np.argmin(np.where(fit, np.abs(tt - 1.0), np.inf), axis=1)
    np.add.at(votes, idx[best[vote]], 1)
    return votes


def _count_colours(flat: np.ndarray):
    """Distinct packed colours (ascending), their pixel counts, and a function mapping a
    per-colour value array (e.g. cluster of each colour) to a per-pixel array.

    A UI screenshot is mostly long same-colour runs along rows (a 1440 x 900 page has a
    few ten thousand), so only the runs are sorted and per-pixel values are repeated
    out of them (still the cheaper way with runs a third of the pixels: gradients and
    hero images). Noisy images (JPEG, photos) have more runs than half the pixels: then
    the pixels are sorted and a 2**24-entry lookup table maps colours to values (only the
    pages of it that colours touch are ever written)."""
    n = flat.size
    change = np.empty(n, bool)
    change[:1] = True
    np.not_equal(flat[1:], flat[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    if len(starts) <= n // 2:
        run_code = flat[starts]
        run_len = np.diff(np.r_[starts, n])
        # no sort: the runs' (red, green) pairs are ranked through a 65536-entry table, and
        # (pair rank, blue) is a dense key a bincount sums run lengths over (a UI page has a
        # few thousand pairs, so a table of some hundred thousand bins); its non-empty bins
        # in order are the distinct colours, ascending
        rg = run_code >> 8
        has_rg = np.bincount(rg, minlength=1 << 16) > 0
        rg_rank = np.cumsum(has_rg) - 1
        bins = int(rg_rank[-1] + 1) << 8
        if bins <= n:
            key = rg_rank[rg] << 8
            key |= run_code & 255
            counts = np.bincount(key, weights=run_len, minlength=bins)
            dense = np.flatnonzero(counts > 0)  # (a float array's nonzero is several times slower)
            counts = counts[dense].astype(np.int64)
            uniq = ((np.flatnonzero(has_rg)[dense >> 8] << 8) | (dense & 255)).astype(flat.dtype)
            rank = np.zeros(bins, np.int32)
            rank[dense] = np.arange(len(dense), dtype=np.int32)
            inv = rank[key]
        else:  # many (red, green) pairs (photos): a stable LSD radix sort of the runs instead
            # (16 low bits, then red: numpy's radix sorts of 16- and 8-bit keys are several
            # times faster than its sort of 32-bit ones)
            o = np.argsort((run_code & 0xFFFF).astype(np.uint16), kind="stable")
            o = o[np.argsort((run_code >> 16).astype(np.uint8)[o], kind="stable")]
            s = run_code[o]
            first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
            uniq = s[first]
            counts = np.add.reduceat(run_len[o], first)
            inv = np.empty(len(run_code), np.intp)
            inv[o] = np.repeat(np.arange(len(uniq)), np.diff(np.r_[first, len(s)]))

        def per_pixel(values: np.ndarray) -> np.ndarray:
            return np.repeat(values[inv], run_len)
        return uniq, counts, per_pixel
    srt = np.sort(flat)
    starts = np.flatnonzero(np.r_[True, srt[1:] != srt[:-1]])
    uniq = srt[starts]
    counts = np.diff(np.r_[starts, n])

    def per_pixel_lut(values: np.ndarray) -> np.ndarray:
        lut = np.empty(1 << 24, values.dtype)
        lut[uniq] = values
        return lut[flat]
    return uniq, counts, per_pixel_lut


def _flat_mask(img: np.ndarray, tol: int) -> np.ndarray:
    """(h-2, w-2) mask of pixels within ``tol`` levels of their 4 neighbours."""
    import cv2

    c = np.ascontiguousarray(img[1:-1, 1:-1])
    worst = np.zeros(c.shape, np.uint8)
    for nb in (img[:-2, 1:-1], img[2:, 1:-1], img[1:-1, :-2], img[1:-1, 2:]):
        np.maximum(worst, cv2.absdiff(np.ascontiguousarray(nb), c), out=worst)
    return np.maximum(np.maximum(worst[..., 0], worst[..., 1]), worst[..., 2]) <= tol


def _core_and_pairs(labels: np.ndarray):
    """The (h-2, w-2) mask of pixels whose 8 neighbours share their (valid) label, and
    the flat indices (p, q) of 4-neighbour pixel pairs whose labels differ (q right of
    or below p), from one comparison of each pixel with its right and lower neighbour.
    Edges are a few per cent of a UI screenshot, so later steps on pairs stay small."""
    h, w = labels.shape
    eqh = labels[:, 1:] == labels[:, :-1]
    eqv = labels[1:] == labels[:-1]
    # a row's pixel equal to both horizontal neighbours (hs); then a pixel is core when it
    # and the pixels above and below it are, and those equal it (their corners follow)
    hs = eqh[:, :-1] & eqh[:, 1:]
    m = labels[1:-1, 1:-1] >= 0
    m &= hs[1:-1]
    m &= hs[:-2]
    m &= hs[2:]
    m &= eqv[:-1, 1:-1]
    m &= eqv[1:, 1:-1]
    hp = np.flatnonzero(~eqh)
    hp = hp + hp // (w - 1)  # index in the (h, w - 1) view -> index in the image
    vp = np.flatnonzero(~eqv)
    return m, (np.concatenate([hp, vp]), np.concatenate([hp + 1, vp + w]))


def _runs(labels: np.ndarray, transpose: bool = False, min_len: int = 1):
    """Same-label runs along rows (of ``labels.T`` when ``transpose``), those at least
    ``min_len`` long: (row, start, length, label) arrays."""
    if transpose:
        import cv2

        labels = cv2.transpose(labels) if labels.dtype in (np.int16, np.int32) else labels.T
    h, w = labels.shape
    flat = np.ascontiguousarray(labels).ravel()
    change = np.empty(h * w, bool)
    change[0] = True
    np.not_equal(flat[1:], flat[:-1], out=change[1:])
    change[::w] = True  # runs never cross rows: column 0 always starts one
    starts = np.flatnonzero(change)
    lengths = np.diff(np.r_[starts, h * w])
    if min_len > 1:
        keep = np.flatnonzero(lengths >= min_len)
        starts, lengths = starts[keep], lengths[keep]
    rows = starts // w
    return rows, starts - rows * w, lengths, flat[starts]


def _run_stats(labels: np.ndarray, n: int) -> np.ndarray:
    """OpenCV's (n, 5) [left, top, width, height, area] of every label (0 is the background)
    from the labels' row runs."""
    rows, cols, lengths, lbl = _runs(labels)
    big = np.iinfo(np.int64).max
    left, top = np.full(n, big, np.int64), np.full(n, big, np.int64)
    right, bottom = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    np.minimum.at(left, lbl, cols)
    np.maximum.at(right, lbl, cols + lengths - 1)
    np.minimum.at(top, lbl, rows)
    np.maximum.at(bottom, lbl, rows)
    stats = np.zeros((n, 5), np.int64)
    stats[:, 0], stats[:, 1] = left, top
    stats[:, 2], stats[:, 3] = right - left + 1, bottom - top + 1
    stats[:, 4] = np.bincount(lbl, weights=lengths, minlength=n)
    return stats


def _line_evidence(codes: np.ndarray, labels: np.ndarray, need: np.ndarray, lossy: bool,
                   min_len: int = LINE_MIN):
    """Pixels on long runs per cluster, and how many of them look like edge blends.

    A run pixel is a blend when its colour lies on the segment between its two
    neighbours across the run (above/below for a horizontal run): that is what an
    anti-aliased edge at a fractional position, or a gradient step, looks like.
    ``codes``: the image as packed 0xRRGGBB int32 (h, w).
    """
    tol = 10.0 if lossy else 2.5
    flat_codes, width = codes.ravel(), codes.shape[1]
    k = len(need)
    need1 = np.r_[need, False]  # label -1 indexes the trailing False
    line_px = np.zeros(k, np.int64)
    blend_px = np.zeros(k, np.int64)
    example: dict[int, tuple[int, int, int, int]] = {}
    for transpose in (False, True):
        rows, cols, lengths, lbl = _runs(labels, transpose, min_len)
        n_rows = labels.shape[1 if transpose else 0]
        sel = need1[lbl] & (rows > 0) & (rows < n_rows - 1)
        if not sel.any():
            continue
        rows, cols, lengths, lbl = rows[sel], cols[sel], lengths[sel], lbl[sel]
        # only runs whose neighbours across are not the same cluster along the whole run
        # matter for blending; sample each run's pixels (up to 32 evenly spaced)
        samples = np.minimum(lengths, 32)
        rid = np.repeat(np.arange(len(rows)), samples)
        offs = np.arange(len(rid)) - (np.cumsum(samples) - samples)[rid]
        # offs * length // samples, exactly: samples is the length up to 32, else 32
        pos = cols[rid] + ((offs * np.maximum(lengths, 32)[rid]) >> 5)
        r = rows[rid]
        # packed colour of pixel (r + k across the run, pos along it)
        base, step = (pos * width + r, 1) if transpose else (r * width + pos, width)

        def at(k, base=base, step=step):
            return flat_codes[base + k * step]
        pc, pa, pb = flat_codes[base], at(-1), at(1)
        if lossy:
            c, a, b = _planes(pc), _planes(pa), _planes(pb)
            is_blend = _between(c, a, b, tol)
            is_blend |= _fringe(c.T, a.T) | _fringe(c.T, b.T)
        else:
            # each test needs its two outer colours apart (squared distance over
            # 4 tol^2, or 36 for a fading ramp: whole numbers, exact in float32 too), which
            # few samples of a gradient or a flat area are: the float tests run on those
            is_blend = np.zeros(len(r), bool)
            i = np.flatnonzero(_sq_dist(pa, pb) > 4 * tol * tol)
            is_blend[i] = _between(_planes(pc[i]), _planes(pa[i]), _planes(pb[i]), tol)
            # the edge of a soft shadow: on one side the colour keeps fading for another
            # pixel (a 1-px border is followed by a flat surface instead)
            for p1, p2, inside in ((pa, at(np.where(r >= 2, -2, -r)), r >= 2),
                                   (pb, at(np.where(r < n_rows - 2, 2, n_rows - 1 - r)), r < n_rows - 2)):
                i = np.flatnonzero((_sq_dist(pc, p2) >= 35) & inside)
                is_blend[i] |= _fading(_planes(pc[i]), _planes(p1[i]), _planes(p2[i]))
        frac = np.bincount(rid[is_blend], minlength=len(rows)) / samples  # (whole-number sums: exact)
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


def _planes(v: np.ndarray) -> np.ndarray:
    """Packed 0xRRGGBB colours as float32 channel planes (3, m): per-channel maths on
    planes avoids numpy's slow reductions over a length-3 axis."""
    return np.stack([v >> 16, (v >> 8) & 255, v & 255]).astype(np.float32)


def _sq_dist(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Squared RGB distance of packed 0xRRGGBB colours (int32, exact)."""
    d = (u >> 16) - (v >> 16)
    out = d * d
    d = ((u >> 8) & 255) - ((v >> 8) & 255)
    out += d * d
    d = (u & 255) - (v & 255)
    out += d * d
    return out


def _between(c: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    """Whether ``c`` lies on the sRGB segment a-b, within ``tol`` of it in every channel,
    strictly between: at least 2 levels from either end (near-solid AA pixels of a glyph
    stem are 98 % text colour, and still not a colour of their own). (3, m) planes."""
    ab = a - b
    denom = _dot(ab, ab)
    t = _dot(c - b, ab) / np.maximum(denom, 1e-6)
    resid = _max_abs(c - (b + t * ab))
    span = np.sqrt(denom)
    return (denom > 4 * tol * tol) & (t * span >= 2.0) & ((1 - t) * span >= 2.0) & (resid <= tol)


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per-pixel dot product of (3, m) planes, summed in channel order."""
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def _max_abs(u: np.ndarray) -> np.ndarray:
    """Per-pixel largest absolute channel of (3, m) planes."""
    return np.maximum(np.maximum(np.abs(u[0]), np.abs(u[1])), np.abs(u[2]))


def _fading(c: np.ndarray, n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Whether ``c -> n1 -> n2`` (three pixels in a row) is a ramp still on its way:
    ``n1`` strictly between ``c`` and ``n2`` on their sRGB segment. (3, m) planes -> (m,)."""
    d = n2 - c
    den = _dot(d, d)
    t = _dot(n1 - c, d) / np.maximum(den, 1e-6)
    resid = _max_abs(n1 - (c + t * d))
    span = np.sqrt(den)
    return (span >= 6.0) & (t * span >= 2.0) & ((1 - t) * span >= 2.0) & (resid <= 3.0 + 0.1 * span)


def _adjacency(pair_labels, k: int) -> np.ndarray:
    """(k, k) counts of 4-neighbour pixel contacts between different clusters (symmetric),
    from the labels on either side of the boundary pairs."""
    la, lb = pair_labels
    m = (la >= 0) & (lb >= 0)
    once = np.bincount(la[m].astype(np.int64) * k + lb[m], minlength=k * k).reshape(k, k)
    return (once + once.T).astype(np.float64)


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
    a neighbour (see ``_fringe``). All candidates at once: (candidates, 6, 6) arrays.
    """
    out = np.zeros(len(rgb), bool)
    col = rgb.astype(np.float64)
    cand = np.flatnonzero(candidates)
    if len(cand) == 0:
        return out
    rows = adj[cand]
    total = rows.sum(axis=1)
    main = (rows >= 0.1 * total[:, None]) & (total > 0)[:, None]
    # each candidate's (up to) six main neighbours, most contacts first (ties: lower index)
    order = np.argsort(np.where(main, -rows, np.inf), axis=1, kind="stable")[:, :6]
    valid = np.take_along_axis(main, order, axis=1)
    keep = valid.sum(axis=1) >= 2
    cand, order, valid = cand[keep], order[keep], valid[keep]
    if len(cand) == 0:
        return out
    nbc = col[order]                      # (m, 6, 3)
    cc = col[cand][:, None, None, :]      # (m, 1, 1, 3)
    a = nbc[:, :, None, :]
    b = nbc[:, None, :, :]
    ab = a - b
    den = (ab ** 2).sum(axis=3)
    t = ((cc - b) * ab).sum(axis=3) / np.maximum(den, 1e-9)
    resid = np.abs(cc - (b + t[..., None] * ab)).max(axis=3)
    span = np.sqrt(den)
    hit = ((den > (4 * tol) ** 2) & (t * span >= 2.0) & ((1 - t) * span >= 2.0)
           & (resid <= tol))
    hit &= valid[:, :, None] & valid[:, None, :]
    found = hit.any(axis=(1, 2))
    if lossy:
        # only a fringe of a clearly more solid neighbour (the relation is symmetric)
        strong = strength[order] > 4 * strength[cand][:, None]
        found |= (_fringe(col[cand][:, None, :], nbc) & strong & valid).any(axis=1)
    out[cand] = found
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


def _core_parts(labels: np.ndarray, core: np.ndarray):
    """The core's 4-connected components: OpenCV's labels (offset by one pixel from
    ``labels``), their (n, 5) statistics from their runs (cheaper than OpenCV's own) and
    the cluster of each component 1..n-1 (adjacent core pixels share their cluster)."""
    import cv2

    if not core.any():
        return None, np.zeros((1, 5), np.int64), np.zeros(0, np.int64)
    n, comp = cv2.connectedComponentsWithAlgorithm(core.view(np.uint8), 4, cv2.CV_32S, cv2.CCL_SPAGHETTI)
    stats = _run_stats(comp, n)
    ids = np.arange(1, n)
    top, left, width = stats[1:, 1], stats[1:, 0], stats[1:, 2]
    # a component's cluster is the label of any of its pixels: take the first one on its
    # top row (short scans, no full-image pass)
    seg = np.repeat(np.arange(n - 1), width)
    cols = left[seg] + np.arange(len(seg)) - (np.cumsum(width) - width)[seg]
    hit = np.flatnonzero(comp[top[seg], cols] == ids[seg])
    hit = hit[np.r_[True, seg[hit][1:] != seg[hit][:-1]]]  # first hit per component
    return comp, stats, labels[1 + top, 1 + cols[hit]].astype(np.int64)


def _example_boxes(parts, kept, runs, stride):
    """Up to three boxes [x, y, w, h] per kept cluster: its largest solid areas (``parts``
    from ``_core_parts``), else its longest line run."""
    import cv2

    boxes: dict[int, list[tuple[int, int, int, int]]] = {}
    _, stats, lbl = parts
    if len(lbl):
        top, left = stats[1:, cv2.CC_STAT_TOP], stats[1:, cv2.CC_STAT_LEFT]
        area = stats[1:, cv2.CC_STAT_AREA]
        o = np.lexsort((left, top, -area, lbl))
        o = o[np.isin(lbl[o], kept)]
        # the first three components of each kept cluster in that order
        lo = lbl[o]
        pos = np.arange(len(o))
        first = np.maximum.accumulate(np.where(np.r_[True, lo[1:] != lo[:-1]], pos, 0))
        for i in o[pos - first < 3]:
            c = int(lbl[i])
            lst = boxes.setdefault(c, [])
            x, y, w_, h_ = (int(v) for v in stats[i + 1, :4])
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


# --- roles: where each colour is used ------------------------------------------------------

#: roles are looked for only in images at least this large (image px, each side)
ROLE_MIN_SIDE = 32
#: OKLab distance within which a measured fill / ink colour is a palette entry
ROLE_FILL_TOL = 0.02
ROLE_FILL_TOL_LOSSY = 0.045
#: OKLab chroma from which a colour is "saturated" (brand, link, status); neutrals below
SATURATED = 0.08
#: a surface is within this OKLab lightness of the background and about as grey
SURFACE_MAX_DL = 0.22
SURFACE_MAX_CHROMA = 0.035
#: chroma above which a surface has a tint of its own (it must match the background's)
SURFACE_TINT = 0.015
#: a surface box is at least this large (CSS px: shorter side, area)
SURFACE_MIN_SIDE = 40.0
SURFACE_MIN_AREA = 6000.0
#: least share of the image that a surface colour's boxes cover (one box / several)
SURFACE_MIN_COVER = 0.01
SURFACE_MIN_COVER_MULTI = 0.004
#: least share of a box's area its flat fill covers (content and border are the rest)
BOX_MIN_FILLED = 0.35
#: a button: height range (CSS px), widest, and least width / height
BUTTON_H = (20.0, 72.0)
BUTTON_MAX_W = 480.0
BUTTON_MIN_ASPECT = 1.6
#: a text colour needs this share of the content text's ink (primary / others)
TEXT_MAIN_SHARE = 0.12
TEXT_MINOR_SHARE = 0.04
#: hue ranges (OKLab hue, degrees) of the status families, and the least chroma
_SEMANTIC = (("danger", 5.0, 38.0), ("warning", 38.0, 100.0), ("success", 115.0, 172.0),
             ("info", 195.0, 272.0))
SEMANTIC_CHROMA = 0.09
#: OKLab lightness of a status base colour (preferred over shades and tints)
STATUS_L = (0.4, 0.9)
#: least score for a primary: one labelled button, or two link lines
PRIMARY_MIN_SCORE = 2.0
#: a background that is not the most common colour still covers this share
BACKGROUND_MIN_SHARE = 0.03
#: least outline length (CSS px) of a border colour
BORDER_MIN_LENGTH = 200.0
#: a saturated palette colour covering this share of the image counts as one use
USAGE_MIN_SHARE = 0.0003
#: ... and this share as two (about a 36 x 36 px icon on a 1440 x 900 screenshot)
USAGE_TWO_SHARE = 0.001
#: an accent differs in hue from the primary by at least this (degrees)
ACCENT_MIN_DHUE = 25.0
#: WCAG 2.x thresholds for normal text (AA, AAA) and large text (AA)
WCAG_AA, WCAG_AAA, WCAG_AA_LARGE = 4.5, 7.0, 3.0


@dataclass(frozen=True, slots=True)
class _Entry:
    """A palette token with what the role pass needs to know about it."""

    name: str
    hex: str
    rgb: tuple[int, int, int]
    lab: tuple[float, float, float]
    share: float
    confidence: float
    #: share of its pixels on long thin runs (borders, dividers)
    line_share: float
    boxes: list[tuple[int, int, int, int]]
    #: found as the colour of anti-aliased text (no solid area of its own)
    text: bool = False


def relative_luminance(rgb) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (0..255 channels)."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def contrast_ratio(a, b) -> float:
    """WCAG 2.x contrast ratio (1..21) of two sRGB colours, either order."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def _hue_dist(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


class _Pal:
    """The palette as arrays, and matching of measured colours onto its entries."""

    def __init__(self, entries: list[_Entry], lossy: bool):
        self.e = entries
        self.rgb = np.array([e.rgb for e in entries], np.float64)
        self.lab = np.array([e.lab for e in entries], np.float64)
        self.L = self.lab[:, 0]
        self.chroma = np.hypot(self.lab[:, 1], self.lab[:, 2])
        self.hue = np.degrees(np.arctan2(self.lab[:, 2], self.lab[:, 1])) % 360.0
        self.tol = ROLE_FILL_TOL_LOSSY if lossy else ROLE_FILL_TOL
        self._memo: dict[tuple, int] = {}

    def prefetch(self, colours) -> None:
        """Match many fill colours at once (the same results as one by one: the colour
        maths is elementwise)."""
        todo = list(dict.fromkeys(("f", *rgb) for rgb in colours))
        todo = [key for key in todo if key not in self._memo]
        if not todo:
            return
        lab = srgb_to_oklab(np.array([key[1:] for key in todo], np.uint8))
        d = np.sqrt(((self.lab[None, :, :] - lab[:, None, :]) ** 2).sum(axis=2))
        best = np.argmin(d, axis=1)
        hit = d[np.arange(len(todo)), best] <= self.tol
        for key, i, ok in zip(todo, best.tolist(), hit.tolist(), strict=True):
            self._memo[key] = i if ok else -1

    def fill(self, rgb) -> int:
        """Palette entry of a flat fill colour, or -1."""
        key = ("f", *rgb)
        if key not in self._memo:
            lab = srgb_to_oklab(np.array(rgb, np.uint8))
            d = np.sqrt(((self.lab - lab) ** 2).sum(axis=1))
            i = int(np.argmin(d))
            self._memo[key] = i if d[i] <= self.tol else -1
        return self._memo[key]

    def ink(self, rgb, bg) -> int:
        """Palette entry of a text line's ink on background ``bg``, or -1.

        The measured ink of thin text falls short of the true colour (anti-aliasing): the
        entry may lie on the ray from the background through the ink, a little beyond."""
        key = ("i", *rgb, *bg)
        if key not in self._memo:
            i = self.fill(rgb)
            if i < 0:
                b = np.asarray(bg, np.float64)
                d = np.asarray(rgb, np.float64) - b
                dd = float(d @ d)
                if dd >= 400.0:
                    rel = self.rgb - b
                    t = rel @ d / dd
                    resid = np.abs(rel - t[:, None] * d).max(axis=1)
                    ok = (t >= INK_RAY[0]) & (t <= INK_RAY[1]) & (resid <= 6.0 + 0.06 * math.sqrt(dd))
                    if ok.any():
                        cand = np.flatnonzero(ok)
                        i = int(cand[np.argmin(np.abs(t[cand] - 1.0) + resid[cand] / 255.0)])
            self._memo[key] = i
        return self._memo[key]


def _detector_image(image: np.ndarray, ctx: ExtractContext, stride: int) -> tuple[np.ndarray, int]:
    """The image the box and text detectors see, and its subsampling step: about 1x (a
    2x/3x screenshot is subsampled by its device scale, nearest neighbour so colours stay
    exact), which keeps them fast and their findings scale-invariant."""
    step = max(stride, int(ctx.scale + 0.25))
    return (np.ascontiguousarray(image[::step, ::step]) if step > 1 else image), step


def _find_lines(det: np.ndarray) -> list:
    if min(det.shape[:2]) < ROLE_MIN_SIDE:
        return []
    from stylestream.extractors.text import find_text_lines

    return find_text_lines(det)


#: a role found from ``_Scene`` evidence: (palette index, confidence, count, boxes, contrast)
_Role = tuple[int, float, int, list, "float | None"]

_ROLE_ORDER = ("background", "surface", "surface-2", "surface-3", "primary", "text-on-primary",
               "text-primary", "text-secondary", "text-tertiary", "border", "accent", "accent-2",
               "success", "warning", "danger", "info")


@dataclass
class _Scene:
    """What the role steps share: the palette, the detectors' findings mapped onto it."""

    pal: _Pal
    boxes: list
    lines: list
    step: int          #: detector px -> image px
    css: float         #: detector px -> CSS px
    area: float        #: detector image area, px
    fills: list[int]   #: palette entry of each box's fill (-1: none, or not a filled box)
    outs: list[int]    #: palette entry just outside each box
    edges: list[int]   #: image sides each box touches
    ink: list[int]     #: palette entry of each text line's ink
    ground: list[int]  #: palette entry of each text line's background

    def img_box(self, x, y, w, h) -> tuple[int, int, int, int]:
        s = self.step
        return (int(x * s), int(y * s), int(w * s), int(h * s))


def _roles(det: np.ndarray, step: int, ctx: ExtractContext, entries: list[_Entry], lossy: bool,
           lines: list) -> tuple[dict[str, ColorToken], dict[str, Any] | None]:
    """Colour roles from where palette colours are used: element boxes
    (``layout.find_boxes``) and text lines (``text.find_text_lines``) found in ``det``
    (the image subsampled by ``step``). Returns (role tokens, group extension info)."""
    dh, dw = det.shape[:2]
    if not entries or min(dh, dw) < ROLE_MIN_SIDE:
        return {}, None
    from stylestream.extractors.layout import find_boxes

    boxes = find_boxes(det, lossy=lossy, text_lines=lines)
    pal = _Pal(entries, lossy)
    pal.prefetch([t.background for t in lines] + [t.color for t in lines] + [b.fill for b in boxes]
                 + [b.outside for b in boxes] + [b.border for b in boxes if b.border is not None])
    ground = [pal.fill(t.background) for t in lines]
    sc = _Scene(
        pal=pal, boxes=boxes, lines=lines, step=step, css=step / ctx.scale, area=float(dh * dw),
        # a ring of border lines found as a region is not a box filled with its colour
        fills=[pal.fill(b.fill) if b.fill_area >= BOX_MIN_FILLED * b.w * b.h else -1 for b in boxes],
        outs=[pal.fill(b.outside) for b in boxes],
        edges=[int(b.x <= 1) + int(b.y <= 1) + int(b.x + b.w >= dw - 1) + int(b.y + b.h >= dh - 1)
               for b in boxes],
        ink=[pal.ink(t.color, t.background) if g >= 0 else -1 for t, g in zip(lines, ground, strict=True)],
        ground=ground,
    )
    roles: dict[str, _Role] = {}
    bg = _background(sc)
    roles["background"] = (bg, min(0.99, 0.55 + entries[bg].share), 0, entries[bg].boxes[:3], None)
    surfaces = _surfaces(sc, bg)
    roles.update(surfaces)
    grounds = {bg} | {r[0] for r in surfaces.values()}
    primary = _primary(sc, grounds, roles)
    roles.update(_text_roles(sc, bg, grounds))
    _border(sc, ctx, bg, grounds, roles)
    _status_and_accents(sc, primary, roles)

    out: dict[str, ColorToken] = {}
    for name in _ROLE_ORDER:
        if name not in roles or roles[name][1] < MIN_CONFIDENCE:
            continue
        c, conf, count, ex, contrast = roles[name]
        e = entries[c]
        r, g, b = e.rgb
        out[name] = ColorToken(
            value=ColorValue(colorSpace="srgb",
                             components=(round(r / 255, 4), round(g / 255, 4), round(b / 255, 4)),
                             alpha=1.0, hex=e.hex),
            extensions={EXTENSION_KEY: Evidence(
                confidence=round(float(conf), 3), share=round(e.share, 6),
                count=count or None, boxes=[tuple(bx) for bx in ex] or None, ref=e.name,
                contrast=None if contrast is None else round(contrast, 2),
            )},
        )
    info: dict[str, Any] = {
        "scheme": "dark" if pal.L[bg] < 0.5 else "light",
        "background": entries[bg].hex,
        "backgroundLuminance": round(relative_luminance(entries[bg].rgb), 4),
        "textLines": len(lines),
        "boxes": len(boxes),
        "contrast": _contrast_pairs(sc, {k: roles[k][0] for k in out}, grounds, primary),
    }
    return out, info


def _first_boxes(found: list, n: int = 3) -> list:
    """Example boxes from (sort keys..., box) tuples: the first ``n`` in key order."""
    return [item[-1] for item in sorted(found)[:n]]


def _background(sc: _Scene) -> int:
    """The page: the most common colour, unless that is mostly floating cards (boxes
    touching at most one image side) on another common colour, or a saturated hero or
    header beside a large neutral area."""
    pal, e = sc.pal, sc.pal.e
    bg = 0
    cards = [i for i, b in enumerate(sc.boxes)
             if sc.fills[i] == 0 and sc.outs[i] not in (-1, 0) and sc.edges[i] <= 1]
    if sum(sc.boxes[i].fill_area for i in cards) >= 0.5 * e[0].share * sc.area:
        votes = np.zeros(len(e))
        for i in cards:
            votes[sc.outs[i]] += sc.boxes[i].fill_area
        x = int(np.argmax(votes))
        if votes[x] > 0 and e[x].share >= BACKGROUND_MIN_SHARE:
            bg = x
    if bg == 0 and pal.chroma[0] >= SATURATED:
        neutral = [c for c in range(1, len(e)) if pal.chroma[c] < SATURATED and e[c].share >= 0.15]
        if neutral:
            bg = neutral[0]
    return bg


def _surfaces(sc: _Scene, bg: int) -> dict[str, _Role]:
    """Large boxes filled with a neutral colour near the background's lightness (cards,
    panels, sidebars), ordered by nesting level (``surface`` lies on the page, ``surface-2``
    on a surface...), then by area."""
    pal = sc.pal
    m = len(pal.e)
    bg_chroma = float(pal.chroma[bg])
    ok = ((np.abs(pal.L - pal.L[bg]) <= SURFACE_MAX_DL)
          & (pal.chroma <= max(SURFACE_MAX_CHROMA, bg_chroma + 0.025)))
    # a tinted fill (an alert, a selected row) is a surface only on a background of that tint
    same_tint = (bg_chroma > SURFACE_TINT * 0.66) & (
        np.array([_hue_dist(float(h), float(pal.hue[bg])) for h in pal.hue]) <= 40.0)
    ok &= (pal.chroma <= SURFACE_TINT) | same_tint
    ok[bg] = False
    is_surf = [f >= 0 and bool(ok[f]) and min(b.w, b.h) * sc.css >= SURFACE_MIN_SIDE
               and b.w * b.h * sc.css ** 2 >= SURFACE_MIN_AREA
               for b, f in zip(sc.boxes, sc.fills, strict=True)]
    s_area = np.zeros(m)
    depths: dict[int, list[tuple[int, float]]] = {}
    found: dict[int, list] = {}
    for i, b in enumerate(sc.boxes):
        if not is_surf[i]:
            continue
        f = sc.fills[i]
        depth, p, seen = 0, b.parent, {f}
        while p is not None:
            if is_surf[p] and sc.fills[p] not in seen:
                depth += 1
                seen.add(sc.fills[p])
            p = sc.boxes[p].parent
        s_area[f] += b.w * b.h
        depths.setdefault(f, []).append((depth, b.w * b.h))
        found.setdefault(f, []).append((-b.w * b.h, b.y, b.x, sc.img_box(b.x, b.y, b.w, b.h)))
    ranked = []
    for f, ds in depths.items():
        cover = s_area[f] / sc.area
        if cover < SURFACE_MIN_COVER and not (len(ds) >= 2 and cover >= SURFACE_MIN_COVER_MULTI):
            continue
        ds.sort()
        half, acc, level = sum(a for _, a in ds) / 2, 0.0, ds[-1][0]
        for dep, a in ds:  # the area-weighted median nesting level
            acc += a
            if acc >= half:
                level = dep
                break
        ranked.append((level, -s_area[f], f))
    out = {}
    for k, (_, _, f) in enumerate(sorted(ranked)[:3]):
        n = len(found[f])
        conf = min(0.95, 0.5 + 0.05 * n + s_area[f] / sc.area)
        out["surface" if k == 0 else f"surface-{k + 1}"] = (f, conf, n, _first_boxes(found[f]), None)
    return out


def _inside(t, b) -> bool:
    return t.x >= b.x and t.y >= b.y and t.x + t.w <= b.x + b.w and t.y + t.h <= b.y + b.h


def _primary(sc: _Scene, grounds: set[int], roles: dict[str, _Role]) -> int:
    """The brand colour: saturated fills of button-sized boxes (2 points with a label, 1
    without), saturated text on the page and its surfaces (links, 1 per line) and
    saturated colours the palette saw only as text (1.5). Status hues (red, amber, green)
    count 40 % unless nothing else is saturated. Adds ``primary`` and ``text-on-primary``
    (the ink of text lines on it) to ``roles``; returns its palette index or -1."""
    pal = sc.pal
    m = len(pal.e)
    score = np.zeros(m)
    count = np.zeros(m, np.int64)
    found: dict[int, list] = {}
    for i, b in enumerate(sc.boxes):
        f = sc.fills[i]
        if f < 0 or pal.chroma[f] < SATURATED:
            continue
        wc, hc = b.w * sc.css, b.h * sc.css
        if not (BUTTON_H[0] <= hc <= BUTTON_H[1] and BUTTON_MIN_ASPECT * hc <= wc <= BUTTON_MAX_W):
            continue
        labelled = any(_inside(t, b) and sc.ground[j] == f for j, t in enumerate(sc.lines))
        score[f] += 2.0 if labelled else 1.0
        count[f] += 1
        found.setdefault(f, []).append((b.y, b.x, sc.img_box(b.x, b.y, b.w, b.h)))
    for j, t in enumerate(sc.lines):
        c = sc.ink[j]
        if c >= 0 and sc.ground[j] in grounds and pal.chroma[c] >= SATURATED:
            score[c] += 1.0
            count[c] += 1
            found.setdefault(c, []).append((t.y, t.x, sc.img_box(t.x, t.y, t.w, t.h)))
    for c, e in enumerate(pal.e):
        if e.text and pal.chroma[c] >= SATURATED:
            score[c] += 1.5
            count[c] += 1
            found.setdefault(c, []).extend((bx[1], bx[0], bx) for bx in e.boxes[:1])
    if score.max() < PRIMARY_MIN_SCORE:
        return -1
    status = np.zeros(m, bool)
    for _, lo, hi in _SEMANTIC[:3]:
        status |= (pal.hue >= lo) & (pal.hue < hi)
    eff = np.where(status, 0.4 * score, score) if (score[~status] > 0).any() else score
    primary = int(np.lexsort((np.arange(m), -score, -eff))[0])
    roles["primary"] = (primary, min(0.95, 0.4 + 0.08 * score[primary]), int(count[primary]),
                        _first_boxes(found[primary]), None)
    on = np.zeros(m)
    on_found: dict[int, list] = {}
    for j, t in enumerate(sc.lines):
        c = sc.ink[j]
        if sc.ground[j] == primary and c >= 0:
            on[c] += 1
            on_found.setdefault(c, []).append((t.y, t.x, sc.img_box(t.x, t.y, t.w, t.h)))
    if on.max() >= 1:
        c = int(np.argmax(on))
        roles["text-on-primary"] = (c, min(0.9, 0.5 + 0.1 * on[c]), int(on[c]), _first_boxes(on_found[c]),
                                    contrast_ratio(pal.e[c].rgb, pal.e[primary].rgb))
    return primary


def _text_roles(sc: _Scene, bg: int, grounds: set[int]) -> dict[str, _Role]:
    """Neutral text on the page and its surfaces, by amount of ink. ``text-primary``: the
    highest-contrast colour among those with a good share of the ink; then lower-contrast
    colours with a smaller share, in contrast order (secondary, tertiary)."""
    pal = sc.pal
    m = len(pal.e)
    ink = np.zeros(m)
    n_lines = np.zeros(m, np.int64)
    found: dict[int, list] = {}
    on: dict[int, dict[int, float]] = {}
    for j, t in enumerate(sc.lines):
        c, g = sc.ink[j], sc.ground[j]
        if c < 0 or g not in grounds or c in grounds or pal.chroma[c] >= SATURATED:
            continue
        ink[c] += t.ink
        n_lines[c] += 1
        found.setdefault(c, []).append((-t.ink, t.y, t.x, sc.img_box(t.x, t.y, t.w, t.h)))
        on.setdefault(c, {})
        on[c][g] = on[c].get(g, 0.0) + t.ink
    total = float(ink.sum())
    if total <= 0:
        return {}
    vs_bg = np.array([contrast_ratio(e.rgb, pal.e[bg].rgb) for e in pal.e])
    main = [c for c in range(m) if ink[c] >= TEXT_MAIN_SHARE * total and n_lines[c] >= 2]
    if not main:
        return {}
    first = max(main, key=lambda c: (vs_bg[c], ink[c], -c))
    ranked = [first] + sorted(
        (c for c in range(m) if c != first and n_lines[c] >= 2
         and ink[c] >= TEXT_MINOR_SHARE * total and vs_bg[c] < vs_bg[first]),
        key=lambda c: (-vs_bg[c], c))
    out = {}
    for name, c in zip(("text-primary", "text-secondary", "text-tertiary"), ranked, strict=False):
        ground = max(on[c].items(), key=lambda kv: (kv[1], -kv[0]))[0]  # where it mostly sits
        conf = min(0.95, 0.45 + 0.05 * n_lines[c] + 0.5 * ink[c] / total)
        out[name] = (c, conf, int(n_lines[c]), _first_boxes(found[c]),
                     contrast_ratio(pal.e[c].rgb, pal.e[ground].rgb))
    return out


def _border(sc: _Scene, ctx: ExtractContext, bg: int, grounds: set[int],
            roles: dict[str, _Role]) -> None:
    """The neutral colour with the most outline length: borders of boxes (their perimeter,
    CSS px) and palette colours drawn mostly as long thin runs (dividers)."""
    pal = sc.pal
    m = len(pal.e)
    score = np.zeros(m)
    count = np.zeros(m, np.int64)
    found: dict[int, list] = {}
    for b in sc.boxes:
        if b.border is None or b.border_width * sc.css > 3.0:
            continue
        c = pal.fill(b.border)
        if c >= 0:
            score[c] += 2.0 * (b.w + b.h) * sc.css
            count[c] += 1
            found.setdefault(c, []).append((-b.w * b.h, b.y, b.x, sc.img_box(b.x, b.y, b.w, b.h)))
    image_px = sc.area * sc.step * sc.step
    for c, e in enumerate(pal.e):
        if e.line_share >= 0.6:  # its pixels as CSS length of 1-CSS-px lines
            score[c] += e.share * image_px / max(ctx.scale * ctx.scale, 1e-9)
    ok = (pal.chroma <= max(0.05, float(pal.chroma[bg]) + 0.03)) & (score >= BORDER_MIN_LENGTH)
    for c in grounds | {r[0] for k, r in roles.items() if k.startswith("text-")}:
        ok[c] = False
    if ok.any():
        c = int(np.flatnonzero(ok)[np.argmax(score[ok])])
        conf = min(0.95, 0.5 + 0.05 * count[c] + 0.1 * math.log10(score[c] / BORDER_MIN_LENGTH))
        roles["border"] = (c, conf, int(count[c]), _first_boxes(found.get(c, [])) or pal.e[c].boxes[:3], None)


def _status_and_accents(sc: _Scene, primary: int, roles: dict[str, _Role]) -> None:
    """Status colours by hue family (danger red, warning orange-amber-yellow, success green,
    info cyan-blue unless that is the primary's hue) and up to two accents (other
    saturated hues), from their uses: box fills and borders, text lines, and palette
    colours with a solid area or text of their own. The status base colour is preferred
    over pale tints and deep shades of the same hue (badge grounds)."""
    pal = sc.pal
    m = len(pal.e)
    uses = np.zeros(m, np.int64)
    found: dict[int, list] = {}
    for i, b in enumerate(sc.boxes):
        for c in (sc.fills[i], pal.fill(b.border) if b.border is not None else -1):
            if c >= 0 and pal.chroma[c] >= SATURATED and min(b.w, b.h) * sc.css >= 4.0:
                uses[c] += 1
                found.setdefault(c, []).append((b.y, b.x, sc.img_box(b.x, b.y, b.w, b.h)))
    for j, t in enumerate(sc.lines):
        c = sc.ink[j]
        if c >= 0 and pal.chroma[c] >= SATURATED:
            uses[c] += 1
            found.setdefault(c, []).append((t.y, t.x, sc.img_box(t.x, t.y, t.w, t.h)))
    for c, e in enumerate(pal.e):
        if pal.chroma[c] >= SATURATED and (e.text or e.share >= USAGE_MIN_SHARE):
            uses[c] += 1 + int(e.share >= USAGE_TWO_SHARE)
            found.setdefault(c, []).extend((bx[1], bx[0], bx) for bx in e.boxes[:1])
    taken = {r[0] for r in roles.values()}
    for fam, lo, hi in _SEMANTIC:
        cand = [c for c in range(m) if uses[c] >= 1 and c not in taken
                and pal.chroma[c] >= SEMANTIC_CHROMA and lo <= pal.hue[c] < hi]
        if fam == "info" and primary >= 0:
            cand = [c for c in cand if _hue_dist(float(pal.hue[c]), float(pal.hue[primary])) >= 12.0]
        if not cand:
            continue
        mid = [c for c in cand if STATUS_L[0] <= pal.L[c] <= STATUS_L[1]]
        c = max(mid or cand, key=lambda c: (uses[c], pal.chroma[c], -c))
        roles[fam] = (c, min(0.9, 0.5 + 0.1 * uses[c]), int(uses[c]), _first_boxes(found[c]), None)
        taken.add(c)
    accents = []
    for c in range(m):
        if c in taken or pal.chroma[c] < SATURATED or uses[c] < 2:
            continue
        if primary >= 0 and _hue_dist(float(pal.hue[c]), float(pal.hue[primary])) < ACCENT_MIN_DHUE:
            continue  # a shade of the primary
        if any(lo <= pal.hue[c] < hi for _, lo, hi in _SEMANTIC[:3]):
            continue  # a second colour of a status family, not an accent
        accents.append((-uses[c], -pal.e[c].share, c))
    for k, (_, _, c) in enumerate(sorted(accents)[:2]):
        roles["accent" if k == 0 else f"accent-{k + 1}"] = (
            c, min(0.9, 0.4 + 0.1 * uses[c]), int(uses[c]), _first_boxes(found[c]), None)


def _contrast_pairs(sc: _Scene, role_entry: dict[str, int], grounds: set[int],
                    primary: int) -> list[dict[str, Any]]:
    """WCAG 2.x contrast of every (text colour, background) pair the text lines show, most
    lines first (at most 16), with the text role where the pair is one."""
    pairs: dict[tuple[int, int], int] = {}
    for c, g in zip(sc.ink, sc.ground, strict=True):
        if c >= 0 and g >= 0 and c != g:
            pairs[(c, g)] = pairs.get((c, g), 0) + 1
    role_of: dict[tuple[int, int], str] = {}
    for name in ("text-primary", "text-secondary", "text-tertiary"):
        if name in role_entry:
            for g in grounds:
                role_of.setdefault((role_entry[name], g), name)
    if "text-on-primary" in role_entry:
        role_of[(role_entry["text-on-primary"], primary)] = "text-on-primary"
    out = []
    e = sc.pal.e
    for (c, g), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:16]:
        ratio = contrast_ratio(e[c].rgb, e[g].rgb)
        item: dict[str, Any] = {
            "text": e[c].hex, "background": e[g].hex, "ratio": round(ratio, 2),
            "aa": ratio >= WCAG_AA, "aaa": ratio >= WCAG_AAA, "aaLarge": ratio >= WCAG_AA_LARGE,
            "lines": n}
        if (c, g) in role_of:
            item["role"] = role_of[(c, g)]
        out.append(item)
    return out
