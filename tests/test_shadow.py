"""Unit tests for the shadow extractor: drawn shadows with known parameters, Chromium-rendered
``box-shadow`` cards at device scale 1 and 2, and elements that must not get a shadow."""

from __future__ import annotations

import io

import cv2
import msgspec
import numpy as np
import pytest
from PIL import Image

from stylestream.extractors import ExtractContext
from stylestream.extractors.shadow import (
    ShadowFit,
    extract,
    fit_shadow,
    fit_shadows,
    shadow_tokens,
)
from stylestream.schemas.tokens import EXTENSION_KEY, ShadowToken

from .support.browser import render

BOX = (150, 100, 300, 180)


def spline_edge(t: np.ndarray, sigma: float) -> np.ndarray:
    """Share of a blurred half-plane edge covering a point ``t`` px inside it: the CDF of
    three uniform filters of width 2 sigma (Irwin-Hall, n = 3), how Chromium's raster path
    (Skia) approximates a Gaussian of deviation sigma."""
    u = np.clip(t / (2.0 * sigma) + 1.5, 0.0, 3.0)
    return np.where(u < 1, u ** 3 / 6,
                    np.where(u < 2, (-2 * u ** 3 + 9 * u ** 2 - 9 * u + 3) / 6, 1 - (3 - u) ** 3 / 6))


def draw(box=BOX, *, size=(600, 400), blur=16.0, ox=0.0, oy=4.0, spread=0.0, alpha=0.2,
         color=(0, 0, 0), bg=(255, 255, 255), fill=(255, 255, 255), radius=0, scale=1,
         border=None, gaussian=False) -> np.ndarray:
    """A CSS box-shadow as Chromium paints it: the element's rectangle grown by spread and
    shifted, blurred with sigma = blur / 2 (a three-box spline sampled at pixel centres;
    for a rounded element, boxes of whole-pixel width d = floor(1.88 sigma + 0.5) as
    Chromium uses; or a true Gaussian), composited as colour x alpha over the background,
    then the element drawn on top. Lengths in CSS px, multiplied by ``scale``."""
    s = scale
    x, y, w, h = (v * s for v in box)
    W, H = size[0] * s, size[1] * s
    img = np.empty((H, W, 3), np.float32)
    img[:] = bg
    x0, y0 = x + (ox - spread) * s, y + (oy - spread) * s
    x1, y1 = x + w + (ox + spread) * s, y + h + (oy + spread) * s
    if blur <= 0:
        cx = ((np.arange(W) + 0.5 > x0) & (np.arange(W) + 0.5 < x1)).astype(np.float32)
        cy = ((np.arange(H) + 0.5 > y0) & (np.arange(H) + 0.5 < y1)).astype(np.float32)
        mask = cy[:, None] * cx[None, :]
    elif gaussian:
        mask = np.zeros((H, W), np.float32)
        mask[max(round(y0), 0): max(round(y1), 0), max(round(x0), 0): max(round(x1), 0)] = 1.0
        mask = cv2.GaussianBlur(mask, (0, 0), blur / 2 * s)
    else:
        sigma = blur / 2 * s
        if radius:
            d = np.floor(sigma * 3 * np.sqrt(2 * np.pi) / 4 + 0.5)
            sigma = float(np.sqrt((d * d - 1) / 4))
        px_, py_ = np.arange(W) + 0.5, np.arange(H) + 0.5
        cx = spline_edge(px_ - x0, sigma) - spline_edge(px_ - x1, sigma)
        cy = spline_edge(py_ - y0, sigma) - spline_edge(py_ - y1, sigma)
        mask = (cy[:, None] * cx[None, :]).astype(np.float32)
    a = (alpha * mask)[..., None]
    img = img * (1 - a) + np.asarray(color, np.float32) * a
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    el = np.zeros((H, W), np.uint8)
    r = radius * s
    if r:
        cv2.rectangle(el, (x + r, y), (x + w - 1 - r, y + h - 1), 1, -1)
        cv2.rectangle(el, (x, y + r), (x + w - 1, y + h - 1 - r), 1, -1)
        for cx_, cy_ in ((x + r, y + r), (x + w - 1 - r, y + r), (x + r, y + h - 1 - r),
                         (x + w - 1 - r, y + h - 1 - r)):
            cv2.circle(el, (cx_, cy_), r, 1, -1)
    else:
        el[y: y + h, x: x + w] = 1
    out[el > 0] = fill
    if border is not None:
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), border, s)
    return out


