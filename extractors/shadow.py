"""Drop shadows (CSS ``box-shadow``) of elevated elements, measured from pixels.

What it measures
    For each element box (cards, menus, buttons, modals: ``layout.find_boxes``), the
    darkening of the pixels just outside its four sides. A CSS box-shadow paints the
    element's rectangle grown by ``spread`` and shifted by ``(offsetX, offsetY)``, blurred
    with sigma = blur / 2, as colour x alpha over the background (browsers blend in
    gamma-encoded sRGB, so the model is linear in 8-bit values). Perpendicular to the
    middle of a side that is a ramp: its width gives sigma, its height alpha, and where it
    is centred the shadow's edge on that side, ``spread + offset`` towards the side
    (bottom: spread + offsetY, top: spread - offsetY). Opposite sides give spread (their
    mean) and offset (half their difference).

How
    1. Boxes: abutting boxes of one extent (a card's image and body, table rows) are merged
       into one surface; boxes hugging another within ``RING`` px (a shadow's first ring
       read as a box) are dropped.
    2. Profiles: per side, the median across ``LINES`` evenly spaced lines perpendicular
       to the side (away from the corners; text crossing a few lines does not count) of
       the pixels at distance 0..``REACH`` from the element, stopping at the next box and
       inside the container. A profile ends where it stops being one ramp towards the
       background: where it turns darker again (a shadow, a border, text) or jumps lighter
       after a plateau. A box facing the side across a gap (a card grid) is modelled as
       casting the same shadow, with its own amplitude (none, or at most the element's).
    3. Background: the plateau that ramping sides settle on (most agreeing, the lighter on
       a tie), the parent's fill when it agrees; a side settling on a plateau of its own (a
       backdrop over uneven content) is read against it. Sides that start lighter than
       the background, never settle, or still fall in their last third (gradients) are
       dropped.
    4. Fit: the separable model of a blurred rectangle on the same lines, reduced by the
       same median. The blur profile is Chromium's (Skia's three-box spline; see ``_cdf``)
       and for rounded elements its whole-pixel box widths are undone (``_css_sigma``).
       Amplitudes by bounded linear least squares (variable projection), (sigma, spread,
       offsetX, offsetY) by Levenberg-Marquardt with analytic derivatives from a grid
       start. Weak priors (offsetX 0, offsetY >= 0, alpha <= ``ALPHA_PRIOR``, spread >=
       -``SPREAD_LOW`` sigma) decide only what the visible sides leave open.
    5. Colour and alpha: the per-channel amplitudes with the fitted shape. Colour and alpha
       trade off (a grey at 0.2 is a black at 0.1 over white), so the least alpha that
       explains the darkening is reported; a darkening proportional to the background
       (within noise) is a black shadow.
    6. Accepted only when the ramp is blurred (sigma >= ``MIN_SIGMA`` CSS px: a border, a
       focus ring or an anti-aliased edge is a step), the model explains the data (R^2 >=
       ``MIN_R2``), two sides show it (or only the one below, with two others measured
       clean; or one, for a bar along the image edge; three when the side below is not
       measured, with less confidence), the vertical offset is determined
       (standard error <= ``MAX_OFFSET_ERR``) and not upwards (``MAX_UPWARD``: light comes from
       above), no parameter ran into a bound, and the darkening
       clears the noise. Confidence grows with depth (levels), fit quality and sides: on
       dark backgrounds shadows are a few levels deep and get less, or are left out.
    7. Elements the layout misses (a white card or popover on a white page whose only edge
       is its shadow, a coloured button whose glow never settles within the layout's
       profile): straight edges whose first outside pixel differs and whose outside keeps
       lightening for three more pixels (``_edge_points``), paired left/right or top/bottom
       with the same extent and fill, closed by the other sides' edges where they show (a
       top that does not show is modelled above the measured lines and not measured);
       at most ``MAX_EDGE_BOXES`` of them, fitted with the same guards as above.
    8. Scale: similar shadows (blur, offsetY) are grouped; names by ascending blur (``sm``,
       ``md``, ``lg``, ``xl``, ``2xl``...); value = the members' median; the group's
       ``$extensions`` list every element's box and token in elevation order.

Units and limits
    Lengths in CSS px (measured image px / ``ctx.scale``), quarter-px rounding; colour as
    DTCG sRGB with alpha. A multi-layer shadow (Tailwind ``0 1px 3px .., 0 1px 2px -1px ..``)
    is fitted as one effective shadow (the group's ``$description`` says so): its blur lies
    between the layers', usually near the widest. Faint shadows (alpha x background under
    ~3 levels at the edge), inset shadows, glows lighter than the background, hard
    (blur 0) offset shadows, pills with only the side below shadowed, and elements whose
    shadow shows on fewer than two straight sides are not reported. Tuned on headless Chromium screenshots; a renderer blurring with a true
    Gaussian reads ~5-10 % wider. Boxes are ``[x, y, w, h]`` in image px.

Pure and deterministic: no I/O; same input, same output.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stylestream.extractors import ExtractContext
from stylestream.extractors.components import component_roots
from stylestream.schemas.tokens import (
    EXTENSION_KEY,
    ColorValue,
    Evidence,
    ShadowToken,
    ShadowValue,
    px,
)

#: how far from an element's edge a shadow is followed (CSS px); Tailwind 2xl reaches ~75
REACH = 96
#: lines per side whose median is the profile
LINES = 31
#: lines of the model's median across a side (the data use ``LINES``)
MODEL_LINES = 9
#: profiles keep every pixel this close to the edge (CSS px), every other CSS px beyond
DENSE = 12
#: least element size (CSS px) worth measuring; smaller boxes are text and icons
MIN_SIDE = 14
#: least sigma (CSS px) of a shadow: sharper ramps are borders or anti-aliased edges
MIN_SIGMA = 0.6
#: least darkening (8-bit levels at the element's edge) that counts as a visible side
MIN_LEVELS = 2.5
#: least fraction of the darkening the model must explain (JPEG ringing fits badly)
MIN_R2 = 0.85
MIN_R2_LOSSY = 0.92
#: weight of the priors (see ``_fit``), and the alpha above which one starts
PRIOR = 0.05
ALPHA_PRIOR = 0.4
#: spreads below -SPREAD_LOW sigma start to cost (single-layer CSS shadows stay above -1)
SPREAD_LOW = 1.0
#: the spread prior's weight relative to the horizontal offset's
SPREAD_PRIOR = 0.05
#: per-element fits under this confidence are dropped; so are tokens
MIN_CONFIDENCE = 0.5
#: most candidate boxes fitted (largest first), so crowded pages stay fast
MAX_BOXES = 160
#: largest standard error (CSS px) of the vertical offset a reported shadow may have
MAX_OFFSET_ERR = 3.0
#: most upward offset (CSS px) reported; bottom sheets casting shadows upwards are rare
MAX_UPWARD = 2.0
#: a box within this many CSS px of another on every side is a ring around it
RING = 3
NAMES = ("sm", "md", "lg", "xl", "2xl", "3xl", "4xl", "5xl")

_LUMA = np.array([0.3, 0.6, 0.1])
_LUMA32 = _LUMA.astype(np.float32)
#: luma x 10 of the edge search
_LUMA10 = np.array([3.0, 6.0, 1.0], np.float32)
_SIDES = ("top", "right", "bottom", "left")


@dataclass(frozen=True, slots=True)
class ShadowFit:
    """One element's fitted shadow; lengths in image px, colour 0-255 sRGB."""

    box: tuple[int, int, int, int]
    offset_x: float
    offset_y: float
    blur: float
    spread: float
    color: tuple[int, int, int]
    alpha: float
    confidence: float
    #: sides whose darkening shows (of 4)
    sides: int
    r2: float
    #: darkening at the element's edge, 8-bit levels (the strongest side)
    depth: float
    #: standard errors of (ln sigma, spread, offsetX, offsetY), lengths in image px
    stderr: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def extract(image: np.ndarray, ctx: ExtractContext) -> dict[str, Any]:
    """Drop shadows of ``image`` (RGB uint8, H x W x 3) as ``{"shadow": {name: ShadowToken}}``.

    Element boxes come from ``layout.find_boxes``; see the module doc for the model.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    scale = float(ctx.scale) if ctx.scale > 0 else 1.0
    if min(image.shape[:2]) < 2 * MIN_SIDE * scale:
        return {"shadow": {}}
    boxes, backgrounds, radii = _element_boxes(image, ctx.lossy)
    lossy = ctx.lossy is True
    fits = fit_shadows(image, boxes, scale=scale, backgrounds=backgrounds, radii=radii,
                       lossy=lossy)
    if not lossy:
        # shadow-only elements are found from the ramp itself; JPEG ringing fakes such
        # ramps (2 false shadows on 17 shadowless harness pages), so lossy input skips it
        cands = _edge_candidates(image, scale, lossy, boxes)
        fits += _fit_edge_candidates(image, cands, boxes, scale, lossy, fits)
    return {"shadow": shadow_tokens(fits, scale)}


def _element_boxes(image: np.ndarray, lossy: bool | None):
    """Boxes, their parents' fills and radii from the layout extractor."""
    try:
        from stylestream.extractors.layout import find_boxes
    except ImportError:  # the layout extractor has not landed: nothing to measure around
        return [], [], []
    boxes, bgs, radii = [], [], []
    found = list(find_boxes(image, lossy=lossy))
    for b in found:
        boxes.append((int(b.x), int(b.y), int(b.w), int(b.h)))
        parent = getattr(b, "parent", None)
        fill = None
        if isinstance(parent, int) and 0 <= parent < len(found):
            fill = getattr(found[parent], "fill", None)
        elif parent is not None and hasattr(parent, "fill"):
            fill = parent.fill
        bgs.append(_as_rgb(fill))
        radii.append(float(getattr(b, "radius", 0.0) or 0.0))
    return boxes, bgs, radii


