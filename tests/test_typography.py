"""Text lines and the typography extractor on text the tests draw (Pillow TrueType, where the
font size is the em in px like CSS font-size) and on pages rendered by headless Chromium
with known CSS sizes, light and dark, at device scale 1 and 2."""

from __future__ import annotations

import glob
import textwrap

import msgspec
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from stylestream.extractors import ExtractContext
from stylestream.extractors.text import TextLine, find_text_lines
from stylestream.extractors.typography import extract
from stylestream.schemas.tokens import EXTENSION_KEY

from .support.browser import render

SANS = "Quick brown foxes jump over the lazy dog 0123"
PARAGRAPH = ("Every product team keeps a design system but few keep it in sync with what "
             "ships. Typography drifts first: a heading one pixel larger here, a caption in "
             "another grey there, until nobody can say which values are canonical any more.")


def font_path(name: str) -> str | None:
    found = glob.glob(f"/usr/share/fonts/**/{name}", recursive=True)
    return found[0] if found else None


DEJAVU = font_path("DejaVuSans.ttf")
DEJAVU_BOLD = font_path("DejaVuSans-Bold.ttf")
LIBERATION = font_path("LiberationSans-Regular.ttf")
LIBERATION_BOLD = font_path("LiberationSans-Bold.ttf")
needs_fonts = pytest.mark.skipif(not (DEJAVU and LIBERATION and DEJAVU_BOLD and LIBERATION_BOLD),
                                 reason="DejaVu/Liberation TrueType fonts not installed")


def draw_lines(specs, *, size=(1000, 700), bg="#ffffff", scale=1):
    """specs: (font path, CSS px, text, colour, x, baseline y) drawn at ``scale``; returns
    the image and the baselines in image px."""
    im = Image.new("RGB", (size[0] * scale, size[1] * scale), bg)
    d = ImageDraw.Draw(im)
    for path, px_, text, colour, x, y in specs:
        f = ImageFont.truetype(path, px_ * scale)
        d.text((x * scale, y * scale), text, fill=colour, font=f, anchor="ls")
    return np.asarray(im)


def font_groups(out):
    sizes = {k: v for k, v in out["font"]["size"].items() if not k.startswith("$")}
    return sizes, out["font"]["weight"], out["font"]["lineHeight"]


def size_values(out) -> list[float]:
    return sorted(t.value.value for t in font_groups(out)[0].values())


def hex_close(a: str, b: str, tol: int = 6) -> bool:
    return max(abs(int(a[i:i + 2], 16) - int(b[i:i + 2], 16)) for i in (1, 3, 5)) <= tol


def near(value: float, target: float, rel: float = 0.08, floor: float = 1.0) -> bool:
    return abs(value - target) <= max(floor, rel * target)


# --- text lines ---------------------------------------------------------------------------

@needs_fonts
@pytest.mark.parametrize("bg,fg", [("#ffffff", "#111827"), ("#0f172a", "#e2e8f0")])
def test_lines_measure_x_and_cap_height_and_baseline(bg: str, fg: str) -> None:
    sizes = (12, 14, 16, 20, 24, 32, 48)
    specs, y = [], 10
    for s in sizes:
        y += int(s * 1.6)
        specs.append((LIBERATION, s, SANS, fg, 20, y))
    img = draw_lines(specs, size=(1100, y + 30), bg=bg)
    lines = find_text_lines(img)
    assert len(lines) == len(sizes)
    assert lines == sorted(lines, key=lambda t: (t.y, t.x))
    for line, s, spec in zip(lines, sizes, specs, strict=True):
        assert isinstance(line, TextLine)
        # Liberation Sans (Arial metrics): x-height 0.519 em, capitals 0.716 em; pixel
        # rounding and overshoot of round letters add up to a pixel
        assert abs(line.x_height - 0.519 * s) <= max(1.0, 0.08 * s), (s, line)
        assert abs(line.cap_height - 0.716 * s) <= max(1.0, 0.05 * s), (s, line)
        assert abs(line.baseline - spec[5]) <= 1.0, (s, line)
        assert line.glyphs >= 30
        assert line.background == tuple(int(bg[i:i + 2], 16) for i in (1, 3, 5))
        if s >= 20:  # big text has a solid core of exactly the ink colour
            assert max(abs(a - int(fg[i:i + 2], 16)) for a, i in zip(line.color, (1, 3, 5))) <= 3
        assert 0.06 * s <= line.stroke <= 0.13 * s, (s, line.stroke)


