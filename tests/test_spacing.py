"""Spacing scale on drawn images (boxes only) and on a page Chromium renders (boxes and text)."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from PIL import Image, ImageDraw

from stylestream.extractors import ExtractContext
from stylestream.extractors.layout import find_boxes
from stylestream.extractors.spacing import extract, measure, spacing_scale
from stylestream.schemas.tokens import EXTENSION_KEY

from .support.browser import render

SS = 4


def draw(w: int, h: int, bg: str, shapes, s: int = 1) -> np.ndarray:
    im = Image.new("RGB", (w * s * SS, h * s * SS), bg)
    d = ImageDraw.Draw(im)
    k = s * SS
    for x, y, bw, bh, r, fill in shapes:
        d.rounded_rectangle([x * k, y * k, (x + bw) * k - 1, (y + bh) * k - 1], radius=r * k, fill=fill)
    return np.asarray(im.resize((w * s, h * s), Image.BOX))


def grid_page(surface: str, inner: str, chip: str, base: int):
    """Two cards (padding 3 base) holding rows of tiles (gap 2 base, padding 1 base inside
    the tiles around chips); the cards are 4 base apart."""
    b = base
    shapes = []
    for c in range(2):
        cx = 2 * b + c * (60 * b // 2 + 4 * b)
        shapes.append((cx, 2 * b, 30 * b, 26 * b, 2, surface))           # card
        for i in range(2):
            for j in range(2):
                tx = cx + 3 * b + j * (11 * b + 2 * b)
                ty = 2 * b + 3 * b + i * (9 * b + 2 * b)
                shapes.append((tx, ty, 11 * b, 9 * b, 2, inner))        # tile
                shapes.append((tx + b, ty + b, 9 * b, 7 * b, 2, chip))  # chip: padding 1 base
    return shapes


def tokens(out) -> dict[str, float]:
    return {k: t.value.value for k, t in out["spacing"].items() if k != "$extensions"}


@pytest.mark.parametrize("theme", [("#f3f4f6", "#ffffff", "#e0e7ff", "#6366f1"),
                                   ("#020617", "#1e293b", "#334155", "#22d3ee")])
@pytest.mark.parametrize("s", [1, 2])
@pytest.mark.parametrize("base", [4, 5, 8])
def test_boxes_only_scale_and_base(theme, s: int, base: int) -> None:
    img = draw(72 * base, 32 * base, theme[0], grid_page(*theme[1:], base), s)
    out = extract(img, ExtractContext(scale=float(s), source_format="png"))
    ext = out["spacing"]["$extensions"][EXTENSION_KEY]
    v = tokens(out)
    # paddings 1 and 3 base, gaps 2 and 4 base: exact, named value / base
    assert ext["base"] == base and ext["fit"] == 1.0
    assert v == {"1": base, "2": 2 * base, "3": 3 * base, "4": 4 * base}, v
    three = out["spacing"]["3"].extensions[EXTENSION_KEY]
    assert three.count >= 4 and three.confidence >= 0.8 and len(three.boxes) == 3


def test_names_and_scale_from_measurements() -> None:
    from stylestream.extractors.spacing import Measure

    ms = [Measure(v, True, "gap", (0, 0, 1, 1)) for v in (4, 4, 8, 8, 8, 16, 16, 6, 6, 24)]
    ms += [Measure(12.6, False, "padding", (0, 0, 1, 1)), Measure(3.0, False, "gap", (0, 0, 1, 1))]
    g = spacing_scale(ms)
    ext = g["$extensions"][EXTENSION_KEY]
    assert ext["base"] == 4
    assert ext["fit"] == pytest.approx(10 / 12, abs=0.01)
    names = {k: t.value.value for k, t in g.items() if k != "$extensions"}
    # 6 px -> 1.5 base; text-derived lengths snap to the grid: 3.0 joins 4, 12.6 becomes 12
    # but stays out: one text-derived length alone is not enough
    assert names == {"1": 4, "1_5": 6, "2": 8, "4": 16, "6": 24}
    assert [(s["value"], s["count"], s["kept"]) for s in ext["scale"]] == [
        (4.0, 3, True), (6.0, 2, True), (8.0, 3, True), (12.0, 1, False), (16.0, 2, True),
        (24.0, 1, True)]
    assert spacing_scale([]) == {}


def test_tiny_and_deterministic() -> None:
    assert extract(np.zeros((16, 16, 3), np.uint8), ExtractContext()) == {"spacing": {}}
    img = draw(288, 128, "#ffffff", grid_page("#f8fafc", "#e2e8f0", "#0ea5e9", 4))
    a = msgspec.json.encode(extract(img, ExtractContext()))
    assert a == msgspec.json.encode(extract(img.copy(), ExtractContext()))
    # measure() works from boxes alone
    boxes = find_boxes(img, lossy=False, text_lines=[])
    assert {round(m.value) for m in measure(boxes, [], img.shape[:2], 1.0)} == {4, 8, 12, 16}


@pytest.mark.browser
def test_blocks_change_nothing(rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pairwise comparisons (line pitches, line containers, sibling gaps) run a block of
    rows at a time; blocks of 3 give the measurements of one block."""
    from stylestream.extractors import spacing
    from stylestream.extractors.text import find_text_lines

    image = rendered[2]
    lines = find_text_lines(image)
    boxes = find_boxes(image, lossy=False, text_lines=lines)
    assert len(lines) > 3 and len(boxes) > 3
    whole = measure(boxes, lines, image.shape[:2], 2.0)
    monkeypatch.setattr(spacing, "BLOCK", 3)
    assert measure(boxes, lines, image.shape[:2], 2.0) == whole