def _as_rgb(fill) -> tuple[int, int, int] | None:
    if fill is None:
        return None
    if isinstance(fill, str) and fill.startswith("#") and len(fill) >= 7:
        return tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    try:
        vals = tuple(int(v) for v in fill)[:3]
    except (TypeError, ValueError):
        return None
    return vals if len(vals) == 3 else None  # type: ignore[return-value]


# --- fitting -------------------------------------------------------------------------------

def fit_shadows(image: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], *,
                scale: float = 1.0,
                backgrounds: Sequence[tuple[int, int, int] | None] | None = None,
                radii: Sequence[float] | None = None, lossy: bool = False) -> list[ShadowFit]:
    """Fit a shadow around each plausible box; the accepted fits, in input order."""
    h, w = image.shape[:2]
    min_side = MIN_SIDE * scale
    boxes, members = _merge_abutting([tuple(int(v) for v in b) for b in boxes], scale)
    rings = _rings(boxes, scale)
    cand = []
    for i, (x, y, bw, bh) in enumerate(boxes):
        if bw < min_side or bh < min_side or i in rings:
            continue
        if bw * bh > 0.8 * w * h:  # the page itself or a full-screen container
            continue
        cand.append(i)
    # the largest first when there are too many (elevated surfaces are big), stable order
    if len(cand) > MAX_BOXES:
        cand = sorted(cand, key=lambda i: (-boxes[i][2] * boxes[i][3], i))[:MAX_BOXES]
        cand.sort()
    out = []
    for i in cand:
        first = members[i][0]
        bg = backgrounds[first] if backgrounds is not None and first < len(backgrounds) else None
        r = max((radii[j] for j in members[i] if j < len(radii)), default=0.0) \
            if radii is not None else 0.0
        fit = fit_shadow(image, boxes[i], scale=scale, background=bg, radius=r, lossy=lossy,
                         others=boxes)
        if fit is not None:
            out.append(fit)
    return out


def _rings(boxes: list[tuple[int, int, int, int]], scale: float) -> set[int]:
    """Boxes that hug another box within a few pixels on every side: a border or the first
    ring of a shadow read as a box of its own. The inner box is the element."""
    n = len(boxes)
    if n < 2:
        return set()
    b = np.asarray(boxes, np.int64).reshape(n, 4)
    x0, y0 = b[:, 0], b[:, 1]
    x1, y1 = x0 + b[:, 2], y0 + b[:, 3]
    t = RING * scale
    # [i, j]: box i hugs box j
    mx0 = x0[None, :] - x0[:, None]
    my0 = y0[None, :] - y0[:, None]
    mx1 = x1[:, None] - x1[None, :]
    my1 = y1[:, None] - y1[None, :]
    hug = ((mx0 >= 0) & (my0 >= 0) & (mx1 >= 0) & (my1 >= 0)
           & (mx0 <= t) & (my0 <= t) & (mx1 <= t) & (my1 <= t))
    np.fill_diagonal(hug, False)
    return {int(i) for i in np.flatnonzero(hug.any(axis=1))}


def _merge_abutting(boxes: list[tuple[int, int, int, int]], scale: float):
    """Boxes that touch edge to edge with the same extent (a card's image and body, the rows
    of a table, a segmented control) are one surface with one shadow: their union replaces
    them. Returns (boxes, member indices of each)."""
    n = len(boxes)
    if n < 2:
        return list(boxes), [[i] for i in range(n)]
    b = np.asarray(boxes, np.float64).reshape(n, 4)
    x, y, w, h = b.T
    t = 1.5 * scale
    same_x = (np.abs(x[:, None] - x[None, :]) <= t) & (np.abs(w[:, None] - w[None, :]) <= t)
    same_y = (np.abs(y[:, None] - y[None, :]) <= t) & (np.abs(h[:, None] - h[None, :]) <= t)
    below = np.abs((y + h)[:, None] - y[None, :]) <= t
    right = np.abs((x + w)[:, None] - x[None, :]) <= t
    link = (same_x & below) | (same_y & right)
    np.fill_diagonal(link, False)
    if not link.any():
        return list(boxes), [[i] for i in range(n)]
    roots = component_roots(n, *np.nonzero(link)).tolist()
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(roots[i], []).append(i)
    out, members = [], []
    for idx in sorted(groups):
        g = groups[idx]
        x0 = min(boxes[i][0] for i in g)
        y0 = min(boxes[i][1] for i in g)
        x1 = max(boxes[i][0] + boxes[i][2] for i in g)
        y1 = max(boxes[i][1] + boxes[i][3] for i in g)
        out.append((x0, y0, x1 - x0, y1 - y0))
        members.append(g)
    return out, members


def fit_shadow(image: np.ndarray, box: tuple[int, int, int, int], *, scale: float = 1.0,
               background: tuple[int, int, int] | None = None, radius: float = 0.0,
               lossy: bool = False,
               others: Sequence[tuple[int, int, int, int]] = ()) -> ShadowFit | None:
    """The drop shadow around one element (outer box ``[x, y, w, h]`` in image px), or None.

    ``background``: the colour behind the element if known (the parent's fill); measured
    from the profiles otherwise. ``radius``: the element's corner radius in image px.
    ``others``: the other boxes on the page: a profile stops at the first one it meets
    and at the inner edge of the box that contains the element; a neighbour facing a side
    across a gap (a card grid) is modelled as casting the same shadow, with its own
    amplitude (zero when it has none), so the gap between two shadows still measures.
    """
    x, y, w, h = (int(v) for v in box)
    tol = 3.0 if lossy else 1.5
    reach = max(8, int(round(REACH * scale)))
    limits = _side_limits((x, y, w, h), others, reach, radius, RING * scale)
    sides = _profiles(image, (x, y, w, h), limits, radius, tol, scale)
    H, W = image.shape[:2]
    # a bar along the image's edges (an app bar, a footer) shows its shadow on one side
    at_edge = sum(v <= 1 for v in (y, W - x - w, H - y - h, x))
    need = 1 if at_edge >= 2 else 2
    if sum(s is not None for s in sides) < need:
        return None
    bg = _background(sides, background, tol)
    if bg is None:
        return None
    bg_y = float(bg @ _LUMA)
    near = max(1, int(math.ceil(2 * scale)))
    data: list[np.ndarray | None] = []
    peaks = []
    side_bg: list[np.ndarray] = []
    for k, s in enumerate(sides):
        # a side that ramps into a plateau of its own (a backdrop or page that is not
        # uniform) is read against that plateau, as darkening relative to it
        own_bg = bg
        if s is not None and s.settled:
            plateau = s.rgb[-3:].mean(axis=0)
            p_y = float(plateau @ _LUMA)
            if (abs(p_y - bg_y) > tol and p_y - float(s.luma[0]) >= MIN_LEVELS
                    and p_y >= 8.0):
                own_bg = plateau
        side_bg.append(own_bg)
        u = None
        if s is not None:
            own_y = float(own_bg @ _LUMA)
            u = (own_y - s.luma) * (bg_y / max(own_y, 1.0))
        # a side that starts lighter than the background (a lighter neighbour, the rest of
        # a split card) or never settles near it (a darker neighbour, a gradient, an image)
        # shows no shadow ramp
        if u is not None and s is not None:
            peak = float(u[:near].max())
            # across a gap the two shadows add up: its lightest point only has to be lighter
            if s.neighbour is not None:
                rest, share = float(u.min()), 0.7
            else:
                rest, share = float(u[-3:].mean()), 0.35
            if float(u.min()) < -2 * tol or rest > max(tol, share * peak):
                u = None
            elif s.neighbour is None and s.dist[-1] >= 8 * scale:
                # a ramp still falling in its last third is a gradient, not a settled shadow
                last = s.dist >= 2 * s.dist[-1] / 3
                fall = float(u[last].max() - u[last].min())
                if fall > max(tol, 0.12 * peak):
                    u = None
        if u is None:
            sides[k] = None
        data.append(u)
        peaks.append(0.0 if u is None else float(u[:near].max()))
    if sum(u is not None for u in data) < need or max(peaks) < MIN_LEVELS:
        return None
    geom = _Geometry((x, y, w, h), sides)
    theta, amps, r2, err = _fit(geom, data, scale, max(bg_y, 1.0))
    if theta is None:
        return None
    sigma = math.exp(theta[0])
    spread, ox, oy = (float(v) for v in theta[1:])
    own = geom.per_side(geom.model(theta)[0])
    shown = 0
    depth = 0.0
    for k in range(4):
        if data[k] is None:
            continue
        m = amps[0] * own[k]
        if peaks[k] >= MIN_LEVELS and float(m[0]) >= MIN_LEVELS * 0.6:
            shown += 1
        depth = max(depth, float(m[0]))
    # a faint drop shadow may show below the element only: fine when at least two other
    # sides were measured clean and the one ramp fits well
    below_only = (shown == 1 and data[2] is not None and peaks[2] >= MIN_LEVELS
                  and sum(u is not None for u in data) >= 3 and r2 >= 0.95)
    if (sigma < MIN_SIGMA * scale or r2 < (MIN_R2_LOSSY if lossy else MIN_R2)
            or (shown < need and not below_only)
            or depth < MIN_LEVELS):
        return None
    # a vertical offset the data leave open is a guess
    if not err[3] <= MAX_OFFSET_ERR * scale:
        return None
    # light comes from above: an upward shadow is nearly always a misread (a box that is
    # only part of its surface, with a neighbour's shadow above it)
    if oy < -MAX_UPWARD * scale:
        return None
    # a fit that ran into a bound explains nothing; a band wider than its blur is a ring
    # (``0 0 0 3px``, a focus outline), drawn like a border
    if (sigma >= 0.99 * 60.0 * scale or max(abs(ox), abs(oy)) >= 0.99 * 80.0 * scale
            or abs(spread) >= 0.99 * 60.0 * scale or spread > 2.0 * sigma):
        return None
    # the ramp must settle inside what was measured: a ramp wider than that is a gradient
    longest = max(int(s.dist[-1]) + 1 for s in sides if s is not None)
    if 1.5 * sigma + max(0.0, spread) > longest:
        return None
    color, alpha = _colour(geom, sides, theta, amps, bg, side_bg, lossy)
    if alpha <= 0.0:
        return None
    # without the side below (the rest of a split card, a neighbour there) the offset and
    # the alpha rest on the other sides: take it only when three show a plausible shadow
    unseen_below = data[2] is None and H - (y + h) > 1
    if unseen_below and (shown < 3 or alpha > 1.25 * ALPHA_PRIOR):
        return None
    noise = 3.0 if lossy else 1.0
    conf = (0.3 - (0.15 if unseen_below else 0.0) + 0.35 * min(1.0, depth / (20.0 * noise))
            + 0.25 * min(1.0, max(0.0, (r2 - MIN_R2) / (0.99 - MIN_R2)))
            + 0.1 * (min(1.0, (shown - 2) / 2) if shown >= 2 else -1.0))
    if conf < MIN_CONFIDENCE:
        return None
    return ShadowFit(box=(x, y, w, h), offset_x=ox, offset_y=oy,
                     blur=2.0 * _css_sigma(sigma, radius >= 1.0),
                     spread=spread, color=color, alpha=alpha, confidence=round(conf, 3),
                     sides=shown, r2=round(r2, 4), depth=round(depth, 2),
                     stderr=tuple(round(float(v), 4) for v in err))