@needs_fonts
def test_lines_on_buttons_and_badges_keep_their_background() -> None:
    im = Image.new("RGB", (700, 200), "#f9fafb")
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((20, 20, 220, 70), 8, fill="#2563eb")
    d.text((120, 52), "Create account", fill="#ffffff", font=ImageFont.truetype(LIBERATION_BOLD, 16),
           anchor="ms")
    d.text((260, 52), "Storage used", fill="#111827", font=ImageFont.truetype(LIBERATION, 16), anchor="ls")
    d.rounded_rectangle((372, 34, 420, 58), 10, fill="#374151")
    d.text((396, 51), "72%", fill="#ffffff", font=ImageFont.truetype(LIBERATION_BOLD, 12), anchor="ms")
    d.rectangle((20, 120, 300, 160), outline="#d1d5db")  # an empty input box: not text
    lines = find_text_lines(np.asarray(im))
    by_bg = {t.background: t for t in lines}
    assert set(by_bg) == {(37, 99, 235), (249, 250, 251), (55, 65, 81)}
    assert by_bg[(37, 99, 235)].color == (255, 255, 255)
    assert by_bg[(55, 65, 81)].x > 372 and by_bg[(55, 65, 81)].x + by_bg[(55, 65, 81)].w < 420


def test_non_text_makes_no_lines() -> None:
    rng = np.random.default_rng(7)
    img = np.full((600, 900, 3), 255, np.uint8)
    img[40:200, 40:400] = (37, 99, 235)                                 # a solid card
    img[240:241, 40:860] = (209, 213, 219)                              # a divider
    img[260:420, 40:400] = rng.integers(0, 256, (160, 360, 3))          # a noisy photo
    img[300:302, 450:850] = (17, 24, 39)                                # a 2 px rule
    for i in range(8):                                                  # a bar chart
        h = 40 + 17 * i
        img[560 - h:560, 450 + 50 * i:490 + 50 * i] = (129, 140, 248)
    img[560:562, 440:860] = (156, 163, 175)
    img[450:470, 40:60] = (17, 24, 39)                                  # a lone square
    assert find_text_lines(img) == []


def test_tiny_and_blank_images() -> None:
    for shape in ((16, 16, 3), (1, 1, 3), (5, 300, 3)):
        img = np.zeros(shape, np.uint8)
        assert find_text_lines(img) == []
        out = extract(img, ExtractContext())
        assert out == {"font": {"size": {}, "weight": {}, "lineHeight": {}}, "typography": {}}
    with pytest.raises(ValueError):
        find_text_lines(np.zeros((20, 20), np.uint8))


# --- typography ---------------------------------------------------------------------------

def page_specs(fg="#111827", muted="#4b5563"):
    """A small page: heading 32 bold, subheading 24 bold, 20 bold, body 16 (a wrapped
    paragraph at 24 px line pitch, the most text), 14 muted, caption 12."""
    specs, y = [], 60
    specs.append((LIBERATION_BOLD, 32, "Design tokens from screenshots", fg, 40, y))
    y += 44
    specs.append((LIBERATION_BOLD, 24, "Why measure the pixels", fg, 40, y))
    y += 36
    for row in textwrap.wrap(PARAGRAPH * 2, 90):
        specs.append((LIBERATION, 16, row, fg, 40, y))
        y += 24
    y += 12
    specs.append((LIBERATION_BOLD, 20, "Known limits of the method", fg, 40, y))
    y += 30
    for row in textwrap.wrap(PARAGRAPH, 100):
        specs.append((LIBERATION, 14, row, muted, 40, y))
        y += 20
    y += 8
    specs.append((LIBERATION, 12, "Updated three days ago by the platform team", muted, 40, y))
    return specs


