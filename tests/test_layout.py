"""Element boxes (``find_boxes``) on drawn images and on pages Chromium renders."""

from __future__ import annotations

import glob
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from stylestream.extractors.layout import Box, find_boxes

from .support.browser import render

SS = 4  # supersampling: Pillow shapes are aliased, a box filter makes them anti-aliased


def rgb(hexv: str) -> tuple[int, int, int]:
    return tuple(int(hexv[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


class Canvas:
    """Shapes drawn at SS x and reduced, so edges and corners are anti-aliased like a
    browser's; coordinates in output pixels."""

    def __init__(self, w: int, h: int, bg: str) -> None:
        self.w, self.h = w, h
        self.im = Image.new("RGB", (w * SS, h * SS), bg)
        self.d = ImageDraw.Draw(self.im)

    def rect(self, x: float, y: float, w: float, h: float, r: float, fill: str,
             border: str | None = None, bw: float = 0) -> None:
        self.d.rounded_rectangle(
            [x * SS, y * SS, (x + w) * SS - 1, (y + h) * SS - 1], radius=r * SS, fill=fill,
            outline=border, width=int(bw * SS))

    def image(self) -> np.ndarray:
        return np.asarray(self.im.resize((self.w, self.h), Image.BOX))


def font(size: int, bold: bool = False):
    names = ["DejaVuSans-Bold.ttf"] if bold else ["DejaVuSans.ttf"]
    for name in names + ["LiberationSans-Bold.ttf", "LiberationSans-Regular.ttf"]:
        found = glob.glob(f"/usr/share/fonts/**/{name}", recursive=True)
        if found:
            return ImageFont.truetype(found[0], size)
    pytest.skip("no TrueType font")


def near(boxes: list[Box], x: int, y: int, w: int, h: int, tol: int = 1) -> Box:
    for b in boxes:
        if abs(b.x - x) <= tol and abs(b.y - y) <= tol and abs(b.w - w) <= tol and abs(b.h - h) <= tol:
            return b
    raise AssertionError(f"no box near {(x, y, w, h)} in {[(b.x, b.y, b.w, b.h) for b in boxes]}")


THEMES = {
    "light": dict(bg="#f3f4f6", card="#ffffff", border="#d1d5db", accent="#2563eb", badge="#dcfce7"),
    "dark": dict(bg="#0f172a", card="#1e293b", border="#334155", accent="#38bdf8", badge="#14532d"),
}


def ui(theme: str, s: int = 1) -> np.ndarray:
    t = THEMES[theme]
    c = Canvas(480 * s, 320 * s, t["bg"])
    c.rect(24 * s, 24 * s, 432 * s, 272 * s, 12 * s, t["card"], t["border"], s)    # card
    c.rect(48 * s, 56 * s, 200 * s, 40 * s, 6 * s, t["card"], t["border"], s)      # input
    c.rect(48 * s, 120 * s, 120 * s, 36 * s, 8 * s, t["accent"])                   # button
    c.rect(184 * s, 124 * s, 64 * s, 28 * s, 14 * s, t["badge"])                   # pill
    c.rect(280 * s, 56 * s, 152 * s, 120 * s, 4 * s, t["bg"])                      # panel
    c.rect(296 * s, 72 * s, 48 * s, 48 * s, 24 * s, t["accent"])                   # avatar
    return c.image()


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("s", [1, 2])
def test_drawn_boxes_radii_borders_and_parents(theme: str, s: int) -> None:
    t = THEMES[theme]
    boxes = find_boxes(ui(theme, s), lossy=False, text_lines=[])
    card = near(boxes, 24 * s, 24 * s, 432 * s, 272 * s)
    assert card.fill == rgb(t["card"]) and card.border == rgb(t["border"])
    assert card.border_width == pytest.approx(s, abs=0.3)
    assert card.radius == pytest.approx(12 * s, abs=0.6 * s)
    assert card.parent is None
    ci = boxes.index(card)
    inp = near(boxes, 48 * s, 56 * s, 200 * s, 40 * s)
    assert inp.border == rgb(t["border"]) and inp.radius == pytest.approx(6 * s, abs=0.6 * s)
    btn = near(boxes, 48 * s, 120 * s, 120 * s, 36 * s)
    assert btn.fill == rgb(t["accent"]) and btn.border is None and btn.border_width == 0.0
    assert btn.radius == pytest.approx(8 * s, abs=0.6 * s)
    pill = near(boxes, 184 * s, 124 * s, 64 * s, 28 * s)
    assert pill.radius == pytest.approx(14 * s, abs=0.6 * s)  # a pill: half its height
    panel = near(boxes, 280 * s, 56 * s, 152 * s, 120 * s)
    assert panel.radius == pytest.approx(4 * s, abs=0.6 * s)
    avatar = near(boxes, 296 * s, 72 * s, 48 * s, 48 * s)
    assert avatar.radius == pytest.approx(24 * s, abs=0.6 * s)
    assert {inp.parent, btn.parent, pill.parent, panel.parent} == {ci}
    assert avatar.parent == boxes.index(panel)
    # every corner agrees on an unobstructed box
    assert max(btn.radii) - min(btn.radii) < 0.5
    # the order is (y, x, -area)
    assert [(b.y, b.x) for b in boxes] == sorted((b.y, b.x) for b in boxes)


def test_square_corners_and_thick_border_at_3x() -> None:
    c = Canvas(300, 200, "#ffffff")
    c.rect(30, 30, 240, 140, 0, "#ffffff", "#9ca3af", 3)   # a 1px CSS border at 3x
    c.rect(60, 60, 90, 60, 0, "#fde68a")
    boxes = find_boxes(c.image(), lossy=False, text_lines=[])
    outer = near(boxes, 30, 30, 240, 140)
    assert outer.border == rgb("#9ca3af") and outer.border_width == pytest.approx(3, abs=0.3)
    assert outer.radius < 0.5
    inner = near(boxes, 60, 60, 90, 60)
    assert inner.radius < 0.5 and inner.parent == boxes.index(outer)
    assert len(boxes) == 2


def test_text_glyphs_are_not_boxes() -> None:
    im = Image.new("RGB", (640, 200), "#ffffff")
    d = ImageDraw.Draw(im)
    d.text((20, 20), "HOLD 0O8 BDP", fill="#111827", font=font(64, bold=True))
    d.text((20, 120), "Quick brown fox jumps over the lazy dog", fill="#374151", font=font(20))
    assert find_boxes(np.asarray(im), lossy=False) == []


def test_tiny_flat_and_noise_images() -> None:
    assert find_boxes(np.zeros((16, 16, 3), np.uint8)) == []
    assert find_boxes(np.full((40, 60, 3), 200, np.uint8)) == []
    noise = np.random.default_rng(3).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    assert find_boxes(noise) == []
    with pytest.raises(ValueError):
        find_boxes(np.zeros((20, 20), np.uint8))


def test_deterministic() -> None:
    img = ui("light", 1)
    assert find_boxes(img) == find_boxes(img.copy())


def test_jpeg_screenshot_still_finds_the_boxes() -> None:
    buf = io.BytesIO()
    Image.fromarray(ui("light", 2)).save(buf, "JPEG", quality=85)
    img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    boxes = find_boxes(img, lossy=True, text_lines=[])
    btn = near(boxes, 96, 240, 240, 72, tol=2)
    assert btn.radius == pytest.approx(16, abs=2.0)


# --- rendered by Chromium ----------------------------------------------------------------

HINTING = ("--font-render-hinting=none",)

PAGE = """<!doctype html><html><head><style>
* { box-sizing: border-box; }
body { margin: 0; font: 14px/20px "Liberation Sans", sans-serif; background: #f3f4f6; color: #111827; }
.card { position: absolute; left: 40px; top: 30px; width: 420px; padding: 24px; background: #fff;
        border: 1px solid #e5e7eb; border-radius: 12px; }
.row { display: flex; gap: 12px; margin-top: 16px; }
.btn { padding: 8px 16px; border-radius: 6px; background: #4f46e5; color: #fff; }
.badge { padding: 2px 8px; border-radius: 9999px; background: #dcfce7; color: #166534; }
.input { margin-top: 16px; padding: 8px 12px; border: 1px solid #d1d5db; border-radius: 6px; }
.dark { position: absolute; left: 500px; top: 30px; width: 260px; height: 180px; padding: 16px;
        background: #0f172a; border-radius: 16px; }
.tile { height: 60px; background: #1e293b; border-radius: 8px; }
.dot { width: 40px; height: 40px; margin-top: 16px; border-radius: 50%; background: #f59e0b; }
</style></head><body>
<div class="card" id="card"><b>Sign in</b><div class="input" id="input">name@company.com</div>
 <div class="row"><span class="btn" id="btn">Continue</span>
 <span class="badge" id="badge">Secure</span></div></div>
<div class="dark" id="dark"><div class="tile" id="tile"></div><div class="dot" id="dot"></div></div>
</body></html>"""

#: CSS box and top-left radius of every element with an id
GEOMETRY_JS = """() => Object.fromEntries([...document.querySelectorAll('[id]')].map(e => {
  const r = e.getBoundingClientRect();
  return [e.id, [r.left, r.top, r.width, r.height, parseFloat(getComputedStyle(e).borderTopLeftRadius)]];
}))"""


def render_page(html: str, scales=(1, 2), width: int = 800, height: int = 260):
    """{scale: (screenshot RGB array, {id: (x, y, w, h, radius) in CSS px})}, one browser."""
    shots = render({"page": html}, scales, width=width, height=height, extra_args=HINTING,
                   script=GEOMETRY_JS)
    return {scale: shot for (_, scale), shot in shots.items()}


@pytest.fixture(scope="module")
def rendered():
    return render_page(PAGE)


@pytest.mark.browser
@pytest.mark.parametrize("s", [1, 2])
def test_rendered_boxes_and_radii(rendered, s: int) -> None:
    img, geometry = rendered[s]
    boxes = find_boxes(img, lossy=False)
    found = {}
    for name, (x, y, w, h, r) in geometry.items():
        b = near(boxes, round(x * s), round(y * s), round(w * s), round(h * s), tol=1)
        assert b.radius / s == pytest.approx(min(r, h / 2, w / 2), abs=1.0), name
        found[name] = b
    assert found["card"].border == (229, 231, 235)
    assert found["input"].border == (209, 213, 219)
    assert found["tile"].parent == boxes.index(found["dark"])
    assert found["input"].parent == boxes.index(found["card"])