@dataclass(slots=True)
class _Limit:
    """How far a side's profile may go, and the neighbour box facing it (if any)."""

    length: int
    neighbour: tuple[int, int, int, int] | None = None


def _band(box, name: str, radius: float) -> tuple[int, int]:
    """The range along a side whose lines are measured: away from the rounded corners."""
    x, y, w, h = box
    horizontal = name in ("top", "bottom")
    length = w if horizontal else h
    margin = int(math.ceil(max(radius * 1.1, 0.15 * length, 2.0)))
    base = x if horizontal else y
    return base + margin, base + length - margin


def _side_limits(box, others, reach: int, radius: float, ring: float) -> list[_Limit]:
    x, y, w, h = box
    x1, y1 = x + w, y + h
    limits = [_Limit(reach) for _ in _SIDES]
    if len(others) > 8:
        # only boxes within reach of this one can limit a side (containers hold it, so
        # they are near too): the rest are dropped at once, in order
        a = np.asarray(others, np.float64).reshape(-1, 4)
        g = reach + 1
        near = ((a[:, 0] < x1 + g) & (a[:, 0] + a[:, 2] > x - g)
                & (a[:, 1] < y1 + g) & (a[:, 1] + a[:, 3] > y - g))
        others = [others[i] for i in np.flatnonzero(near)]
    bands = [_band(box, name, radius) for name in _SIDES]
    for o in others:
        ox0, oy0, ow, oh = (int(v) for v in o)
        ox1, oy1 = ox0 + ow, oy0 + oh
        if (ox0, oy0, ow, oh) == (x, y, w, h):
            continue
        if ox0 <= x and oy0 <= y and ox1 >= x1 and oy1 >= y1:
            # the container: profiles stay inside it (a ring hugging the element is not one)
            for k, dist in enumerate((y - oy0, ox1 - x1, oy1 - y1, x - ox0)):
                if dist > ring:
                    limits[k].length = min(limits[k].length, dist)
            continue
        if ox0 >= x and oy0 >= y and ox1 <= x1 and oy1 <= y1:
            continue  # a child
        for k, name in enumerate(_SIDES):
            lo, hi = bands[k]
            if name in ("top", "bottom"):
                o_lo, o_hi = ox0, ox1
                dist = y - oy1 if name == "top" else oy0 - y1
            else:
                o_lo, o_hi = oy0, oy1
                dist = x - ox1 if name == "left" else ox0 - x1
            if dist < 0 or o_hi <= lo or o_lo >= hi:
                continue  # not in this side's strip
            lim = limits[k]
            if dist < lim.length:
                lim.length = dist
                covers = min(o_hi, hi) - max(o_lo, lo) >= 0.9 * (hi - lo)
                lim.neighbour = (ox0, oy0, ow, oh) if covers else None
            elif dist == lim.length and lim.neighbour is not None:
                lim.neighbour = None  # two boxes at the same distance: do not model
    return limits


@dataclass(slots=True)
class _Side:
    name: str
    #: (n, 3) median colour at distance 0..n-1 from the edge
    rgb: np.ndarray
    luma: np.ndarray
    #: positions along the side (pixel indices) of the lines used
    along: np.ndarray
    #: the profile ends on a plateau (its last values agree)
    settled: bool
    #: a box facing this side across the gap the profile spans (modelled)
    neighbour: tuple[int, int, int, int] | None
    #: distance from the edge (image px) of each sample
    dist: np.ndarray


def _profiles(img: np.ndarray, box, limits: list[_Limit], radius: float,
              tol: float, scale: float) -> list[_Side | None]:
    H, W = img.shape[:2]
    x, y, w, h = box
    out: list[_Side | None] = []
    for name, lim in zip(_SIDES, limits):
        horizontal = name in ("top", "bottom")
        start, stop = _band(box, name, radius)
        avail = {"top": y, "bottom": H - (y + h), "left": x, "right": W - (x + w)}[name]
        n = min(lim.length, avail)
        lo, hi = max(start, 0), min(stop, W if horizontal else H)
        if n < 4 or hi - lo < 3:
            out.append(None)
            continue
        along = np.array(_spaced(lo, hi, min(LINES, hi - lo)), np.intp)
        if len(along) % 2 == 0:
            along = along[1:]
        # (distance, line, channel): the pixels at distance 0..n-1 outside, per line
        if name == "top":
            block = img[y - n: y][::-1][:, along]
        elif name == "bottom":
            block = img[y + h: y + h + n][:, along]
        elif name == "left":
            block = img[along, x - n: x][:, ::-1].transpose(1, 0, 2)
        else:
            block = img[along, x + w: x + w + n].transpose(1, 0, 2)
        mid = block.shape[1] // 2  # an odd number of lines: the median is one of them
        rgb = np.partition(block, mid, axis=1)[:, mid].astype(np.float64, order="C")
        luma = rgb @ _LUMA
        neighbour = lim.neighbour if n == lim.length else None
        if neighbour is not None:
            # up to the middle of the gap the profile is ours; beyond it the neighbour's
            half = (n + 1) // 2
            end, _ = _valid_length(luma[:half], tol)
            if end < half:
                neighbour = None
            else:
                end = n - 1  # the pixel next to the neighbour may be its anti-aliasing
        else:
            end, _ = _valid_length(luma, tol)
        if end < 4:
            out.append(None)
            continue
        tail = luma[max(0, end - 4): end]
        settled = neighbour is None and float(tail.max() - tail.min()) <= tol
        # every pixel near the edge, where the ramp is steep; sparser beyond
        dense = min(end, int(math.ceil(DENSE * scale)))
        picks = list(range(dense)) + list(range(dense, end, max(2, int(round(2 * scale)))))
        if picks[-1] != end - 1:
            picks.append(end - 1)
        dist = np.array(picks, np.intp)
        out.append(_Side(name, rgb[dist], luma[dist], along, settled, neighbour, dist))
    return out


def _spaced(lo: int, hi: int, num: int) -> list[int]:
    """``np.unique(np.linspace(lo, hi - 1, num).round())`` as a list, its arithmetic
    spelt out (numpy's: i * step + lo, the last one hi - 1; rounding half to even)."""
    if num < 2:
        return np.unique(np.linspace(lo, hi - 1, num).round().astype(np.intp)).tolist()
    step = (hi - 1 - lo) / (num - 1)
    picks = [round(i * step + lo) for i in range(num - 1)] + [hi - 1]
    return [v for k, v in enumerate(picks) if k == 0 or v != picks[k - 1]]


def _css_sigma(sigma: float, rounded: bool) -> float:
    """The CSS sigma (blur / 2) behind a measured kernel deviation, image px.

    Chromium blurs a plain rectangle's shadow analytically with the CSS sigma, but a
    rounded one's mask with three box filters of whole-pixel width
    d = floor(sigma * 3 sqrt(2 pi) / 4 + 0.5) (the SVG approximation), whose deviation is
    sqrt((d^2 - 1) / 4): ~6 % under the CSS sigma. Invert that for rounded elements."""
    if not rounded:
        return sigma
    return math.sqrt(4.0 * sigma * sigma + 1.0) / (3.0 * math.sqrt(2.0 * math.pi) / 4.0)


