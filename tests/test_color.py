"""Unit tests for the colour extractor on images the tests draw themselves."""

from __future__ import annotations

import glob
import io
import re

import cv2
import msgspec
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from stylestream.extractors import ExtractContext, prepare
from stylestream.extractors.color import (
    ciede2000,
    contrast_ratio,
    extract,
    relative_luminance,
    srgb_to_cielab,
)
from stylestream.schemas.tokens import EXTENSION_KEY, ColorToken

from .support.browser import render

PNG = ExtractContext(source_format="png")
JPEG = ExtractContext(source_format="jpeg")


def rgb(hexv: str) -> tuple[int, int, int]:
    return tuple(int(hexv[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def palette(image: np.ndarray, ctx: ExtractContext = PNG) -> dict[str, ColorToken]:
    return extract(image, ctx)["color"]["palette"]


def hexes(pal: dict[str, ColorToken]) -> list[str]:
    return [t.value.hex for t in pal.values()]


def evidence(token: ColorToken):
    return token.extensions[EXTENSION_KEY]


def delta_e(hex_a: str, hex_b: str) -> float:
    lab = srgb_to_cielab(np.array([rgb(hex_a), rgb(hex_b)], np.uint8))
    return float(ciede2000(lab[0], lab[1]))


def nearest(hexv: str, expected: list[str]) -> float:
    return min(delta_e(hexv, e) for e in expected)


def font(size: int, bold: bool = False):
    """A TrueType font if the system has one (DejaVu or Liberation), else None."""
    names = ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"] if bold else \
        ["DejaVuSans.ttf", "LiberationSans-Regular.ttf"]
    for name in names:
        found = glob.glob(f"/usr/share/fonts/**/{name}", recursive=True)
        if found:
            return ImageFont.truetype(found[0], size)
    return None


def canvas(w: int, h: int, bg: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    im = Image.new("RGB", (w, h), bg)
    return im, ImageDraw.Draw(im)


def draw_text_block(im: Image.Image, d: ImageDraw.ImageDraw, colour: str, x: int, y: int,
                    sizes=(11, 13, 14, 16, 20, 24, 32), bold: bool = False) -> None:
    """Anti-aliased text; an anti-aliased circle ring where no TrueType font exists."""
    arr = None
    for i, size in enumerate(sizes):
        f = font(size, bold)
        if f is not None:
            d.text((x, y), "Quick brown fox jumps 0123 @#%&", fill=colour, font=f)
        else:
            arr = np.asarray(im).copy() if arr is None else arr
            cv2.circle(arr, (x + 30 + 70 * i, y + 20), 12 + i, rgb(colour), 2,
                       cv2.LINE_AA)
        y += size + 10
    if arr is not None:
        im.paste(Image.fromarray(arr))


def flat_ui() -> np.ndarray:
    """Distinct flat regions with known pixel counts (300 x 200 = 60000 px)."""
    img = np.zeros((200, 300, 3), np.uint8)
    img[:, :] = rgb("#ffffff")            # 60000 - the rest
    img[:, :60] = rgb("#111827")          # sidebar 60 x 200 = 12000
    img[0:40, 60:] = rgb("#f3f4f6")       # header 240 x 40 = 9600
    img[100:140, 100:200] = rgb("#2563eb")  # button 100 x 40 = 4000
    img[160:180, 220:280] = rgb("#dcfce7")  # badge 60 x 20 = 1200
    return img


# --- colour maths ---------------------------------------------------------------------

def test_ciede2000_matches_sharma_reference_pairs():
    # G. Sharma, W. Wu, E. Dalal (2005), "The CIEDE2000 color-difference formula":
    # published test data, including the hue-wrap corner cases.
    pairs = [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
        ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
        ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0011), 7.2195),
        ((50.0, -0.001, 2.49), (50.0, 0.0009, -2.49), 4.8045),
        ((50.0, -0.001, 2.49), (50.0, 0.0011, -2.49), 4.7461),
        ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((90.8027, -2.0831, 1.441), (91.1528, -1.6435, 0.0447), 1.4441),
        ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
    ]
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    want = np.array([p[2] for p in pairs])
    np.testing.assert_allclose(ciede2000(a, b), want, atol=1e-4)
    np.testing.assert_allclose(ciede2000(b, a), want, atol=1e-4)


# --- flat colours -----------------------------------------------------------------------

def test_flat_regions_exact_colours_and_shares():
    pal = palette(flat_ui())
    got = {t.value.hex: evidence(t) for t in pal.values()}
    want = {"#ffffff": 60000 - 12000 - 9600 - 4000 - 1200, "#111827": 12000,
            "#f3f4f6": 9600, "#2563eb": 4000, "#dcfce7": 1200}
    assert set(got) == set(want)
    for hexv, count in want.items():
        assert got[hexv].pixels == count
        assert got[hexv].share == pytest.approx(count / 60000, abs=1e-6)
        assert 0.5 <= got[hexv].confidence <= 1.0
    shares = [evidence(t).share for t in pal.values()]
    assert shares == sorted(shares, reverse=True)


def test_close_greys_stay_distinct_in_lossless_images():
    # Tailwind gray-50 and gray-100: a real design distinction, ~1.6 CIEDE2000 apart
    img = np.zeros((120, 200, 3), np.uint8)
    img[:, :100] = rgb("#f9fafb")
    img[:, 100:] = rgb("#f3f4f6")
    assert sorted(hexes(palette(img))) == ["#f3f4f6", "#f9fafb"]


def test_small_accent_button_is_found():
    im, d = canvas(1000, 500, "#ffffff")
    d.rectangle([0, 0, 999, 59], fill="#f9fafb")
    d.line([0, 60, 999, 60], fill="#e5e7eb")
    draw_text_block(im, d, "#374151", 40, 100, sizes=(13, 14, 16))
    d.rectangle([800, 400, 849, 419], fill="#7c3aed")  # 50 x 20 = 1000 px = 0.2 %
    pal = palette(np.asarray(im))
    accent = [t for t in pal.values() if t.value.hex == "#7c3aed"]
    assert len(accent) == 1
    ev = evidence(accent[0])
    assert ev.share == pytest.approx(0.002, abs=1e-6)
    assert ev.boxes is not None and ev.boxes[0] == (800, 400, 50, 20)


def test_tiny_dot_is_found():
    img = np.full((400, 600, 3), rgb("#ffffff"), np.uint8)
    cv2.circle(img, (300, 200), 5, rgb("#ef4444"), -1, cv2.LINE_AA)  # status dot, ~80 px
    assert "#ef4444" in hexes(palette(img))


@pytest.mark.parametrize(("bg", "fg"), [
    ("#ffffff", "#111827"),   # dark text on white
    ("#0f172a", "#e2e8f0"),   # light text on a dark theme
    ("#f3f4f6", "#2563eb"),   # coloured link text on grey
    ("#1e293b", "#f59e0b"),   # amber on slate
])
def test_antialiased_text_invents_no_colours(bg, fg):
    im, d = canvas(900, 420, bg)
    draw_text_block(im, d, fg, 20, 10)
    draw_text_block(im, d, fg, 460, 10, bold=True)
    img = np.asarray(im)
    n_colours = len(np.unique(img.reshape(-1, 3), axis=0))
    assert n_colours > 20  # there are plenty of blended edge colours to be fooled by
    found = hexes(palette(img))
    assert found[0] == bg
    # only the background and (from the solid cores of big glyphs) the text colour
    assert set(found) <= {bg, fg}, found


def test_antialiased_shapes_invent_no_colours():
    img = np.full((400, 600, 3), rgb("#f8fafc"), np.uint8)
    cv2.circle(img, (150, 200), 80, rgb("#0ea5e9"), -1, cv2.LINE_AA)
    cv2.ellipse(img, (420, 200), (120, 60), 17, 0, 360, rgb("#16a34a"), -1, cv2.LINE_AA)
    cv2.line(img, (20, 380), (580, 330), rgb("#9333ea"), 3, cv2.LINE_AA)
    found = hexes(palette(img))
    assert set(found) <= {"#f8fafc", "#0ea5e9", "#16a34a", "#9333ea"}, found
    assert {"#f8fafc", "#0ea5e9", "#16a34a"} <= set(found)


def test_one_pixel_border_is_found():
    im, d = canvas(800, 500, "#f9fafb")
    d.rectangle([100, 100, 500, 300], fill="#ffffff", outline="#d1d5db", width=1)
    d.line([0, 450, 799, 450], fill="#94a3b8")
    draw_text_block(im, d, "#111827", 120, 120, sizes=(13, 14))
    pal = palette(np.asarray(im))
    found = hexes(pal)
    assert "#d1d5db" in found and "#94a3b8" in found
    box = evidence(next(t for t in pal.values() if t.value.hex == "#94a3b8")).boxes
    assert box is not None and box[0] == (0, 450, 800, 1)


def test_fractional_edge_blend_line_is_not_a_colour():
    # a box edge at a fractional position renders as one long line of a 50 % blend
    img = np.full((300, 400, 3), 255, np.uint8)
    img[100:200, 50:350] = rgb("#1d4ed8")
    blend = (np.array(rgb("#1d4ed8")) + 255) // 2
    img[99, 50:350] = blend
    img[100:200, 350] = blend
    found = hexes(palette(img))
    assert sorted(found) == ["#1d4ed8", "#ffffff"], found


# --- gradients ----------------------------------------------------------------------------

def test_gradient_does_not_explode_into_tokens():
    img = np.full((600, 800, 3), 255, np.uint8)
    ramp = np.linspace(0, 1, 300)[:, None]
    top, bottom = np.array(rgb("#6366f1")), np.array(rgb("#ec4899"))
    img[100:400, 100:700] = np.round(top * (1 - ramp) + bottom * ramp)[:, None, :].astype(np.uint8)
    img[450:500, 100:300] = rgb("#111827")
    found = hexes(palette(img))
    assert "#ffffff" in found and "#111827" in found
    assert len(found) <= 6, found


def test_photo_region_adds_no_colours():
    rng = np.random.default_rng(1)
    img = np.full((600, 900, 3), rgb("#f9fafb"), np.uint8)
    coarse = rng.integers(0, 256, (10, 16, 3)).astype(np.uint8)
    photo = cv2.resize(coarse, (560, 340), interpolation=cv2.INTER_CUBIC)
    photo = np.clip(photo.astype(int) + rng.integers(-4, 5, photo.shape), 0, 255)
    img[60:400, 60:620] = photo.astype(np.uint8)
    img[450:490, 60:180] = rgb("#2563eb")
    assert sorted(hexes(palette(img))) == ["#2563eb", "#f9fafb"]


def test_soft_shadow_is_not_a_colour():
    # a white card with a blurred drop shadow on a grey page
    shade = np.zeros((500, 800), np.float32)
    shade[110:330, 100:420] = 1.0
    shade = cv2.GaussianBlur(shade, (0, 0), 6) * 0.35
    page = np.array(rgb("#f4f4f5"), np.float32)
    img = np.round(page * (1 - shade[..., None])).astype(np.uint8)
    img[100:320, 100:420] = 255
    img[140:160, 130:260] = rgb("#18181b")
    found = hexes(palette(img))
    assert sorted(found) == ["#18181b", "#f4f4f5", "#ffffff"], found


# --- JPEG ------------------------------------------------------------------------------

def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def ui_for_jpeg() -> tuple[np.ndarray, list[str]]:
    im, d = canvas(960, 600, "#ffffff")
    d.rectangle([0, 0, 200, 599], fill="#1f2937")
    d.rectangle([200, 0, 959, 56], fill="#eef2ff")
    d.rounded_rectangle([240, 120, 560, 320], radius=12, fill="#fef3c7")
    d.rounded_rectangle([600, 120, 920, 320], radius=12, fill="#dbeafe")
    d.rounded_rectangle([780, 12, 920, 44], radius=6, fill="#dc2626")
    draw_text_block(im, d, "#111827", 240, 360, sizes=(14, 16))
    return np.asarray(im), ["#ffffff", "#1f2937", "#eef2ff", "#fef3c7", "#dbeafe", "#dc2626",
                            "#111827"]


@pytest.mark.parametrize("quality", [75, 85, 90])
@pytest.mark.parametrize("ctx", [JPEG, ExtractContext()], ids=["told-jpeg", "detected"])
def test_jpeg_reencoding_keeps_palette(quality, ctx):
    img, used = ui_for_jpeg()
    regions = used[:-1]  # the last one is the text colour
    lossless = hexes(palette(img))
    assert set(regions) <= set(lossless) <= set(used)
    found = hexes(palette(jpeg(img, quality), ctx))
    # every reported colour is one that was drawn (no compression artefacts)...
    for hexv in found:
        assert nearest(hexv, used) <= 5.0, (hexv, found)
    # ...and every solid region is still there (small text is JPEG's first casualty)
    for hexv in regions:
        assert nearest(hexv, found) <= 5.0, (hexv, found)
    assert len(found) <= len(lossless)


# --- contract -----------------------------------------------------------------------------

def test_deterministic_bytes():
    im, d = canvas(700, 400, "#fafafa")
    d.rounded_rectangle([50, 50, 300, 200], radius=14, fill="#ffffff", outline="#e4e4e7")
    draw_text_block(im, d, "#18181b", 60, 220, sizes=(14, 24))
    d.ellipse([600, 30, 612, 42], fill="#22c55e")
    img = np.asarray(im)
    first = msgspec.json.encode(extract(img, PNG))
    second = msgspec.json.encode(extract(img.copy(), PNG))
    assert first == second
    assert len(msgspec.json.decode(first)["color"]["palette"]) >= 3


def test_dtcg_shape():
    doc = msgspec.json.decode(msgspec.json.encode(extract(flat_ui(), PNG)))
    pal = doc["color"]["palette"]
    assert pal
    for name, token in pal.items():
        assert re.fullmatch(r"[a-z]+-\d{1,3}(-[0-9a-f]{6})?", name), name
        assert token["$type"] == "color"  # DTCG needs it on the wire, default or not
        assert msgspec.convert(token, ColorToken).type == "color"
        value = token["$value"]
        assert value["colorSpace"] == "srgb"
        assert value["alpha"] == 1.0
        assert re.fullmatch(r"#[0-9a-f]{6}", value["hex"])
        comps = value["components"]
        assert len(comps) == 3 and all(0.0 <= c <= 1.0 for c in comps)
        assert [round(int(value["hex"][i:i + 2], 16) / 255, 4) for i in (1, 3, 5)] == comps
        ev = token["$extensions"][EXTENSION_KEY]
        assert set(ev) <= {"confidence", "share", "pixels", "boxes"}
        assert 0.0 < ev["share"] <= 1.0 and ev["pixels"] > 0
        for x, y, w, h in ev["boxes"]:
            assert 0 <= x < 300 and 0 <= y < 200 and w > 0 and h > 0
    names = {t["$value"]["hex"]: n for n, t in pal.items()}
    assert names["#ffffff"] == "gray-100"
    assert names["#2563eb"].startswith("blue-")


def test_name_collisions_get_a_colour_suffix():
    # a neutral and a cool grey: distinct colours, same family and OKLab lightness (60)
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, :100] = rgb("#808080")
    img[:, 100:] = rgb("#7b8088")
    pal = palette(img)
    assert set(pal) == {"gray-60-808080", "gray-60-7b8088"}


def test_large_images_are_subsampled_without_blending():
    img = np.zeros((2400, 2400, 3), np.uint8)  # 5.8 MP
    img[:, :1200] = rgb("#0f766e")
    img[:, 1200:] = rgb("#fef9c3")
    pal = palette(img)
    assert sorted(hexes(pal)) == ["#0f766e", "#fef9c3"]
    for t in pal.values():
        assert evidence(t).share == pytest.approx(0.5, abs=1e-3)
        assert evidence(t).pixels == pytest.approx(2400 * 1200, rel=1e-3)


def test_noise_image_yields_nothing_rather_than_guesses():
    noise = np.random.default_rng(7).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    assert palette(noise) == {}


def test_rejects_non_rgb_input():
    with pytest.raises(ValueError):
        extract(np.zeros((10, 10), np.uint8), PNG)
    with pytest.raises(ValueError):
        extract(np.zeros((10, 10, 3), np.float32), PNG)


# --- roles, scheme and contrast ---------------------------------------------------------------


def roles(doc: dict) -> dict[str, str]:
    """Role name -> hex of an ``extract`` result (the tokens beside ``palette``)."""
    return {k: v.value.hex for k, v in doc["color"].items() if k not in ("palette", "$extensions")}


def group_info(doc: dict) -> dict:
    return doc["color"]["$extensions"][EXTENSION_KEY]


@pytest.mark.parametrize(("fg", "bg", "want"), [
    ("#767676", "#ffffff", 4.54),   # the lightest grey that passes AA on white
    ("#777777", "#ffffff", 4.48),
    ("#000000", "#ffffff", 21.0),
    ("#ffffff", "#ffffff", 1.0),
    ("#2563eb", "#ffffff", 5.17),
    ("#ffffff", "#0f172a", 17.85),
])
def test_contrast_ratio_is_the_wcag_formula(fg, bg, want):
    assert round(contrast_ratio(rgb(fg), rgb(bg)), 2) == want
    assert contrast_ratio(rgb(bg), rgb(fg)) == contrast_ratio(rgb(fg), rgb(bg))


def test_relative_luminance_reference_values():
    assert relative_luminance(rgb("#ffffff")) == pytest.approx(1.0)
    assert relative_luminance(rgb("#000000")) == 0.0
    assert relative_luminance(rgb("#808080")) == pytest.approx(0.2159, abs=1e-4)
    assert relative_luminance(rgb("#ff0000")) == pytest.approx(0.2126, abs=1e-6)


LIGHT_ROLES = {"background": "#f9fafb", "surface": "#ffffff", "border": "#e5e7eb",
               "primary": "#2563eb", "text-on-primary": "#ffffff", "text-primary": "#111827",
               "text-secondary": "#6b7280", "success": "#16a34a", "danger": "#dc2626"}
DARK_ROLES = {"background": "#0f172a", "surface": "#1e293b", "border": "#334155",
              "primary": "#8b5cf6", "text-on-primary": "#ffffff", "text-primary": "#f1f5f9",
              "text-secondary": "#94a3b8", "success": "#22c55e", "danger": "#ef4444"}


def app_page(c: dict[str, str]) -> np.ndarray:
    """An app screen drawn with known role colours: title and subtitle on the page, three
    bordered cards (text, a primary button, a status badge), a table card with dividers
    and primary-coloured links, a primary button in the header."""
    im, d = canvas(1200, 800, c["background"])
    body, small = font(15), font(13)
    if body is None:
        pytest.skip("no TrueType font")
    d.text((40, 30), "Projects overview", fill=c["text-primary"], font=font(24, True))
    d.text((40, 70), "All projects you have access to, sorted by last activity.",
           fill=c["text-secondary"], font=body)
    d.rounded_rectangle([1000, 28, 1159, 67], radius=8, fill=c["primary"])
    d.text((1022, 38), "New project", fill=c["text-on-primary"], font=font(15, True))
    for col in range(3):
        x0 = 40 + col * 380
        d.rounded_rectangle([x0, 120, x0 + 350, 420], radius=12, fill=c["surface"], outline=c["border"])
        d.text((x0 + 24, 144), f"Project {col + 1}", fill=c["text-primary"], font=font(18, True))
        for i in range(4):
            d.text((x0 + 24, 184 + 26 * i), f"Updated {i + 2} days ago by Jane",
                   fill=c["text-secondary"], font=body)
        d.rounded_rectangle([x0 + 24, 300, x0 + 140, 339], radius=8, fill=c["primary"])
        d.text((x0 + 46, 310), "Open it", fill=c["text-on-primary"], font=font(15, True))
        badge = c["danger"] if col == 1 else c["success"]
        d.rounded_rectangle([x0 + 24, 360, x0 + 110, 386], radius=13, fill=badge)
        d.text((x0 + 36, 365), "Failed" if col == 1 else "Active", fill=c["text-on-primary"], font=small)
    d.rounded_rectangle([40, 450, 1160, 760], radius=12, fill=c["surface"], outline=c["border"])
    for i in range(6):
        y = 470 + 46 * i
        d.text((64, y + 12), f"Row {i + 1}: quarterly report for the finance team",
               fill=c["text-primary"], font=body)
        d.text((700, y + 12), f"{i + 3} hours ago", fill=c["text-secondary"], font=body)
        d.text((1000, y + 12), "View details", fill=c["primary"], font=body)
        if i < 5:
            d.line([64, y + 45, 1136, y + 45], fill=c["border"])
    return np.asarray(im)


@pytest.fixture(scope="module")
def drawn_light() -> tuple[np.ndarray, dict]:
    img = app_page(LIGHT_ROLES)
    return img, extract(img, PNG)


@pytest.fixture(scope="module")
def drawn_dark() -> tuple[np.ndarray, dict]:
    img = app_page(DARK_ROLES)
    return img, extract(img, PNG)


@pytest.mark.parametrize(("page", "want", "scheme"), [
    ("drawn_light", LIGHT_ROLES, "light"), ("drawn_dark", DARK_ROLES, "dark")])
def test_drawn_page_roles_and_scheme(request, page, want, scheme):
    img, doc = request.getfixturevalue(page)
    assert roles(doc) == want  # every role found, nothing invented (no accent, warning, info)
    info = group_info(doc)
    assert info["scheme"] == scheme
    assert info["background"] == want["background"]


def test_dark_page_with_cards_covering_most_of_it_keeps_its_background(drawn_dark):
    # the cards (#1e293b) cover more pixels than the page; the page is still the background
    _, doc = drawn_dark
    pal = doc["color"]["palette"]
    assert next(iter(pal.values())).value.hex == DARK_ROLES["surface"]
    assert roles(doc)["background"] == DARK_ROLES["background"]


def test_role_tokens_are_palette_entries_with_evidence(drawn_light):
    img, doc = drawn_light
    pal = doc["color"]["palette"]
    h, w = img.shape[:2]
    for name, token in doc["color"].items():
        if name in ("palette", "$extensions"):
            continue
        ev = evidence(token)
        assert ev.ref in pal, name
        assert pal[ev.ref].value == token.value, name  # same colour, same hex
        assert 0.5 <= ev.confidence <= 1.0
        assert ev.boxes, name
        for x, y, bw, bh in ev.boxes:
            assert 0 <= x < w and 0 <= y < h and bw > 0 and bh > 0 and x + bw <= w and y + bh <= h
    # where a role was seen: the primary's examples are the buttons drawn at y 300-339 / 28-67
    boxes = evidence(doc["color"]["primary"]).boxes
    assert any(abs(y - 28) <= 2 and abs(bh - 40) <= 2 for _, y, _, bh in boxes), boxes


def test_text_roles_carry_their_contrast(drawn_light):
    _, doc = drawn_light
    c = doc["color"]
    # text is measured where it sits: mostly on the white cards
    assert evidence(c["text-secondary"]).contrast == pytest.approx(4.83, abs=0.01)  # #6b7280 on #fff
    assert evidence(c["text-primary"]).contrast == pytest.approx(17.74, abs=0.01)
    assert evidence(c["text-on-primary"]).contrast == pytest.approx(5.17, abs=0.01)  # #fff on #2563eb


def test_contrast_pairs_in_group_extension(drawn_light):
    _, doc = drawn_light
    pairs = {(p["text"], p["background"]): p for p in group_info(doc)["contrast"]}
    sec = pairs[("#6b7280", "#ffffff")]
    assert sec["ratio"] == 4.83 and sec["aa"] is True and sec["aaa"] is False
    assert sec["role"] == "text-secondary" and sec["lines"] >= 10
    on_green = pairs[("#ffffff", "#16a34a")]  # white on the success badge: fails AA
    assert on_green["ratio"] == 3.3 and on_green["aa"] is False and on_green["aaLarge"] is True
    assert "role" not in on_green  # the badge is not the primary
    for p in pairs.values():
        want = contrast_ratio(rgb(p["text"]), rgb(p["background"]))
        assert p["ratio"] == round(want, 2)
        assert p["aa"] == (want >= 4.5) and p["aaa"] == (want >= 7.0)


def test_roles_are_scale_invariant(drawn_light):
    img, doc = drawn_light
    big = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    doc2 = extract(big, ExtractContext(scale=2.0, source_format="png"))
    assert roles(doc2) == roles(doc)
    assert group_info(doc2)["contrast"] == group_info(doc)["contrast"]


def test_roles_are_deterministic(drawn_dark):
    img, doc = drawn_dark
    again = extract(img.copy(), PNG)
    assert msgspec.json.encode(again) == msgspec.json.encode(doc)


def test_neutral_page_invents_no_brand_or_status_colours():
    im, d = canvas(900, 500, "#ffffff")
    d.rectangle([0, 0, 899, 56], fill="#f3f4f6")
    draw_text_block(im, d, "#111827", 40, 90, sizes=(14, 16, 20))
    draw_text_block(im, d, "#6b7280", 40, 260, sizes=(13, 14))
    d.rectangle([600, 300, 860, 460], fill="#ffffff", outline="#d1d5db")
    got = roles(extract(np.asarray(im), PNG))
    assert got["background"] == "#ffffff"
    for role in ("primary", "accent", "success", "warning", "danger", "info", "text-on-primary"):
        assert role not in got, got


def test_flat_image_has_only_a_background():
    img = np.full((300, 400, 3), rgb("#1f2937"), np.uint8)
    doc = extract(img, PNG)
    assert roles(doc) == {"background": "#1f2937"}
    info = group_info(doc)
    assert info["scheme"] == "dark" and info["contrast"] == []


def test_tiny_image_has_no_roles():
    img = np.full((16, 16, 3), 240, np.uint8)
    img[4:12, 4:12] = rgb("#2563eb")
    doc = extract(img, PNG)
    assert roles(doc) == {} and "$extensions" not in doc["color"]


# --- roles on pages rendered by Chromium ---------------------------------------------------

ROLE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
:root { %(vars)s }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/21px "Liberation Sans", sans-serif; background: var(--background);
       color: var(--text-primary); }