def fit(img: np.ndarray, box=BOX, scale: int = 1, **kw) -> ShadowFit | None:
    return fit_shadow(img, tuple(v * scale for v in box), scale=float(scale), **kw)


# --- drawn shadows with known parameters ---------------------------------------------------

CASES = [
    dict(blur=16, oy=4, alpha=0.2),
    dict(blur=6, oy=2, alpha=0.1),
    dict(blur=30, oy=12, spread=-6, alpha=0.25),
    dict(blur=4, oy=1, alpha=0.15),
    dict(blur=20, ox=5, oy=5, alpha=0.3, radius=12),
    dict(blur=50, oy=25, spread=-12, alpha=0.25),
    dict(blur=12, oy=0, spread=4, alpha=0.2),
    dict(blur=24, oy=8, alpha=0.15, bg=(244, 244, 245)),
]


@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_drawn_shadow_parameters_are_recovered(case: dict, scale: int) -> None:
    img = draw(scale=scale, **case)
    f = fit(img, scale=scale, radius=case.get("radius", 0) * scale)
    assert f is not None
    blur, ox, oy, spread = (v / scale for v in (f.blur, f.offset_x, f.offset_y, f.spread))
    assert blur == pytest.approx(case["blur"], rel=0.12, abs=0.75)
    assert ox == pytest.approx(case.get("ox", 0), abs=0.5)
    assert oy == pytest.approx(case["oy"], abs=0.6)
    assert spread == pytest.approx(case.get("spread", 0), abs=1.5)
    assert f.alpha == pytest.approx(case["alpha"], rel=0.2, abs=0.02)
    assert f.color == (0, 0, 0)
    assert f.confidence >= 0.8


@pytest.mark.parametrize("case", CASES[:3], ids=["16", "6", "30"])
def test_true_gaussian_blur_reads_close(case: dict) -> None:
    """Other renderers blur with a true Gaussian: its heavier tail reads a little wider."""
    f = fit(draw(gaussian=True, **case))
    assert f is not None
    assert f.blur == pytest.approx(case["blur"], rel=0.15, abs=1.0)
    assert f.offset_y == pytest.approx(case["oy"], abs=0.75)


def test_small_ui_shadow_at_1x() -> None:
    """Tailwind-like ``0 1px 2px``: a ramp two or three pixels long."""
    f = fit(draw(blur=2, oy=1, alpha=0.1))
    assert f is not None
    assert f.blur == pytest.approx(2, abs=0.75)
    assert f.offset_y == pytest.approx(1, abs=0.5)


def test_coloured_shadow_keeps_its_hue() -> None:
    f = fit(draw(blur=16, oy=4, color=(59, 130, 246), alpha=0.4))
    assert f is not None
    r, g, b = f.color
    assert b > 200 and b > g > r  # blue, as drawn (least alpha: the red channel saturates)
    assert f.alpha == pytest.approx(0.31, abs=0.06)
    assert f.blur == pytest.approx(16, rel=0.1)


def test_dark_theme_shadow_is_found_with_less_confidence() -> None:
    light = fit(draw(blur=16, oy=6, alpha=0.5))
    dark = fit(draw(blur=16, oy=6, alpha=0.5, bg=(24, 24, 27), fill=(39, 39, 42)))
    assert light is not None and dark is not None
    assert dark.confidence < light.confidence
    assert dark.blur == pytest.approx(16, rel=0.2)
    assert dark.offset_y == pytest.approx(6, abs=1.0)