def _valid_length(luma: np.ndarray, tol: float) -> tuple[int, bool]:
    """Where a profile stops being one ramp towards the background: (end, cut by darker)."""
    values = luma.tolist()
    run_max = values[0]
    n = len(values)
    half = tol / 2
    for i in range(1, n):
        v = values[i]
        if v < run_max - tol:
            return i, True
        if i >= 5 and v - values[i - 1] > tol:
            prev = values[i - 5: i]
            if max(prev) - min(prev) <= half:  # a step up after a plateau
                return i, False
        if v > run_max:
            run_max = v
    return n, False


def _background(sides: list[_Side | None], given, tol: float) -> np.ndarray | None:
    """The colour the shadow darkens: the plateau that sides ramping into it settle on
    (most sides agreeing, the lighter on a tie); else the lightest point of a gap between
    neighbours; else a flat side's colour (then there is no ramp, and no shadow)."""
    settled = [s for s in sides if s is not None and s.settled]
    ramps = [s for s in settled if float(s.luma[-3:].mean() - s.luma[0]) >= MIN_LEVELS]
    if ramps:
        far = [s.rgb[-3:].mean(axis=0) for s in ramps]
    else:
        far = [s.rgb[int(np.argmax(s.luma))] for s in sides
               if s is not None and s.neighbour is not None]
        if not far:
            far = [s.rgb[-3:].mean(axis=0) for s in settled]
    if not far:
        return None
    far_y = np.array([f @ _LUMA for f in far])
    best, best_key = 0, None
    for i, fy in enumerate(far_y):
        key = (int((np.abs(far_y - fy) <= tol + 0.5).sum()), float(fy))
        if best_key is None or key > best_key:
            best, best_key = i, key
    bg = far[best]
    if given is not None:
        g = np.asarray(given, np.float64)
        if abs(float(g @ _LUMA) - float(bg @ _LUMA)) <= 2 * tol:
            bg = g
    return bg


def _cdf(z: np.ndarray) -> np.ndarray:
    """The blur's edge profile: CDF of the blur kernel at ``z`` standard deviations.

    Chromium's raster path (Skia's blurred rectangles) approximates the Gaussian by three
    box filters, a quadratic B-spline of the same deviation with support +-3 sigma; its
    profile, not the Gaussian's, is what screenshots show (a Gaussian fit to it reads the
    blur ~7 % small and the spread ~7 % of the blur large). This is that CDF, exactly."""
    # x = clip(z / 2, +-1.5); a = |x| = min(|z / 2|, 1.5); in place where it can be (the
    # grids of _starts are large): the same operations on every value
    x = np.asarray(z, np.float64) * 0.5
    a = np.abs(x)
    np.minimum(a, 1.5, out=a)
    return _spline_cdf(a, x >= 0)[0]


def _spline_cdf(a: np.ndarray, positive: np.ndarray):
    """``_cdf`` from a = min(|z| / 2, 1.5) and where z >= 0; also a * a and a <= 0.5, which
    ``_pdf`` shares. In place where it can be (the grids of ``_starts`` are large)."""
    aa = a * a
    a3 = aa * a
    qa = 0.75 * a
    inner = qa + 0.5  # 0.5 + qa - a3 / 3
    inner -= a3 / 3.0
    up = a3 / 6.0  # 0.4375 + a3 / 6 - qa a + 1.125 a
    up += 0.4375
    tmp = qa * a
    up -= tmp
    np.multiply(a, 1.125, out=tmp)
    up += tmp
    le = a <= 0.5
    np.copyto(up, inner, where=le)
    p = 1.0 - up
    np.copyto(p, up, where=positive)
    return p, aa, le


def _pdf(z: np.ndarray) -> np.ndarray:
    """Derivative of ``_cdf`` by z."""
    a = np.minimum(np.abs(np.asarray(z, np.float64)) * 0.5, 1.5)
    return 0.5 * np.where(a <= 0.5, 0.75 - a * a, 0.5 * (1.5 - a) ** 2)


class _Geometry:
    """Sample coordinates of every profile, to evaluate the blurred-rectangle model.

    A *term* is one box's shadow seen along one side's lines: its coverage is the product
    of an x factor and a y factor (a blurred rectangle is separable), and the lines'
    median of the factor along the side times the factor across it. Every side has its
    own element's term; a side facing a neighbour also has the neighbour's. ``model``
    returns both columns stacked in data order, and their derivatives by theta.

    All samples of all terms are laid out once, in one array, so that an evaluation is a
    few operations on it whatever the number of terms: first the factors across the sides
    (the elements' terms in data order, then the neighbours'), then each term's factors
    along its side (``MODEL_LINES`` of them; terms with as many lines form one block whose
    medians are taken in one call).
    """

    def __init__(self, box, sides: list[_Side | None]):
        self.sides = sides
        #: each side's slice of the stacked data (None: side unused)
        self.slices: list[slice | None] = []
        x, y, w, h = box
        # per sample: coordinate, the term box's near and far edge on its axis, x axis?
        own: list[tuple] = []   # (perp coords, edges, is x, along coords, edges, horizontal)
        nbs: list[tuple] = []
        nb_rows: list[np.ndarray] = []
        nout = 0
        for s in sides:
            if s is None:
                self.slices.append(None)
                continue
            d = s.dist.astype(np.float64)
            out = slice(nout, nout + len(d))
            self.slices.append(out)
            # the model's median across the lines needs only a few of them
            pick = _spaced(0, len(s.along), min(MODEL_LINES, len(s.along)))
            along = s.along[pick].astype(np.float64) + 0.5
            perp = {"top": y - 1 - d, "bottom": y + h + d,
                    "left": x - 1 - d, "right": x + w + d}[s.name] + 0.5
            horizontal = s.name in ("top", "bottom")
            for is_nb, (bx, by, bw, bh) in [(False, box)] + (
                    [(True, s.neighbour)] if s.neighbour is not None else []):
                ex = (float(bx), float(bx + bw))
                ey = (float(by), float(by + bh))
                term = (perp, ey if horizontal else ex, not horizontal,
                        along, ex if horizontal else ey, horizontal)
                (nbs if is_nb else own).append(term)
                if is_nb:
                    nb_rows.append(np.arange(nout, nout + len(d)))
            nout += len(d)
        self.n = nout
        terms = own + nbs
        self.has_neighbours = bool(nbs)
        self.n_nb = sum(len(t[0]) for t in nbs)
        self.nb_rows = np.concatenate(nb_rows) if nb_rows else np.zeros(0, np.intp)
        ne = self.n + self.n_nb
        # terms with as many lines along their side: one block each, (terms, lines)
        self.blocks: list[tuple[np.ndarray, int, int]] = []  # (term ids, start, lines)
        by_len: dict[int, list[int]] = {}
        for k, t in enumerate(terms):
            by_len.setdefault(len(t[3]), []).append(k)
        # segments of samples: (coordinates, the box's edges on their axis, x axis?), the
        # factors across first (data order), then the blocks' factors along
        segs = [(c, e, ax) for c, e, ax, _, _, _ in terms]
        start = ne
        par_start = np.zeros(len(terms), np.intp)
        for lines, ids in sorted(by_len.items()):
            self.blocks.append((np.asarray(ids, np.intp), start, lines))
            for k in ids:
                _, _, _, c, e, hor = terms[k]
                segs.append((c, e, hor))
                par_start[k] = start
                start += lines
        lens = [len(c) for c, _, _ in segs]
        self.ns = start
        self.ne = ne
        self.one_block = len(self.blocks) == 1
        self.par_start = par_start
        coord = [c for c, _, _ in segs]
        self.coord2 = np.concatenate(coord + coord)
        self.edges = np.concatenate((np.repeat([e[0] for _, e, _ in segs], lens),
                                     np.repeat([e[1] for _, e, _ in segs], lens)))
        self.sign = np.repeat([-1.0, 1.0], start)
        isx = np.repeat(np.array([int(ax) for _, _, ax in segs], np.intp), lens)  # 1: x
        self.isx2 = np.concatenate((isx, isx))
        elem_lens = lens[: len(terms)]
        self.elem_term = np.repeat(np.arange(len(terms)), elem_lens)
        self.elem_h = np.repeat([t[5] for t in terms], elem_lens)
        self._last: tuple | None = None
        # each element's term's first sample along; no neighbours: b and db are zeros
        self.elem_base = self.par_start[self.elem_term]
        self.zeros = np.zeros(self.n)
        self.zeros.flags.writeable = False
        self.zeros4 = np.zeros((self.n, 4))
        self.zeros4.flags.writeable = False
        # columns offsetX, offsetY of each element: from the derivatives across (row 2)
        # or along (row 5) of the (6, ne) parts, by the side's direction
        e = np.arange(ne)
        hor = self.elem_h
        self.offset_cols = np.stack([np.where(hor, 5 * ne + e, 2 * ne + e),
                                     np.where(hor, 2 * ne + e, 5 * ne + e)])

    def _evaluate(self, theta):
        """(sigma, z, factors across, coverage of the elements, each element's term's median
        along and its sample, a, b, pieces of _cdf) at theta; the last theta's are kept."""
        key = (float(theta[0]), float(theta[1]), float(theta[2]), float(theta[3]))
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        sigma = math.exp(theta[0])
        spread, ox, oy = theta[1], theta[2], theta[3]
        # z = (coordinate - (edge -+ spread + offset)) / sigma, the edges' shifts in the
        # same order of operations as per sample
        t = self.sign * spread
        t += self.edges
        t += np.array((oy, ox))[self.isx2]
        z = np.subtract(self.coord2, t, out=t)
        z /= sigma
        # _cdf(z), its operations one by one, keeping what _pdf(z) shares with it. |x| for
        # x = clip(z / 2, +-1.5) is min(|z| / 2, 1.5), and x >= 0 where z >= 0 (z is 0 or
        # far from the smallest subnormal: coordinates are pixel centres)
        a = np.abs(z)
        a *= 0.5
        np.minimum(a, 1.5, out=a)
        p, aa, le = _spline_cdf(a, z >= 0)
        ns, n, ne = self.ns, self.n, self.ne
        cov = p[:ns] - p[ns:]
        # the median along each term's lines: (arg)partition per row picks the same sample
        # among ties as it does on the row alone
        if self.one_block:
            _, start, lines = self.blocks[0]
            mid = lines // 2
            i = cov[start:].reshape(-1, lines).argpartition(mid, axis=1)[:, mid]
        else:
            i = np.empty(len(self.par_start), np.intp)
            for ids, start, lines in self.blocks:
                mid = lines // 2
                par = cov[start: start + len(ids) * lines].reshape(-1, lines)
                i[ids] = par.argpartition(mid, axis=1)[:, mid]
        sel_e = i.take(self.elem_term)
        sel_e += self.elem_base
        pm_e = cov.take(sel_e)
        np.maximum(pm_e, 0.0, out=pm_e)
        perp = cov[:ne]
        # where(perp > 0, perp, 0) * pm: perp is never -0 (a difference) nor nan
        v = np.maximum(perp, 0.0)
        v *= pm_e
        a_el = v[:n]
        if ne > n:
            b = np.zeros(n)
            b[self.nb_rows] = v[n:]
        else:
            b = self.zeros
        res = (sigma, z, perp, v, pm_e, sel_e, a_el, b, (a, aa, le))
        self._last = (key, res)
        return res

    def model(self, theta, jac: bool = False):
        """Coverage (0..1) of the element's shadow and of the neighbours' at every sample,
        for theta = (ln sigma, spread, offsetX, offsetY): (a, b) or (a, b, da, db) with
        derivatives of shape (n, 4)."""
        sigma, z, perp, v, pm_e, sel_e, a, b, (az, aa, le) = self._evaluate(theta)
        if not jac:
            return a, b
        n, ne, ns = self.n, self.ne, self.ns
        # _pdf(z) from the pieces _cdf shared: 0.5 * (0.75 - a^2 or 0.5 (1.5 - a)^2)
        t = 1.5 - az
        t *= t
        t *= 0.5
        g = np.where(le, 0.75 - aa, t)
        g *= 0.5
        g0, g1 = g[:ns], g[ns:]
        # d cov / (d ln sigma, d spread, d offset of its own axis), one row each
        dm = np.empty((3, ns))
        np.multiply(z[ns:], g1, out=dm[0])
        dm[0] -= z[:ns] * g0
        np.add(g0, g1, out=dm[1])
        dm[1] /= sigma
        np.subtract(g1, g0, out=dm[2])
        dm[2] /= sigma
        # the factor across's derivative times the median along, and the median's
        # derivative times the factor across
        parts = np.empty((6, ne))
        np.multiply(dm[:, :ne], pm_e, out=parts[:3])
        np.multiply(dm.take(sel_e, axis=1), perp, out=parts[3:])
        # ln sigma and spread move both factors; each factor has its own offset
        d = np.empty((ne, 4))
        dt = d.T
        np.add(parts[0:2], parts[3:5], out=dt[:2])
        dt[2:] = parts.ravel().take(self.offset_cols)
        # zero where the term is: where the factor across or the median is not > 0 (their
        # product, positive, does not underflow)
        d[v <= 0] = 0.0
        da = d[:n]
        if ne > n:
            db = np.zeros((n, 4))
            db[self.nb_rows] = d[n:]
        else:
            db = self.zeros4
        return a, b, da, db

    def per_side(self, values: np.ndarray) -> list[np.ndarray | None]:
        return [None if sl is None else values[sl] for sl in self.slices]