@needs_fonts
@pytest.mark.parametrize("scale", [1, 2])
def test_sizes_weights_line_height_and_roles(scale: int) -> None:
    img = draw_lines(page_specs(), size=(900, 560), scale=scale)
    out = extract(img, ExtractContext(scale=float(scale)))
    sizes, weights, line_heights = font_groups(out)
    values = size_values(out)
    for expected in (12, 14, 16, 20, 24, 32):
        assert any(near(v, expected) for v in values), (expected, values)
    assert len(values) <= 7
    body = sizes["body"]
    assert near(body.value.value, 16, rel=0.04)
    assert body.value.unit == "px"
    ev = body.extensions[EXTENSION_KEY]
    assert ev.count >= 300 and 0.5 <= ev.confidence <= 1.0 and ev.boxes
    assert {"regular", "bold"} <= set(weights)
    assert weights["bold"].value == 700 and weights["regular"].value == 400
    assert weights["bold"].type == "fontWeight"
    # the 16 px paragraph has a 24 px pitch: 1.5
    assert line_heights["body"].value == pytest.approx(1.5, abs=0.05)
    typo = out["typography"]
    assert typo["body"].value.fontWeight == 400
    assert near(typo["body"].value.fontSize.value, 16, rel=0.04)
    assert typo["body"].value.lineHeight == pytest.approx(1.5, abs=0.05)
    assert hex_close(typo["body"].extensions[EXTENSION_KEY].color, "#111827")
    assert typo["heading-1"].value.fontWeight == 700
    assert near(typo["heading-1"].value.fontSize.value, 32)
    assert near(typo["heading-2"].value.fontSize.value, 24)
    assert typo["heading-1"].value.lineHeight is None  # a one-line heading shows none
    assert typo["heading-1"].value.fontFamily is None
    assert "caption" in typo and typo["caption"].value.fontSize.value < 16
    scale_info = out["font"]["size"]["$extensions"][EXTENSION_KEY]
    assert scale_info["base"] == body.value.value
    assert scale_info["ratio"] in (1.067, 1.125, 1.2, 1.25, 1.333, 1.414, 1.5, 1.618)
    assert 0.0 <= scale_info["fit"] <= 1.0
    assert sum(s["count"] for s in scale_info["sizes"]) == sum(
        t.extensions[EXTENSION_KEY].count for t in sizes.values())


@needs_fonts
def test_same_tokens_at_1x_and_2x_and_deterministic() -> None:
    one = extract(draw_lines(page_specs(), size=(900, 560)), ExtractContext(scale=1.0))
    two = extract(draw_lines(page_specs(), size=(900, 560), scale=2), ExtractContext(scale=2.0))
    # Pillow hints small sizes to whole pixels at 1x (12 px text has 9 px capitals), so 1x
    # and 2x may round to neighbouring sizes; never further apart than that
    v1, v2 = size_values(one), size_values(two)
    assert len(v1) == len(v2)
    assert all(near(a, b) for a, b in zip(v1, v2, strict=True)), (v1, v2)
    img = draw_lines(page_specs(), size=(900, 560))
    a = msgspec.json.encode(extract(img, ExtractContext(scale=1.0)))
    b = msgspec.json.encode(extract(img.copy(), ExtractContext(scale=1.0)))
    assert a == b


@needs_fonts
def test_dark_theme_and_other_family() -> None:
    specs = [(s[0].replace("LiberationSans-Bold", "DejaVuSans-Bold").replace(
        "LiberationSans-Regular", "DejaVuSans"), *s[1:]) for s in page_specs("#e5e7eb", "#9ca3af")]
    img = draw_lines(specs, size=(1100, 560), bg="#0b1020")
    out = extract(img, ExtractContext(scale=1.0))
    values = size_values(out)
    for expected in (12, 14, 16, 20, 24, 32):
        assert any(near(v, expected) for v in values), (expected, values)
    typo = out["typography"]
    assert near(typo["body"].value.fontSize.value, 16)
    assert hex_close(typo["body"].extensions[EXTENSION_KEY].color, "#e5e7eb")
    assert typo["heading-1"].value.fontWeight == 700


# --- Chromium ------------------------------------------------------------------------------

CSS_SIZES = (12, 14, 16, 20, 24, 32)


