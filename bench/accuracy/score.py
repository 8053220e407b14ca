"""Tokens out of an extracted DTCG document, the naive baselines, and the scores.

Every score compares CSS px values (extractors report CSS px; the harness passes the
render's device scale to ``prepare``). Recall is over the page's *expected* values;
precision is over the extracted values, each judged against *every* value the DOM uses on
the page (any amount), so a value the page really uses is never a false positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from truth import FULL, PageTruth

DE_MATCH = 5.0
FONT_TOL_PX, FONT_TOL_REL = 1.0, 0.08
WEIGHT_TOL = 100
RADIUS_TOL = 1.5
SPACING_TOL = 1.0
FULL_PX = 9999.0

# naive baselines: fixed priors (what "always answer the popular defaults" scores) and an
# edge-distance histogram for spacing
BASE_FONT = (12.0, 14.0, 16.0, 18.0, 20.0, 24.0, 30.0, 36.0)   # Tailwind text-xs .. 4xl
BASE_RADIUS = (4.0, 8.0, FULL)                                 # rounded, rounded-lg, full
BASE_SHADOW_BLUR = 6.0                                         # Tailwind shadow-md, 0 4px 6px -1px
BASE_SPACING_K = 8
BASE_EDGE = 24


# ----------------------------------------------------------------------- reading tokens

def tokens(group: Any):
    """(name, token) for every token under a DTCG group, depth first."""
    if not isinstance(group, dict):
        return
    for k, v in group.items():
        if k.startswith("$"):
            continue
        if isinstance(v, dict) and "$value" in v:
            yield k, v
        elif isinstance(v, dict):
            yield from tokens(v)


def dim(v: Any) -> float | None:
    """CSS px of a DTCG dimension ({value, unit} or "16px"/"1rem")."""
    if isinstance(v, dict) and "value" in v:
        return float(v["value"]) * (16.0 if v.get("unit") == "rem" else 1.0)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        try:
            if s.endswith("rem"):
                return float(s[:-3]) * 16.0
            if s.endswith("px"):
                return float(s[:-2])
            return float(s)
        except ValueError:
            return None
    return None


@dataclass
class Found:
    colours: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    font_sizes: list[float] | None = None
    #: (size, weight, line height ratio or None)
    styles: list[tuple[float, int, float | None]] | None = None
    #: size -> line height ratio (font.lineHeight)
    line_heights: dict[float, float] | None = None
    radii: list | None = None            # floats and FULL
    spacing: list[float] | None = None
    base_unit: float | None = None
    shadow_blurs: list[list[float]] | None = None   # per token, its layers' blurs


def _hex_rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def read_doc(doc: dict, ran: set[str]) -> Found:
    f = Found()
    if "color" in ran:
        cols = []
        for _, t in tokens(doc.get("color", {})):
            v = t["$value"]
            h = v.get("hex") if isinstance(v, dict) else v
            if isinstance(h, str) and len(h) >= 7:
                cols.append(_hex_rgb(h[:7]))
        f.colours = np.array(cols, np.uint8).reshape(-1, 3)
    if "typography" in ran:
        font = doc.get("font", {})
        sizes = {}
        for name, t in tokens(font.get("size", {})):
            s = dim(t["$value"])
            if s is not None:
                sizes[name] = s
        f.font_sizes = sorted(sizes.values())
        f.line_heights = {}
        for name, t in tokens(font.get("lineHeight", {})):
            if name in sizes and isinstance(t["$value"], (int, float)):
                f.line_heights[sizes[name]] = float(t["$value"])
        f.styles = []
        for _, t in tokens(doc.get("typography", {})):
            v = t["$value"]
            s = dim(v.get("fontSize"))
            if s is not None:
                lh = v.get("lineHeight")
                f.styles.append((s, int(v.get("fontWeight") or 400),
                                 float(lh) if isinstance(lh, (int, float)) else None))
    if "radius" in ran:
        f.radii = []
        for _, t in tokens(doc.get("radius", {})):
            r = dim(t["$value"])
            if r is not None:
                f.radii.append(FULL if r >= FULL_PX - 0.5 else r)
    if "spacing" in ran:
        group = doc.get("spacing", {})
        f.spacing = sorted(s for _, t in tokens(group) if (s := dim(t["$value"])) is not None)
        f.base_unit = _find_base(group.get("$extensions"))
    if "shadow" in ran:
        f.shadow_blurs = []
        for _, t in tokens(doc.get("shadow", {})):
            v = t["$value"]
            layers = v if isinstance(v, list) else [v]
            f.shadow_blurs.append([b for l in layers if isinstance(l, dict)
                                   and (b := dim(l.get("blur"))) is not None])
    return f


def _find_base(ext: Any) -> float | None:
    """A number under a key that mentions "base" anywhere in the group's $extensions."""
    if isinstance(ext, dict):
        for k, v in ext.items():
            if "base" in k.lower():
                d = dim(v["$value"] if isinstance(v, dict) and "$value" in v else v)
                if d is not None:
                    return d
            found = _find_base(v)
            if found is not None:
                return found
    return None