def _amplitudes(a: np.ndarray, b: np.ndarray, u: np.ndarray, with_nb: bool,
                top: float) -> tuple[float, float]:
    """Least squares of u ~ p a + q b with 0 <= q <= p <= top: the element's shadow no
    darker than black (alpha <= 1), a neighbour's no stronger than the element's (a grid
    of equal cards; a neighbour with a stronger shadow of another shape must not explain
    this element's ramp). Two columns, so by hand: the free optimum if feasible, else the
    best point on the edges of the feasible triangle."""
    aa, ua = float(a.dot(a)), float(u.dot(a))
    if aa <= 0:
        return 0.0, 0.0
    if not with_nb:
        return min(max(ua / aa, 0.0), top), 0.0
    bb, ab, ub = float(b.dot(b)), float(a.dot(b)), float(u.dot(b))
    det = aa * bb - ab * ab
    if bb > 0 and det > 1e-12 * aa * bb:
        p = (ua * bb - ub * ab) / det
        q = (ub * aa - ua * ab) / det
        if 0 <= q <= p <= top:
            return p, q

    def cost(p: float, q: float) -> float:
        return p * p * aa + 2 * p * q * ab + q * q * bb - 2 * p * ua - 2 * q * ub

    both = aa + 2 * ab + bb
    cands = [(min(max(ua / aa, 0.0), top), 0.0)]  # q = 0
    if both > 0:  # q = p
        p = min(max((ua + ub) / both, 0.0), top)
        cands.append((p, p))
    if bb > 0:  # p = top
        cands.append((top, min(max((ub - top * ab) / bb, 0.0), top)))
    return min(cands, key=lambda pq: cost(*pq))


def _amplitude_derivatives(a, b, u, da, db, p: float, q: float, top: float):
    """d(p, q)/d theta of ``_amplitudes``' solution (each shape (4,))."""
    zero = np.zeros(4)
    eps = 1e-9 * max(top, 1.0)
    p_free = eps < p < top - eps
    if q <= eps:  # q = 0: one column
        aa = float(a.dot(a))
        if not p_free or aa <= 0:
            return zero, zero
        return (da.T @ u - 2.0 * p * (da.T @ a)) / aa, zero
    if abs(q - p) <= eps:  # q = p: the sum of the columns
        c, dc = a + b, da + db
        cc = float(c.dot(c))
        if not p_free or cc <= 0:
            return zero, zero
        d = (dc.T @ u - 2.0 * p * (dc.T @ c)) / cc
        return d, d
    if not p_free:  # p = top
        bb = float(b.dot(b))
        if bb <= 0 or not (eps < q < top - eps):
            return zero, zero
        return zero, (db.T @ u - top * (da.T @ b + db.T @ a) - 2.0 * q * (db.T @ b)) / bb
    aa, ab, bb = float(a.dot(a)), float(a.dot(b)), float(b.dot(b))
    det = aa * bb - ab * ab
    if det <= 0:
        return zero, zero
    # M [p, q] = v  =>  M d[p, q] = dv - dM [p, q]
    d_aa = 2.0 * (da.T @ a)
    d_ab = da.T @ b + db.T @ a
    d_bb = 2.0 * (db.T @ b)
    r1 = da.T @ u - (d_aa * p + d_ab * q)
    r2 = db.T @ u - (d_ab * p + d_bb * q)
    return (bb * r1 - ab * r2) / det, (aa * r2 - ab * r1) / det