def chromium_page(bg: str, fg: str, muted: str, family: str) -> str:
    para = " ".join([PARAGRAPH] * 2)
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
    *{{margin:0;box-sizing:border-box}}
    body{{background:{bg};color:{fg};font-family:{family};padding:32px 48px;width:1000px}}
    h1{{font-size:32px;line-height:40px;font-weight:700;margin-bottom:12px}}
    h2{{font-size:24px;line-height:32px;font-weight:700;margin:16px 0 8px}}
    h3{{font-size:20px;line-height:28px;font-weight:700;margin:12px 0 6px}}
    p{{font-size:16px;line-height:24px;margin-bottom:12px}}
    .s{{font-size:14px;line-height:20px;color:{muted}}}
    .c{{font-size:12px;line-height:16px;color:{muted}}}
    .b{{display:inline-block;background:#2563eb;color:#fff;font-size:14px;font-weight:700;
        padding:8px 16px;border-radius:6px}}
    </style></head><body>
    <h1>Design tokens from screenshots</h1>
    <p>{para}</p>
    <h2>Why measure the pixels</h2>
    <p class="s">{PARAGRAPH}</p>
    <h3>Known limits of the method</h3>
    <p class="c">{PARAGRAPH}</p>
    <span class="b">Start free trial</span>
    </body></html>"""


@pytest.fixture(scope="module")
def chromium_shots() -> dict[tuple[str, int], np.ndarray]:
    pages = {
        "light": chromium_page("#ffffff", "#1f2937", "#4b5563", '"Liberation Sans", sans-serif'),
        "dark": chromium_page("#0f172a", "#e2e8f0", "#94a3b8", '"DejaVu Sans", sans-serif'),
    }
    shots = render(pages, width=1100, height=760, extra_args=("--font-render-hinting=none",))
    return {key: image for key, (image, _) in shots.items()}


@pytest.mark.browser
@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("scale", [1, 2])
def test_chromium_page_sizes(chromium_shots, theme: str, scale: int) -> None:
    img = chromium_shots[(theme, scale)]
    out = extract(img, ExtractContext(scale=float(scale)))
    values = size_values(out)
    # Liberation Sans (Arial metrics) comes out within 4 %; DejaVu Sans Bold stands ~8 %
    # taller than the average sans the ratios are set for
    rel = 0.08 if theme == "light" else 0.1
    for expected in CSS_SIZES:
        assert any(near(v, expected, rel) for v in values), (theme, scale, expected, values)
    # every size reported is one the page uses
    assert all(any(near(v, e, rel) for e in CSS_SIZES) for v in values), values
    sizes, weights, line_heights = font_groups(out)
    assert near(sizes["body"].value.value, 16)
    # the ratio is to the size reported; the line box it gives is the page's 24 px
    assert line_heights["body"].value * sizes["body"].value.value == pytest.approx(24, abs=1.0)
    typo = out["typography"]
    assert typo["body"].value.fontWeight == 400
    assert typo["heading-1"].value.fontWeight == 700
    assert near(typo["heading-1"].value.fontSize.value, 32, rel)
    # one size per CSS size; 14 px muted text wraps at 20 px, 12 px captions at 16 px
    assert len(values) == len(CSS_SIZES)
    by_rank = dict(zip(CSS_SIZES, sorted(sizes, key=lambda n: sizes[n].value.value), strict=True))
    for css, box in ((14, 20), (12, 16)):
        name = by_rank[css]
        assert line_heights[name].value * sizes[name].value.value == pytest.approx(box, abs=1.0)


@needs_fonts
def test_type_scale_ratio_is_fitted() -> None:
    # a major-third scale on a 16 px base: 10, 13, 16, 20, 25, 31 (whole px)
    sizes = [round(16 * 1.25 ** k) for k in range(-2, 4)]
    specs, y = [], 20
    for s in sizes:
        text = PARAGRAPH[:80] if s == 16 else SANS
        for _ in range(3 if s == 16 else 1):
            y += round(s * 1.5)
            specs.append((LIBERATION, s, text, "#111827", 20, y))
    img = draw_lines(specs, size=(1300, y + 20), scale=2)
    out = extract(img, ExtractContext(scale=2.0))
    found = size_values(out)
    assert len(found) == len(sizes) and all(near(a, b, 0.04) for a, b in zip(found, sizes, strict=True))
    info = out["font"]["size"]["$extensions"][EXTENSION_KEY]
    assert info["base"] == 16.0
    assert info["ratio"] == 1.25 and info["fit"] >= 0.9, info
    assert [s["size"] for s in info["sizes"]] == found
    names = [s["name"] for s in info["sizes"]]
    assert names == ["xs", "sm", "body", "lg", "xl", "2xl"]
