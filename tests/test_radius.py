"""Radius scale on drawn images and on a page Chromium renders."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from PIL import Image, ImageDraw

from stylestream.extractors import ExtractContext
from stylestream.extractors.layout import Box
from stylestream.extractors.radius import extract, radius_scale
from stylestream.schemas.tokens import EXTENSION_KEY

from .support.browser import render

SS = 4


def draw(w: int, h: int, bg: str, shapes, s: int = 1) -> np.ndarray:
    """Anti-aliased rounded rectangles (x, y, w, h, r, fill[, border]) in CSS px at scale s."""
    im = Image.new("RGB", (w * s * SS, h * s * SS), bg)
    d = ImageDraw.Draw(im)
    k = s * SS
    for x, y, bw, bh, r, fill, *border in shapes:
        d.rounded_rectangle([x * k, y * k, (x + bw) * k - 1, (y + bh) * k - 1], radius=r * k,
                            fill=fill, outline=border[0] if border else None,
                            width=k if border else 0)
    return np.asarray(im.resize((w * s, h * s), Image.BOX))


def page(bg: str, surface: str, accent: str, line: str):
    """Cards r=12, buttons r=6, inputs r=6 with borders, chips r=4, pills and avatars."""
    shapes = []
    for i in range(3):
        x = 20 + 200 * i
        shapes.append((x, 20, 180, 200, 12, surface, line))
        shapes.append((x + 16, 40, 96, 36, 6, accent))
        shapes.append((x + 16, 92, 148, 36, 6, surface, line))
        shapes.append((x + 16, 144, 48, 20, 4, accent))
        shapes.append((x + 76, 144, 64, 24, 12, accent))          # pill
        shapes.append((x + 120, 40, 40, 40, 20, line))            # avatar
    return shapes


def values(out) -> dict[str, float]:
    return {k: t.value.value for k, t in out["radius"].items()}


@pytest.mark.parametrize("theme", [("#f3f4f6", "#ffffff", "#2563eb", "#d1d5db"),
                                   ("#0b1120", "#1e293b", "#38bdf8", "#475569")])
@pytest.mark.parametrize("s", [1, 2, 3])
def test_scale_of_drawn_page(theme, s: int) -> None:
    img = draw(640, 240, theme[0], page(*theme), s)
    out = extract(img, ExtractContext(scale=float(s), source_format="png"))
    v = values(out)
    assert set(v) == {"sm", "md", "lg", "full"}, v
    assert v["sm"] == pytest.approx(4, abs=1.0)
    assert v["md"] == pytest.approx(6, abs=1.0)
    assert v["lg"] == pytest.approx(12, abs=1.0)
    assert v["full"] == 9999
    full = out["radius"]["full"].extensions[EXTENSION_KEY]
    assert full.count == 6 and 12.0 <= full.measured <= 20.0   # median half height: pills 12, avatars 20
    md = out["radius"]["md"].extensions[EXTENSION_KEY]
    assert md.count == 6 and md.confidence >= 0.6 and len(md.boxes) == 3
    assert out["radius"]["lg"].extensions[EXTENSION_KEY].count == 3


def test_square_corners_dominate() -> None:
    shapes = [(20 + 60 * i, 20, 50, 30, 0, "#1d4ed8") for i in range(6)]
    shapes.append((20, 80, 120, 40, 8, "#1d4ed8"))
    out = extract(draw(400, 140, "#ffffff", shapes), ExtractContext())
    v = values(out)
    assert v["none"] == 0 and out["radius"]["none"].extensions[EXTENSION_KEY].count == 6
    assert v["sm"] == pytest.approx(8, abs=1.0)


def test_single_box_needs_agreeing_corners() -> None:
    # one box, four corners alike: kept with a lower confidence
    out = extract(draw(200, 120, "#ffffff", [(20, 20, 150, 80, 10, "#059669")]), ExtractContext())
    tok = out["radius"]["sm"]
    assert tok.value.value == pytest.approx(10, abs=1.0)
    assert 0.5 <= tok.extensions[EXTENSION_KEY].confidence < 0.6
    # corners that disagree are no reading
    box = Box(10, 10, 100, 40, (0, 0, 0), None, 0.0, 8.0, None, radii=(8.0, 2.0, 0.0, 15.0))
    assert radius_scale([box], (100, 200), 1.0) == {}


def test_edge_boxes_tiny_and_deterministic() -> None:
    # boxes cut by the image edge are not measured
    out = extract(draw(200, 100, "#ffffff", [(0, 20, 120, 60, 10, "#111827")]), ExtractContext())
    assert out == {"radius": {}}
    assert extract(np.zeros((16, 16, 3), np.uint8), ExtractContext()) == {"radius": {}}
    img = draw(640, 240, "#ffffff", page("#ffffff", "#ffffff", "#7c3aed", "#e5e7eb"), 1)
    a = msgspec.json.encode(extract(img, ExtractContext()))
    b = msgspec.json.encode(extract(img.copy(), ExtractContext()))
    assert a == b


# --- rendered by Chromium ----------------------------------------------------------------

HINTING = ("--font-render-hinting=none",)

PAGE = """<!doctype html><html><head><style>
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; font: 14px/20px "DejaVu Sans", sans-serif; background: #fafafa;
       display: grid; grid-template-columns: repeat(3, 220px); gap: 20px; }
.card { background: #fff; border: 1px solid #e4e4e7; border-radius: 10px; padding: 16px; }
.btn { display: inline-block; margin-top: 12px; padding: 8px 14px; border-radius: 5px;
       background: #18181b; color: #fff; }
.tag { display: inline-block; margin-top: 12px; padding: 2px 10px; border-radius: 999px;
       background: #e0e7ff; color: #3730a3; }
.field { margin-top: 12px; padding: 8px; border: 1px solid #d4d4d8; border-radius: 5px; }
.img { margin-top: 12px; height: 48px; border-radius: 16px; background: #a78bfa; }
</style></head><body>
<div class="card">Plan<div class="field">Email</div><span class="btn">Buy</span><div class="img"></div></div>
<div class="card">Team<div class="field">Name</div><span class="btn">Add</span>
 <span class="tag">beta</span></div>
<div class="card">Usage<div class="img"></div><span class="tag">new</span></div>
</body></html>"""

#: radii used by PAGE (CSS px); tags are pills
WANT = {10, 5, 16}


@pytest.fixture(scope="module")
def rendered() -> dict[int, np.ndarray]:
    shots = render({"page": PAGE}, width=760, height=300, extra_args=HINTING)
    return {scale: image for (_, scale), (image, _) in shots.items()}


@pytest.mark.browser
@pytest.mark.parametrize("s", [1, 2])
def test_rendered_radii(rendered, s: int) -> None:
    out = extract(rendered[s], ExtractContext(scale=float(s), source_format="png"))
    v = values(out)
    assert "full" in v
    steps = sorted(x for k, x in v.items() if k != "full")
    for want in WANT:
        assert any(abs(x - want) <= 1.5 for x in steps), (want, steps)
    assert len(steps) == len(WANT), steps