def _fit(geom: _Geometry, data: list[np.ndarray | None], scale: float, top: float):
    """Least squares: (theta, (own, neighbour) amplitudes in levels, R^2)."""
    u = np.concatenate([d for d in data if d is not None])
    # each side weighs the same whatever its length
    wts = np.concatenate([np.full(len(d), 1.0 / math.sqrt(len(d))) for d in data if d is not None])
    uw = u * wts
    total = float(uw @ uw)
    if total <= 0:
        return None, (0.0, 0.0), 0.0, None
    # weak priors that only decide what the visible sides leave open (a side hidden by a
    # neighbour, a ramp seen only in its tail): horizontal offset 0, spread 0, light from
    # above (offsetY >= 0), and what design systems use: alpha up to ~ALPHA_PRIOR, spread
    # no less than -SPREAD_LOW sigma. Where the
    # data say otherwise they win; a prior residual of 1 costs PRIOR^2 of the darkening.
    unit = PRIOR * math.sqrt(total)
    with_nb = geom.has_neighbours

    n = len(u)
    wcol = wts[:, None]
    zeros = np.zeros(n)
    s10 = 10.0 * scale
    # solve() at one theta is asked for more than once (the step accepted, then its
    # jacobian; the best point again at the end): kept, by theta's bytes
    memo: dict[bytes, list] = {}

    def solve(theta, jac: bool = False):
        key = theta.tobytes()
        hit = memo.get(key)
        if hit is None:
            a, b = geom.model(theta)
            a = a * wts
            b = b * wts if with_nb else zeros  # 0 * w: the same zeros
            p, q = _amplitudes(a, b, uw, with_nb, top)
            t0, t1, t2, t3 = theta.tolist()
            sigma = math.exp(t0)
            sp_low = -t1 / sigma - SPREAD_LOW
            r = np.empty(n + 5)
            rd = r[:n]
            np.multiply(a, p, out=rd)
            np.subtract(uw, rd, out=rd)
            if with_nb:
                rd -= q * b  # without neighbours q b is +0: subtracting it changes nothing
            r[n:] = (unit * (t2 / s10), unit * (SPREAD_PRIOR * t1 / s10),
                     unit * (max(0.0, -t3) / s10), unit * (max(0.0, p / top - ALPHA_PRIOR) * 4.0),
                     unit * max(0.0, sp_low))
            hit = memo[key] = [r, (p, q), a, b, sigma, sp_low, None]
        r, (p, q), a, b, sigma, sp_low, j = hit
        if not jac:
            return r, (p, q)
        if j is not None:
            return r, (p, q), j
        # the amplitudes follow theta (variable projection): differentiate the least
        # squares solution on whichever edge of the feasible set it lies
        _, _, da, db = geom.model(theta, jac=True)  # fresh arrays (but the zeros)
        da *= wcol
        if with_nb:
            db *= wcol
        dp, dq = _amplitude_derivatives(a, b, uw, da, db, p, q, top)
        j = np.empty((n + 5, 4))
        # -(p da + q db) - a dp - b dq, in that order; without neighbours q db and b dq
        # are +0 (adding +0 still turns -0 into +0, so that stays)
        jd = j[:n]
        np.multiply(da, p, out=jd)
        if with_nb:
            jd += q * db
        else:
            jd += 0.0
        np.negative(jd, out=jd)
        jd -= a[:, None] * dp[None, :]
        if with_nb:
            jd -= b[:, None] * dq[None, :]
        j[n:] = 0.0
        j[-5, 2] = unit / (10.0 * scale)
        j[-4, 1] = unit * SPREAD_PRIOR / (10.0 * scale)
        if theta[3] < 0:
            j[-3, 3] = -unit / (10.0 * scale)
        if p / top > ALPHA_PRIOR:
            j[-2] = unit * 4.0 * dp / top
        if sp_low > 0:
            j[-1, 1] = -unit / sigma
            j[-1, 0] = unit * theta[1] / sigma
        hit[6] = j
        return r, (p, q), j

    best = None
    for theta0 in _starts(geom, data, scale):
        theta, r, amps = _levenberg_marquardt(solve, np.asarray(theta0, np.float64), scale)
        sse = float(r @ r)
        if best is None or sse < best[0] - 1e-12:
            best = (sse, theta, amps)
    _, theta, amps = best
    r, amps, jac = solve(theta, True)
    sse = float(r[:-5] @ r[:-5])
    # standard errors of theta from what the data (and the offsetX prior) determine
    rows = np.r_[np.arange(len(r) - 5), len(r) - 5]
    jj = jac[rows].T @ jac[rows]
    dof = max(1, len(r) - 5 - 5)
    try:
        cov = np.linalg.inv(jj + 1e-12 * np.eye(4)) * (sse / dof)
        err = np.sqrt(np.maximum(np.diag(cov), 0.0))
    except np.linalg.LinAlgError:
        err = np.full(4, np.inf)
    return theta, amps, 1.0 - sse / total, err