def test_faint_shadow_on_dark_background_is_left_out() -> None:
    img = draw(blur=16, oy=4, alpha=0.08, bg=(24, 24, 27), fill=(39, 39, 42))
    assert fit(img) is None


def test_grid_neighbours_sharing_the_gap() -> None:
    """Cards 16 px apart with 12 px blurs: each gap holds two overlapping shadows."""
    bg, fill = (241, 245, 249), (255, 255, 255)
    img = np.full((420, 820, 3), bg, np.uint8)
    boxes = [(40 + col * 256, 40 + row * 176, 240, 160) for row in (0, 1) for col in (0, 1, 2)]
    keep = np.ones(img.shape[:2], np.float32)
    px_, py_ = np.arange(img.shape[1]) + 0.5, np.arange(img.shape[0]) + 0.5
    for x, y, w, h in boxes:  # each card's shadow composited over what is there
        cx = spline_edge(px_ - x, 6.0) - spline_edge(px_ - x - w, 6.0)
        cy = spline_edge(py_ - y - 4, 6.0) - spline_edge(py_ - y - 4 - h, 6.0)
        keep *= 1 - 0.15 * cy[:, None] * cx[None, :]
    img = np.rint(img * keep[..., None]).astype(np.uint8)
    for x, y, w, h in boxes:
        img[y: y + h, x: x + w] = fill
    fits = fit_shadows(img, boxes)
    assert len(fits) == len(boxes)
    for f in fits:
        assert f.blur == pytest.approx(12, rel=0.15)
        assert f.offset_y == pytest.approx(4, abs=0.75)
        assert abs(f.offset_x) <= 0.5


def jpeg(img: np.ndarray, quality: int = 85) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def test_jpeg_shadow_is_measured_and_jpeg_border_is_not_a_shadow() -> None:
    f = fit(jpeg(draw(blur=30, oy=12, spread=-6, alpha=0.25)), lossy=True)
    assert f is not None
    assert f.blur == pytest.approx(30, rel=0.12)
    assert f.offset_y == pytest.approx(12, abs=1.0)
    assert fit(jpeg(draw(blur=0, alpha=0.0, border=(209, 213, 219))), lossy=True) is None


# --- what is not a shadow ------------------------------------------------------------------

def test_flat_bordered_card_has_no_shadow() -> None:
    img = draw(blur=0, alpha=0.0, border=(209, 213, 219))
    assert fit(img) is None
    # the border read as part of the page (a box one pixel inside it)
    assert fit(img, box=(151, 101, 298, 178)) is None


def test_anti_aliased_dark_element_has_no_shadow() -> None:
    img = np.full((400, 600, 3), 255, np.uint8)
    cv2.rectangle(img, (150, 100), (449, 279), (37, 99, 235), -1, cv2.LINE_AA)
    small = cv2.resize(img, (300, 200), interpolation=cv2.INTER_AREA)  # fractional edges
    assert fit_shadow(small, (75, 50, 150, 90)) is None
    assert fit(img) is None


def test_focus_ring_is_not_a_shadow() -> None:
    img = draw(blur=0, spread=3, oy=0, alpha=0.35, color=(99, 102, 241))
    assert fit(img) is None


def test_gradient_around_an_element_is_not_a_shadow() -> None:
    ramp = np.linspace(200, 255, 400, dtype=np.float32)[:, None]
    img = np.repeat(np.repeat(ramp, 600, axis=1)[..., None], 3, axis=2).astype(np.uint8)
    x, y, w, h = BOX
    img[y: y + h, x: x + w] = 255
    assert fit(img) is None
    # a band fading away from a full-width strip (a bar would be allowed one side)
    band = np.full((400, 600, 3), 255, np.uint8)
    band[200:360] = np.linspace(248, 226, 160).round().astype(np.uint8)[:, None, None]
    assert fit_shadow(band, (0, 360, 600, 40)) is None