# --- rendered by Chromium ----------------------------------------------------------------

HINTING = ("--font-render-hinting=none",)

PAGE = """<!doctype html><html><head><style>
* { box-sizing: border-box; }
body { margin: 0; font: 14px/20px "Liberation Sans", sans-serif; background: #f1f5f9; color: #0f172a; }
.wrap { display: flex; gap: 24px; padding: 24px; }
.card { width: 300px; background: #fff; border-radius: 8px; padding: 20px; }
.card p { margin: 0 0 12px; }
.row { display: flex; gap: 8px; }
.btn { padding: 8px 16px; border-radius: 6px; background: #0f766e; color: #fff; }
.chip { padding: 4px 12px; border-radius: 4px; background: #ccfbf1; color: #134e4a; }
.list { display: flex; flex-direction: column; gap: 12px; margin-top: 12px; }
.item { background: #f1f5f9; border-radius: 6px; padding: 12px 16px; }
</style></head><body><div class="wrap">
<div class="card"><p>Weekly report</p>
 <div class="row"><span class="btn">Open</span><span class="btn">Share</span></div>
 <div class="list"><div class="item">Revenue</div><div class="item">Churn</div></div></div>
<div class="card"><p>Filters</p>
 <div class="row"><span class="chip">Web</span><span class="chip">iOS</span>
  <span class="chip">Android</span></div>
 <div class="list"><div class="item">Region</div><div class="item">Plan</div></div></div>
</div></body></html>"""

#: CSS paddings and gaps of PAGE
WANT = {24, 20, 12, 8, 16, 4}


@pytest.fixture(scope="module")
def rendered() -> dict[int, np.ndarray]:
    shots = render({"page": PAGE}, width=720, height=300, extra_args=HINTING)
    return {scale: image for (_, scale), (image, _) in shots.items()}


@pytest.mark.browser
@pytest.mark.parametrize("s", [1, 2])
def test_rendered_paddings_and_gaps(rendered, s: int) -> None:
    out = extract(rendered[s], ExtractContext(scale=float(s), source_format="png"))
    ext = out["spacing"]["$extensions"][EXTENSION_KEY]
    assert ext["base"] == 4 and ext["fit"] >= 0.7
    found = sorted(tokens(out).values())
    hits = [w for w in WANT if any(abs(f - w) <= 1 for f in found)]
    assert len(hits) / len(WANT) >= 0.8, (sorted(WANT), found)
    # box-to-box lengths are exact: the card gap, the item gaps, the wrap padding
    exact = {st["value"] for st in ext["scale"] if st["exact"] > 0}
    assert {24.0, 12.0} <= exact, exact