@functools.lru_cache(maxsize=8)
def _start_grids(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The sigma and edge grids of ``_starts`` (read-only; the same for every element)."""
    sig_grid = np.geomspace(0.5 * scale, 40.0 * scale, 18)
    z_grid = np.linspace(-3.0, 3.0, 13)
    sig_grid.flags.writeable = False
    z_grid.flags.writeable = False
    return sig_grid, z_grid


def _starts(geom: _Geometry, data, scale: float) -> list[tuple[float, float, float, float]]:
    """Start points from a grid: one sigma shared by the sides, each side's own edge
    position and amplitude on the 1-D ramp (the part of a profile before the middle of a
    gap, where a neighbour's shadow is small)."""
    sig_grid, z_grid = _start_grids(scale)
    total = np.zeros(len(sig_grid))
    best_z: dict[str, np.ndarray] = {}
    for s, u in zip(geom.sides, data):
        if s is None or u is None or float(u[: max(1, int(2 * scale))].max()) < MIN_LEVELS:
            continue
        t = s.dist.astype(np.float64) + 0.5
        if s.neighbour is not None:
            keep = s.dist <= max(4, (int(s.dist[-1]) + 1) // 2)
            u, t = u[keep], t[keep]
        sig = sig_grid[:, None, None]
        e = z_grid[None, :, None] * sig
        arg = e - t[None, None, :]
        arg /= sig
        m = _cdf(arg)  # (S, Z, n)
        sq = m * m
        den = sq.sum(axis=2)
        np.multiply(m, u, out=sq)
        amp = np.clip(sq.sum(axis=2) / np.maximum(den, 1e-12), 0.0, None)
        np.multiply(amp[..., None], m, out=sq)
        np.subtract(u, sq, out=sq)
        sq *= sq
        sse = sq.sum(axis=2) / float(u @ u)
        j = np.argmin(sse, axis=1)
        total += sse[np.arange(len(sig_grid)), j]
        best_z[s.name] = z_grid[j]
    if not best_z:
        return [(math.log(2.0 * scale), 0.0, 0.0, 0.0)]
    i = int(np.argmin(total))
    sigma0 = float(sig_grid[i])
    edges = {k: float(z[i]) * sigma0 for k, z in best_z.items()}
    hidden = -2.5 * sigma0
    e = {k: edges.get(k, hidden) for k in _SIDES}
    spreads = []
    if "top" in edges and "bottom" in edges:
        spreads.append((e["top"] + e["bottom"]) / 2)
    if "left" in edges and "right" in edges:
        spreads.append((e["left"] + e["right"]) / 2)
    spread0 = float(np.mean(spreads)) if spreads else min(edges.values())
    oy0 = (e["bottom"] - e["top"]) / 2 if ("top" in edges) == ("bottom" in edges) else (
        e["bottom"] - spread0 if "bottom" in edges else spread0 - e["top"])
    ox0 = (e["right"] - e["left"]) / 2 if ("left" in edges) == ("right" in edges) else (
        e["right"] - spread0 if "right" in edges else spread0 - e["left"])
    starts = [(math.log(sigma0), spread0, ox0, oy0)]
    if ox0 != 0.0:
        starts.append((math.log(sigma0), spread0, 0.0, oy0))
    return starts


def _levenberg_marquardt(solve, theta: np.ndarray, scale: float, iters: int = 30):
    lam = 1e-2
    r, amps, jac = solve(theta, True)
    sse = float(r @ r)
    lo = np.array([math.log(0.25 * scale), -60.0 * scale, -80.0 * scale, -80.0 * scale])
    hi = np.array([math.log(60.0 * scale), 60.0 * scale, 80.0 * scale, 80.0 * scale])
    for _ in range(iters):
        g = jac.T @ r
        a = jac.T @ jac
        improved = False
        rel = 0.0
        # a + lam diag(diag(a) + 1e-9): off the diagonal a + (lam 0 = +0), on it one sum
        base = a + 0.0
        dd = a.diagonal() + 1e-9
        ng = -g
        for _ in range(10):
            m = base.copy()
            m.ravel()[::5] += lam * dd
            try:
                delta = np.linalg.solve(m, ng)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            cand = np.minimum(np.maximum(theta + delta, lo), hi)
            r2, amps2 = solve(cand)
            sse2 = float(r2.dot(r2))
            if sse2 < sse:
                rel = (sse - sse2) / max(sse, 1e-12)
                theta, amps, sse = cand, amps2, sse2
                lam = max(lam / 3, 1e-7)
                improved = True
                break
            lam *= 4
        if not improved or rel < 1e-4:
            break
        d0, d1, d2, d3 = delta.tolist()
        if abs(d1) < 0.01 * scale and abs(d2) < 0.01 * scale and abs(d3) < 0.01 * scale \
                and abs(d0) < 1e-3:
            break
        r, amps, jac = solve(theta, True)
    r, amps = solve(theta)
    return theta, r, amps


def _colour(geom: _Geometry, sides, theta, amps, bg: np.ndarray, side_bg, lossy: bool):
    """(rgb 0-255, alpha): per-channel amplitudes with the fitted shape, least alpha.
    Each side's darkening is taken against its own background, rescaled to ``bg``."""
    a, b = geom.model(theta)
    rgb = np.concatenate([s.rgb for s in sides if s is not None])
    own = np.concatenate([np.broadcast_to(side_bg[k], s.rgb.shape)
                          for k, s in enumerate(sides) if s is not None])
    dark = (own - rgb) * (bg[None, :] / np.maximum(own, 1.0))
    # the neighbours' share of the darkening, as fitted on luma, is not the element's
    p, q = amps
    if p > 0 and q > 0:
        dark = dark * (p * a / np.maximum(p * a + q * b, 1e-9))[:, None]
    den = float(a @ a)
    if den <= 0:
        return (0, 0, 0), 0.0
    k = (dark * a[:, None]).sum(axis=0) / den  # darkening per channel at full coverage
    if float(k @ _LUMA) <= 0:
        return (0, 0, 0), 0.0
    noise = 4.0 if lossy else 1.5
    # a black shadow darkens every channel in proportion to the background
    ratio_black = float(k.sum()) / max(float(bg.sum()), 1e-9)
    black_pred = ratio_black * bg
    if float(np.abs(k - black_pred).max()) <= noise + 0.15 * float(np.abs(k).max()):
        return (0, 0, 0), float(min(1.0, ratio_black))
    need = [0.0]
    for c in range(3):
        if k[c] > 0 and bg[c] >= 8:
            need.append(k[c] / bg[c])
        elif k[c] < 0 and bg[c] <= 247:
            need.append(-k[c] / (255.0 - bg[c]))
    alpha = float(min(1.0, max(need)))
    if alpha <= 0:
        return (0, 0, 0), 0.0
    col = np.clip(bg - k / alpha, 0, 255)
    return tuple(int(round(v)) for v in col), alpha


# --- elements the layout does not find -----------------------------------------------------

#: least length (CSS px) of a straight shadowed edge worth a candidate
EDGE_RUN = 12
#: most candidates from the edge search fitted per image
MAX_EDGE_BOXES = 6
#: most fits of edge candidates per image (each tried as found, then grown by a border)
MAX_EDGE_FITS = 8


#: image rows per slab of the edge search: its temporaries stay small (no fresh pages)
_SLAB = 128


def _edge_points(img: np.ndarray, flat: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per side name, pixels on a straight element edge that a shadow ramp leaves:
    the pixel and the next one inside agree (a flat fill), the first pixel outside differs
    by >= 2 levels, and beyond it the outside keeps lightening, monotonically, for three more
    pixels (a blurred falloff; a border or an anti-aliased edge is flat after one pixel).
    Luma x 10 in int16. Returns (rows, columns) in row order, of the map each side would
    be: ``right``/``left`` transposed (a row is an image column).

    Such a pixel sits on a steep step (>= 20, two levels), rare on a page: the steps are
    found slab by slab and the other conditions tested at them alone."""
    H, W = img.shape[:2]
    n0, n1 = H - 1, W - 1  # differences along each axis
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {k: [] for k in _SIDES}
    for y0 in range(0, H, _SLAB):
        y1 = min(H, y0 + _SLAB)
        a0 = max(0, y0 - 3)
        blk = img[a0: min(H, y1 + 4)]
        # 3 R + 6 G + B: small whole numbers, exact in float32 whatever the summation
        lum = (blk.astype(np.float32) @ _LUMA10).astype(np.int16)
        if n0 >= 6 and len(lum) >= 5:
            # down the columns: d[j] = L[j + 1] - L[j] (slab rows; image row i = a0 + j),
            # the steep steps where the two steps after (far) or before (near) lighten
            # outwards; the rest tested at those alone
            d = np.subtract(lum[1:], lum[:-1])
            st = np.abs(d) >= 20
            s2 = d[:-1] + d[1:]
            flat_d = d.ravel()
            # the far side (bottom) at row i: fill i-1..i (|d[i-1]| flat), the step d[i],
            # the outside lightening: d[i+1..i+3] >= -5 and d[i+2] + d[i+3] >= 10
            lo, hi = max(y0, 1) - a0, min(y1, n0 - 3) - a0
            if hi > lo:
                f = np.flatnonzero(st[lo:hi] & (s2[lo + 2: hi + 2] >= 10)) + lo * W
                ok = (np.abs(flat_d[f - W]) <= flat) & (flat_d[f + W] >= -5) \
                    & (flat_d[f + 2 * W] >= -5) & (flat_d[f + 3 * W] >= -5)
                f = f[ok]
                parts["bottom"].append((f // W + a0, f % W))
            # the near side (top) at row i + 1: fill i+1..i+2 (|d[i+1]| flat), the step
            # d[i], the outside lightening upwards: d[i-3..i-1] <= 5, d[i-3] + d[i-2] <= -10
            lo, hi = max(y0, 3) - a0, min(y1, n0 - 1) - a0
            if hi > lo:
                f = np.flatnonzero(st[lo:hi] & (s2[lo - 3: hi - 3] <= -10)) + lo * W
                ok = (np.abs(flat_d[f + W]) <= flat) & (flat_d[f - W] <= 5) \
                    & (flat_d[f - 2 * W] <= 5) & (flat_d[f - 3 * W] <= 5)
                f = f[ok]
                parts["top"].append((f // W + a0 + 1, f % W))
        if n1 >= 6:
            # along the rows, the same per row (maps transposed: row = column i, col = y)
            rows = lum[y0 - a0: y1 - a0]
            d = np.subtract(rows[:, 1:], rows[:, :-1])
            st = np.abs(d) >= 20
            s2 = d[:, :-1] + d[:, 1:]
            flat_d = d.ravel()
            # far (right) at column i in 1..n1-4
            g = np.flatnonzero(st[:, 1:n1 - 3] & (s2[:, 3:n1 - 1] >= 10))
            r, i = np.divmod(g, n1 - 4)
            f = r * n1 + i + 1
            ok = (np.abs(flat_d[f - 1]) <= flat) & (flat_d[f + 1] >= -5) \
                & (flat_d[f + 2] >= -5) & (flat_d[f + 3] >= -5)
            parts["right"].append((i[ok] + 1, r[ok] + y0))
            # near (left) at column i + 1, i in 3..n1-2
            g = np.flatnonzero(st[:, 3:n1 - 1] & (s2[:, 0:n1 - 4] <= -10))
            r, i = np.divmod(g, n1 - 4)
            f = r * n1 + i + 3
            ok = (np.abs(flat_d[f + 1]) <= flat) & (flat_d[f - 1] <= 5) \
                & (flat_d[f - 2] <= 5) & (flat_d[f - 3] <= 5)
            parts["left"].append((i[ok] + 4, r[ok] + y0))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, ps in parts.items():
        if not ps:
            out[name] = (np.zeros(0, np.intp), np.zeros(0, np.intp))
            continue
        rr = np.concatenate([p[0] for p in ps])
        cc = np.concatenate([p[1] for p in ps])
        if name in ("right", "left"):  # found row by row of the image: to map row order
            o = np.argsort(rr * H + cc, kind="stable")
            rr, cc = rr[o], cc[o]
        out[name] = (rr, cc)
    return out


def _runs(points: tuple[np.ndarray, np.ndarray], minlen: int,
          gap: int) -> list[tuple[int, int, int]]:
    """(row, start, end exclusive) of runs of points (in row order) of length >= ``minlen``
    per row, runs on one row closer than ``gap`` joined; rows of fewer points skipped.
    Joined runs are the chains of points on a row less than ``gap`` + 2 columns apart."""
    rows, cols = points
    if len(rows) < minlen:
        return []
    brk = np.flatnonzero(rows[1:] != rows[:-1]) + 1
    first = np.r_[0, brk]
    count = np.diff(np.r_[first, len(rows)])
    keep = np.repeat(count >= minlen, count)
    if not keep.any():
        return []
    rows, cols = rows[keep], cols[keep]
    cut = np.flatnonzero((rows[1:] != rows[:-1]) | (cols[1:] - cols[:-1] > gap + 1)) + 1
    starts = np.r_[0, cut]
    ends = np.r_[cut, len(rows)] - 1
    a, b = cols[starts], cols[ends] + 1
    long = b - a >= minlen
    return list(zip(rows[starts][long].tolist(), a[long].tolist(), b[long].tolist(), strict=True))


def _edge_candidates(image: np.ndarray, scale: float, lossy: bool,
                     known: Sequence[tuple[int, int, int, int]]):
    """Boxes of flat elements whose only edge is their shadow (a white card on a white
    page, a popover, a coloured button with a large shadow), which the layout does not
    find: straight shadowed edges (``_edge_points``) on two opposite sides with the same
    extent and the same fill, closed by the other two sides' edges where they show.
    Returns [(box, radius)], boxes matching a known one left out."""
    H, W = image.shape[:2]
    step = max(1, int(scale))  # at device scale 2 the search runs on every other pixel
    img = image[::step, ::step] if step > 1 else image
    points = _edge_points(img, 30 if lossy else 10)
    minlen = max(8, int(round(EDGE_RUN * scale / step)))
    runs = {k: _runs(p, minlen, max(3, int(round(8 * scale / step)))) for k, p in points.items()}
    if not any(runs.values()):
        return []
    # the luma of the few rows looked at (the same float32 values as the whole image's)
    lum_rows: dict[int, np.ndarray] = {}

    def lum(y: int) -> np.ndarray:
        row = lum_rows.get(y)
        if row is None:
            row = lum_rows[y] = img[y].astype(np.float32) @ _LUMA32
        return row
    reach = int(round(40 * scale / step))
    min_side = int(math.ceil(MIN_SIDE * scale / step))
    boxes: list[tuple[int, int, int, int, float]] = []

    def close(r1, r2) -> bool:  # two edges of one element: overlapping along most of it
        both = min(r1[2], r2[2]) - max(r1[1], r2[1])
        return both >= 0.7 * max(r1[2] - r1[1], r2[2] - r2[1])

    def same_fill(p1, p2) -> bool:
        return abs(float(lum(p1[0])[p1[1]]) - float(lum(p2[0])[p2[1]])) <= (4.0 if lossy else 2.0)

    def cross(runs_a, runs_b, lo: int, hi: int, a0: int, a1: int, pick_max: bool):
        """The run of runs_b at position in [lo, hi] covering most of a0..a1."""
        best = None
        for pos, s, e in runs_b:
            if not lo <= pos <= hi:
                continue
            cover = min(e, a1) - max(s, a0)
            if cover < 0.5 * (a1 - a0):
                continue
            key = pos if pick_max else -pos
            if best is None or key > best[0]:
                best = (key, pos)
        return None if best is None else best[1]

    # left and right edges of one element: each left edge with the nearest right edge
    # beside it (overlapping along most of the shorter)
    def nearest(pos, a, b, others, lo, hi):
        best = None
        for q, c, d in others:
            if not lo <= q <= hi or min(b, d) - max(a, c) < 0.6 * min(b - a, d - c):
                continue
            key = (abs(c - a) + abs(d - b), abs(q - pos))
            if best is None or key < best[0]:
                best = (key, (q, c, d))
        return None if best is None else best[1]

    for xl, a, b in runs["left"]:
        r = nearest(xl, a, b, runs["right"], xl + min_side - 1, img.shape[1])
        if r is None:
            continue
        xr, c, d = r
        if not close((0, a, b), (0, c, d)):
            continue
        mid = (max(a, c) + min(b, d)) // 2
        if not same_fill((mid, xl), (mid, xr)):
            continue
        y1 = max(b, d)
        y0 = min(a, c)
        yb = cross(None, runs["bottom"], y1 - 1, y1 + reach, xl, xr, False)
        yt = cross(None, runs["top"], y0 - reach, y0, xl, xr, True)
        gaps = []
        if yb is not None:
            gaps.append(yb + 1 - y1)
            y1 = yb + 1
        if yt is not None:
            gaps.append(y0 - yt)
            y0 = yt
        if y1 - y0 < min_side:
            continue
        boxes.append((xl, y0, xr + 1 - xl, y1 - y0, float(min(gaps)) if gaps else 0.0,
                      yt is not None))
    # top and bottom edges of one element (pills: no straight sides)
    for yt, a, b in runs["top"]:
        r = nearest(yt, a, b, runs["bottom"], yt + min_side - 1, yt + 2 * reach)
        if r is None:
            continue
        yb, c, d = r
        if not close((0, a, b), (0, c, d)):
            continue
        if True:
            mid = (max(a, c) + min(b, d)) // 2
            if not same_fill((yt, mid), (yb, mid)):
                continue
            if any(xl <= min(a, c) and xr >= max(b, d) and y <= yt + 2 and y + h >= yb - 1
                   for xl, y, w, h, _, _ in boxes for xr in (xl + w,)):
                continue  # closed by its sides already
            # walk the middle row out from the runs' ends while it keeps the fill
            ym = (yt + yb) // 2
            fill = float(lum(yt)[mid])
            row = lum(ym)
            ends = []
            for start, stepx in ((min(a, c), -1), (max(b, d) - 1, 1)):
                xx, n = start, 0
                while 0 <= xx + stepx < img.shape[1] and n <= (yb - yt) // 2 + 2 and \
                        abs(float(row[xx + stepx]) - fill) <= 2.0:
                    xx += stepx
                    n += 1
                if n > (yb - yt) // 2 + 2 or not 0 < xx < img.shape[1] - 1:
                    ends = []
                    break
                ends.append((xx, n))
            if len(ends) != 2:
                continue
            x0, x1 = ends[0][0], ends[1][0] + 1
            boxes.append((x0, yt, x1 - x0, yb + 1 - yt, float(min(ends[0][1], ends[1][1])),
                          True))
    out: list[tuple[tuple[int, int, int, int], float, bool]] = []
    tol = 3 * scale
    for x, y, w, h, gap, top in boxes:
        box = (x * step, y * step, w * step, h * step)
        if box[2] * box[3] > 0.8 * W * H:
            continue
        if any(all(abs(p - q) <= tol for p, q in zip(_corners(box), _corners(k)))
               for k in list(known) + [o for o, _, _ in out]):
            continue
        out.append((box, min(gap * step, min(box[2], box[3]) / 2.0), top))
    out.sort(key=lambda t: (-t[0][2] * t[0][3], t[0][1], t[0][0]))
    return out[:MAX_EDGE_BOXES]


def _corners(b) -> tuple[int, int, int, int]:
    return (b[0], b[1], b[0] + b[2], b[1] + b[3])


def _fit_edge_candidates(image, cands, known, scale: float, lossy: bool,
                         fitted: Sequence[ShadowFit]) -> list[ShadowFit]:
    """Fit each edge candidate as found and grown by one CSS px (the first pixel outside
    may be a border); the better fit, when neither overlaps an element already fitted.
    A candidate that is the ramp of a shadow already fitted is not fitted again."""
    out: list[ShadowFit] = []
    g = max(1, int(round(scale)))
    budget = MAX_EDGE_FITS
    for box, radius, top in cands:
        best = None
        for grow in (0, g):
            b = (box[0] - grow, box[1] - grow, box[2] + 2 * grow, box[3] + 2 * grow)
            if b[0] < 0 or b[1] < 0 or budget <= 0:
                continue
            lid = []
            if not top:
                # a top edge that does not show lies above where the sides' edges start:
                # model it above the measured lines and do not measure there
                ext = int(round(0.15 * b[3] / 0.85))
                b = (b[0], b[1] - ext, b[2], b[3] + ext)
                lid = [(b[0], b[1] - 1, b[2], 1)]
            if any(_overlap(b, f.box) > 0.5 for f in fitted):
                continue  # its fit would be dropped below: do not spend the budget on it
            budget -= 1
            # boxes the element partly covers (a popover over a table) lie beneath it
            # (or abut it: a table row cut in two by it)
            near = [k for k in known if _gap(b, k) > scale or (
                k[0] <= b[0] and k[1] <= b[1] and k[0] + k[2] >= b[0] + b[2]
                and k[1] + k[3] >= b[1] + b[3])]
            best = fit_shadow(image, b, scale=scale, radius=radius, lossy=lossy,
                              others=near + lid)
            if best is not None:
                break
        if best is None:
            continue
        if any(_overlap(best.box, f.box) > 0.5 for f in list(fitted) + out):
            continue
        out.append(best)
    return out


def _gap(a, b) -> float:
    """Distance between two boxes (0 when they touch or overlap)."""
    dx = max(b[0] - (a[0] + a[2]), a[0] - (b[0] + b[2]), 0)
    dy = max(b[1] - (a[1] + a[3]), a[1] - (b[1] + b[3]), 0)
    return float(max(dx, dy))


def _overlap(a, b) -> float:
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    return ix * iy / float(min(a[2] * a[3], b[2] * b[3]))


# --- tokens --------------------------------------------------------------------------------

def shadow_tokens(fits: Iterable[ShadowFit], scale: float) -> dict[str, Any]:
    """Group similar fits into a small scale named by ascending blur.

    Returns ``{name: ShadowToken, ..., "$extensions": {EXTENSION_KEY: {...}}}`` where the
    group extension lists each element's box and its token in elevation order.
    """
    fits = [f for f in fits if f.confidence >= MIN_CONFIDENCE]
    if not fits:
        return {}
    s = scale if scale > 0 else 1.0
    fits.sort(key=lambda f: (f.blur, f.offset_y, f.box[1], f.box[0]))
    groups: list[list[ShadowFit]] = []
    for f in fits:
        placed = False
        for g in groups:
            gb = float(np.median([m.blur for m in g])) / s
            goy = float(np.median([m.offset_y for m in g])) / s
            b, oy = f.blur / s, f.offset_y / s
            if (abs(math.log((b + 2.0) / (gb + 2.0))) <= 0.3
                    and abs(oy - goy) <= max(1.5, 0.35 * max(abs(oy), abs(goy)))):
                g.append(f)
                placed = True
                break
        if not placed:
            groups.append([f])
    groups.sort(key=lambda g: (float(np.median([m.blur for m in g])),
                               float(np.median([m.offset_y for m in g]))))
    groups = groups[: len(NAMES)]
    out: dict[str, Any] = {}
    elevation = []
    for name, g in zip(NAMES, groups):
        med = lambda attr: float(np.median([getattr(m, attr) for m in g]))  # noqa: E731
        colors = np.array([m.color for m in g], np.float64)
        col = tuple(int(round(v)) for v in np.median(colors, axis=0))
        alpha = round(med("alpha"), 3)
        conf = float(np.mean([m.confidence for m in g]))
        conf = min(1.0, conf + 0.05 * math.log2(len(g)))
        best = sorted(g, key=lambda m: (-m.confidence, m.box[1], m.box[0]))[:3]
        token = ShadowToken(
            value=ShadowValue(
                color=ColorValue(
                    colorSpace="srgb",
                    components=tuple(round(v / 255, 4) for v in col),  # type: ignore[arg-type]
                    alpha=alpha,
                    hex="#{:02x}{:02x}{:02x}".format(*col),
                ),
                offsetX=px(med("offset_x") / s),
                offsetY=px(med("offset_y") / s),
                blur=px(max(0.0, med("blur")) / s),
                spread=px(med("spread") / s),
            ),
            extensions={EXTENSION_KEY: Evidence(
                confidence=round(conf, 3),
                count=len(g),
                boxes=[m.box for m in best],
            )},
        )
        out[name] = token
        for m in g:
            elevation.append((name, m))
    elevation.sort(key=lambda t: (NAMES.index(t[0]), t[1].box[1], t[1].box[0]))
    out["$description"] = ("Drop shadows fitted from pixels; a multi-layer shadow is "
                           "reported as one effective shadow.")
    out["$extensions"] = {EXTENSION_KEY: {
        "order": [n for n in NAMES if n in out],
        "elements": [{"box": list(m.box), "token": n, "level": NAMES.index(n) + 1}
                     for n, m in elevation[:64]],
    }}
    return out