def test_text_boxes_are_too_small_to_measure() -> None:
    img = np.full((120, 400, 3), 255, np.uint8)
    cv2.putText(img, "Shadow", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 20), 3,
                cv2.LINE_AA)
    x, y, w, h = cv2.boundingRect(cv2.findNonZero((img[..., 0] < 128).astype(np.uint8)))
    glyph_boxes = [(x, y, 12, h), (x, y, w, h)]
    assert fit_shadows(img, glyph_boxes) == []


# --- tokens --------------------------------------------------------------------------------

def _fits_for_page(scale: int = 1) -> list[ShadowFit]:
    cards = [(dict(blur=4, oy=1, alpha=0.15), (40, 40, 200, 120)),
             (dict(blur=4, oy=1, alpha=0.15), (300, 40, 200, 120)),
             (dict(blur=24, oy=8, alpha=0.15), (40, 260, 200, 120)),
             (dict(blur=48, oy=20, spread=-8, alpha=0.25), (300, 260, 200, 120))]
    out = []
    for params, box in cards:
        img = draw(box=box, size=(560, 480), scale=scale, **params)
        f = fit(img, box=box, scale=scale)
        assert f is not None
        out.append(f)
    return out


def test_tokens_form_a_scale_named_by_blur() -> None:
    group = shadow_tokens(_fits_for_page(), 1.0)
    names = [k for k in group if not k.startswith("$")]
    assert names == ["sm", "md", "lg"]
    tokens: list[ShadowToken] = [group[n] for n in names]
    blurs = [t.value.blur.value for t in tokens]
    assert blurs == sorted(blurs)
    assert blurs[0] == pytest.approx(4, abs=0.75) and blurs[2] == pytest.approx(48, rel=0.12)
    sm = tokens[0].extensions[EXTENSION_KEY]
    assert sm.count == 2 and len(sm.boxes) == 2
    assert tokens[0].value.color.alpha == pytest.approx(0.15, abs=0.03)
    assert tokens[0].value.color.hex == "#000000"
    order = group["$extensions"][EXTENSION_KEY]
    assert order["order"] == ["sm", "md", "lg"]
    assert [e["token"] for e in order["elements"]] == ["sm", "sm", "md", "lg"]


def test_tokens_are_the_same_at_device_scale_2() -> None:
    def values(group):
        return [(t.value.blur.value, t.value.offsetY.value, t.value.offsetX.value)
                for k, t in group.items() if not k.startswith("$")]
    one = values(shadow_tokens(_fits_for_page(1), 1.0))
    two = values(shadow_tokens(_fits_for_page(2), 2.0))
    assert len(one) == len(two)
    for a, b in zip(one, two):
        assert a[0] == pytest.approx(b[0], rel=0.1, abs=0.5)
        assert a[1] == pytest.approx(b[1], abs=0.5)
        assert a[2] == pytest.approx(b[2], abs=0.5)


def test_extract_contract_tiny_and_deterministic() -> None:
    tiny = np.full((16, 16, 3), 240, np.uint8)
    assert extract(tiny, ExtractContext()) == {"shadow": {}}
    img = draw()
    a = msgspec.json.encode(extract(img, ExtractContext()))
    b = msgspec.json.encode(extract(img.copy(), ExtractContext()))
    assert a == b
    with pytest.raises(ValueError):
        extract(img[..., 0], ExtractContext())


# --- Chromium-rendered box-shadows --------------------------------------------------------

PAGE = """<!doctype html><html><head><style>
*{box-sizing:border-box;margin:0}
body{background:#f4f4f5;font:14px "DejaVu Sans",sans-serif;color:#18181b}
.c{position:absolute;width:300px;height:180px;background:#fff;border-radius:10px;padding:20px}
#a{left:60px;top:60px;box-shadow:0 8px 24px rgba(0,0,0,.15)}
#b{left:480px;top:60px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
#c{left:60px;top:360px;box-shadow:0 25px 50px -12px rgba(0,0,0,.25)}
#d{left:480px;top:360px;border:1px solid #d4d4d8}
</style></head><body>
<div class="c" id="a">Card A with some text</div><div class="c" id="b">Card B</div>
<div class="c" id="c">Card C</div><div class="c" id="d">Flat card</div>
</body></html>"""
EXPECT = {"a": (24, 0, 8, 0.15), "b": (6, 0, 2, 0.2), "c": (50, 0, 25, 0.25)}