# ----------------------------------------------------------------------- baselines

def baseline_colours(image: np.ndarray, min_share: float) -> np.ndarray:
    q = Image.fromarray(image).quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    counts = np.bincount(np.asarray(q).ravel(), minlength=16)
    pal = np.array(q.getpalette()[: 16 * 3], np.uint8).reshape(-1, 3)[: len(counts)]
    keep = counts[: len(pal)] / counts.sum() >= min_share
    return pal[keep]


def baseline_spacing(image: np.ndarray, scale: float) -> list[float]:
    """The ``BASE_SPACING_K`` most common distances (CSS px, 2..96) between consecutive
    strong luma edges along rows and columns."""
    g = image[..., 0].astype(np.int16) * 3 + image[..., 1] * 6 + image[..., 2]
    g //= 10
    counts: dict[int, int] = {}
    for a in (g, g.T):
        edge = np.abs(np.diff(a, axis=1)) > BASE_EDGE
        rows, cols = np.nonzero(edge)
        same = rows[1:] == rows[:-1]
        d = (cols[1:] - cols[:-1])[same] / scale
        d = np.rint(d).astype(int)
        d = d[(d >= 2) & (d <= 96)]
        for v, n in zip(*np.unique(d, return_counts=True)):
            counts[int(v)] = counts.get(int(v), 0) + int(n)
    top = sorted(counts, key=lambda v: (-counts[v], v))[:BASE_SPACING_K]
    return sorted(float(v) for v in top)


def baseline_found(image: np.ndarray, scale: float, min_share: float) -> Found:
    return Found(colours=baseline_colours(image, min_share), font_sizes=list(BASE_FONT),
                 styles=None, radii=list(BASE_RADIUS), spacing=baseline_spacing(image, scale),
                 shadow_blurs=[[BASE_SHADOW_BLUR]])


# ----------------------------------------------------------------------- scores

@dataclass
class Metric:
    """hits of n expected (recall) and good of m found (precision); None = not measured."""
    hits: int = 0
    n: int = 0
    good: int = 0
    m: int = 0
    missed: list = field(default_factory=list)
    extra: list = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def precision(self) -> float | None:
        return self.good / self.m if self.m else None


@dataclass
class ShadowScore:
    has: bool
    faint: bool              # no visible shadow, only faint ones: tokens are not judged
    n_truth: int
    n_found: int
    blur_err: float | None   # mean over the page's distinct shadows of the best |Δblur|

    @property
    def detected(self) -> bool:
        return self.n_found > 0


@dataclass
class Scores:
    colour: Metric | None = None
    font: Metric | None = None
    style: Metric | None = None
    lh_err: list[float] | None = None
    radius: Metric | None = None
    spacing: Metric | None = None
    base_ok: bool | None = None
    shadow: ShadowScore | None = None


def _fmt(v) -> str:
    return FULL if v == FULL else f"{v:g}"