.top { display: flex; gap: 24px; align-items: center; padding: 14px 32px;
       border-bottom: 1px solid var(--border); }
.top b { font-size: 18px; } .top span { color: var(--text-secondary); }
.grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 24px; padding: 32px; }
.card { background: var(--surface); border: 1px solid var(--border); border-radius: 10px; padding: 20px; }
h2 { font-size: 17px; margin: 0 0 8px; } p { color: var(--text-secondary); margin: 0 0 14px; }
.btn { display: inline-block; padding: 8px 16px; border-radius: 6px; background: var(--primary);
       color: var(--text-on-primary); font-weight: 700; }
.badge { display: inline-block; margin-left: 8px; padding: 2px 10px; border-radius: 999px;
         background: var(--success); color: var(--text-on-primary); font-size: 12px; font-weight: 700; }
a { color: var(--primary); text-decoration: none; }
</style></head><body>
<div class="top"><b>Console</b><span>Overview</span><span>Billing</span><span>Team</span></div>
<div class="grid">%(cards)s</div></body></html>"""

CARD = """<div class="card"><h2>Workspace %(i)d</h2>
<p>Shared storage and compute for the analytics team, billed monthly.</p>
<p>Created by Jane Cooper, last deploy four hours ago.</p>
<span class="btn">Manage</span><span class="badge">Healthy</span>
<p style="margin-top:14px"><a>Open the usage report</a></p></div>"""

ROLE_THEMES = {
    "light": {"background": "#f8fafc", "surface": "#ffffff", "border": "#e2e8f0",
              "primary": "#0d6efd", "text-on-primary": "#ffffff", "text-primary": "#1e293b",
              "text-secondary": "#64748b", "success": "#198754"},
    "dark": {"background": "#18181b", "surface": "#27272a", "border": "#3f3f46",
             "primary": "#f97316", "text-on-primary": "#ffffff", "text-primary": "#fafafa",
             "text-secondary": "#a1a1aa", "success": "#16a34a"},
}


@pytest.fixture(scope="module")
def rendered_roles() -> dict[tuple[str, int], np.ndarray]:
    pages = {theme: ROLE_PAGE % {
        "vars": " ".join(f"--{k}: {v};" for k, v in colours.items()),
        "cards": "".join(CARD % {"i": i} for i in range(6))}
        for theme, colours in ROLE_THEMES.items()}
    return {key: image for key, (image, _) in render(pages, width=1100, height=700).items()}


@pytest.mark.browser
@pytest.mark.parametrize(("theme", "scale"), [("light", 1), ("light", 2), ("dark", 1)])
def test_rendered_page_roles(rendered_roles, theme, scale):
    pixels, ctx = prepare(rendered_roles[theme, scale], scale=float(scale), source_format="png")
    doc = extract(pixels, ctx)
    want = ROLE_THEMES[theme]
    # every role, nothing more: the dark page's orange primary (an amber-family hue) is
    # not a warning, its green badge is the success colour, no accent is invented
    assert roles(doc) == want
    assert group_info(doc)["scheme"] == theme
    # WCAG ratio of the secondary text where it sits (the cards)
    ratio = contrast_ratio(rgb(want["text-secondary"]), rgb(want["surface"]))
    assert evidence(doc["color"]["text-secondary"]).contrast == pytest.approx(ratio, abs=0.01)