@pytest.fixture(scope="module")
def rendered() -> dict[int, tuple[np.ndarray, dict[str, tuple[float, ...]]]]:
    rects = """() => Object.fromEntries([...document.querySelectorAll('.c')]
        .map(e => { const r = e.getBoundingClientRect();
                    return [e.id, [r.left, r.top, r.width, r.height]]; }))"""
    shots = render({"page": PAGE}, width=900, height=640, script=rects)
    return {scale: shot for (_, scale), shot in shots.items()}


@pytest.mark.browser
@pytest.mark.parametrize("scale", [1, 2])
def test_chromium_box_shadows(rendered, scale: int) -> None:
    img, rects = rendered[scale]
    boxes = {k: tuple(int(round(v * scale)) for v in r) for k, r in rects.items()}
    for name, (blur, ox, oy, alpha) in EXPECT.items():
        others = [b for k, b in boxes.items() if k != name]
        f = fit_shadow(img, boxes[name], scale=float(scale), radius=10.0 * scale, others=others)
        assert f is not None, name
        assert f.blur / scale == pytest.approx(blur, rel=0.15, abs=1.0), name
        assert f.offset_x / scale == pytest.approx(ox, abs=0.5), name
        assert f.offset_y / scale == pytest.approx(oy, abs=1.0), name
        assert f.alpha == pytest.approx(alpha, rel=0.3), name
    assert fit_shadow(img, boxes["d"], scale=float(scale), radius=10.0 * scale,
                      others=list(boxes.values())) is None


@pytest.mark.browser
def test_chromium_page_through_extract(rendered) -> None:
    """The whole extractor (element boxes from the layout extractor) on the rendered page:
    whatever cards it finds, the shadows it reports are the page's, ordered by blur."""
    values = {}
    for scale in (1, 2):
        img, _ = rendered[scale]
        group = extract(img, ExtractContext(scale=float(scale)))["shadow"]
        tokens = [t for k, t in group.items() if not k.startswith("$")]
        blurs = [t.value.blur.value for t in tokens]
        assert blurs == sorted(blurs)
        for t in tokens:
            assert min(abs(t.value.blur.value - e[0]) / e[0] for e in EXPECT.values()) < 0.2
            assert t.value.offsetX.value == pytest.approx(0, abs=0.5)
        values[scale] = blurs
    # the layout extractor may find a different subset of the cards at each scale
    assert values[1] and values[2]


def test_white_popover_whose_only_edge_is_its_shadow() -> None:
    """``0 10px 15px -3px`` under a white menu on a white page: the top edge does not show
    and the layout has no stable outside colour around it; the edge search finds it."""
    from stylestream.extractors.shadow import _edge_candidates

    img = draw(blur=15, oy=10, spread=-3, alpha=0.1)
    cands = _edge_candidates(img, 1.0, False, [])
    assert cands, "no edge candidate"
    group = extract(img, ExtractContext())["shadow"]
    tokens = [t for k, t in group.items() if not k.startswith("$")]
    assert len(tokens) == 1
    assert tokens[0].value.offsetY.value == pytest.approx(10, abs=3)
    assert tokens[0].value.blur.value == pytest.approx(15, rel=0.35)


def test_edge_search_leaves_flat_and_bordered_cards_alone() -> None:
    for img in (draw(blur=0, alpha=0.0, border=(209, 213, 219)),
                draw(blur=0, spread=3, oy=0, alpha=0.35, color=(99, 102, 241))):
        assert extract(img, ExtractContext())["shadow"] == {}