def _match(expected, found, close) -> Metric:
    m = Metric(n=len(expected), m=len(found))
    for e in expected:
        if any(close(f, e) for f in found):
            m.hits += 1
        else:
            m.missed.append(_fmt(e))
    return m


def _precise(m: Metric, found, universe, close) -> Metric:
    for f in found:
        if any(close(f, u) for u in universe):
            m.good += 1
        else:
            m.extra.append(_fmt(f))
    return m


def font_close(f: float, g: float) -> bool:
    return abs(f - g) <= max(FONT_TOL_PX, FONT_TOL_REL * g)


def radius_close(f, g) -> bool:
    if f == FULL or g == FULL:
        return f == g
    return abs(f - g) <= RADIUS_TOL


def spacing_close(f: float, g: float) -> bool:
    return abs(f - g) <= SPACING_TOL


def score_colour(found: np.ndarray, truth, de) -> Metric:
    from stylestream.extractors.color import ciede2000, srgb_to_cielab

    found = np.asarray(found, np.uint8).reshape(-1, 3)
    m = Metric(n=len(truth.expected), m=len(found))
    hexs = lambda c: "#%02x%02x%02x" % tuple(int(v) for v in c)  # noqa: E731
    if not len(found):
        m.missed = [hexs(c) for c in truth.expected]
        return m
    lf = srgb_to_cielab(found)
    if len(truth.expected):
        hit = ciede2000(srgb_to_cielab(truth.expected)[:, None, :], lf[None, :, :]).min(axis=1) <= de
        m.hits = int(hit.sum())
        m.missed = [hexs(c) for c, h in zip(truth.expected, hit) if not h]
    ok = ciede2000(lf[:, None, :], srgb_to_cielab(truth.used)[None, :, :]).min(axis=1) <= de
    m.good = int(ok.sum())
    m.extra = [hexs(c) for c, o in zip(found, ok) if not o]
    return m


def score_page(f: Found, t: PageTruth, ran: set[str]) -> Scores:
    s = Scores()
    if "color" in ran:
        s.colour = score_colour(f.colours, t.colour, DE_MATCH)
    if f.font_sizes is not None:
        s.font = _precise(_match(t.font_expected, f.font_sizes, font_close),
                          f.font_sizes, list(t.font_chars), font_close)
    if f.styles is not None:
        s.style = Metric(n=len(t.style_expected))
        for size, weight in t.style_expected:
            if any(font_close(fs, size) and abs(fw - weight) <= WEIGHT_TOL for fs, fw, _ in f.styles):
                s.style.hits += 1
            else:
                s.style.missed.append(f"{size:g}/{weight}")
        s.lh_err = []
        for size, ratio in t.line_heights.items():
            cands = [(abs(fs - size), lh) for fs, lh in (f.line_heights or {}).items()
                     if font_close(fs, size)]
            if cands:
                s.lh_err.append(abs(min(cands)[1] - ratio))
    if f.radii is not None:
        s.radius = _precise(_match(t.radius_expected, f.radii, radius_close),
                            f.radii, list(t.radius_any), radius_close)
    if f.spacing is not None:
        vals = [v for v in f.spacing if v > 0.5]
        s.spacing = _precise(_match(t.spacing_expected, vals, spacing_close),
                             vals, list(t.spacing_any), spacing_close)
        if f.base_unit is not None and t.base_unit is not None:
            s.base_ok = abs(f.base_unit - t.base_unit) < 0.5
    if f.shadow_blurs is not None:
        err = None
        if t.shadows and f.shadow_blurs:
            per = []
            for sh in t.shadows:
                per.append(min(abs(b - l["blur"]) for blurs in f.shadow_blurs for b in blurs
                               for l in sh.layers) if any(f.shadow_blurs) else float("nan"))
            per = [p for p in per if p == p]
            err = float(np.mean(per)) if per else None
        s.shadow = ShadowScore(t.has_shadow, bool(t.faint_shadows) and not t.has_shadow, len(t.shadows), len(f.shadow_blurs), err)
    return s
