"""Every built-in extractor: deterministic, scale-invariant, survives tiny and huge images.

Parametrised over the catalog, so each extractor that registers is held to the same bar.
"""

from __future__ import annotations

import io
import time

import cv2
import msgspec
import numpy as np
import pytest
from PIL import Image

from stylestream.extractors import CATALOG, extract_local, prepare
from stylestream.extractors.image import decode

from .conftest import png_bytes, ui_screenshot

BUILTIN = [name for name, spec in CATALOG.items()
           if spec.target.startswith("stylestream.") and spec.kind == "function"]


def run(name: str, image: np.ndarray, scale: float | None = None) -> bytes:
    pixels, ctx = prepare(image, scale=scale, source_format="png")
    return msgspec.json.encode(CATALOG[name].load()(pixels, ctx))


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return np.asarray(ui_screenshot(720, 480))


@pytest.mark.parametrize("name", BUILTIN)
def test_same_image_gives_byte_identical_output(name: str, page: np.ndarray) -> None:
    assert run(name, page) == run(name, page.copy())


@pytest.mark.parametrize("name", BUILTIN)
def test_tiny_image_works(name: str) -> None:
    tiny = np.full((16, 16, 3), 240, np.uint8)
    tiny[4:12, 4:12] = (37, 99, 235)
    out = msgspec.json.decode(run(name, tiny))
    assert isinstance(out, dict)


@pytest.mark.parametrize("scale", [2, 3])
@pytest.mark.parametrize("name", BUILTIN)
def test_device_scale_gives_the_same_tokens(name: str, page: np.ndarray, scale: int) -> None:
    big = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    pixels, ctx = prepare(big)
    assert ctx.scale == scale and ctx.scale_source == "detected"
    assert _close(_values(run(name, big)), _values(run(name, page))), name


def _close(a, b) -> bool:
    """Same structure and names; numbers equal within what a blocky (nearest-neighbour)
    upscale of anti-aliased edges can move a sub-pixel fit: 0.75 CSS px or 6 %."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return abs(a - b) <= max(0.75, 0.06 * abs(b))
    return a == b


def _values(encoded: bytes) -> dict:
    """Token values only: evidence (boxes in image px, pixel counts) legitimately scales."""
    doc = msgspec.json.decode(encoded)

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "$extensions"}
        return node
    return strip(doc)


def test_huge_image_is_downsized_first() -> None:
    huge = cv2.resize(np.asarray(ui_screenshot(800, 800)), (8000, 8000),
                      interpolation=cv2.INTER_NEAREST)
    start = time.perf_counter()
    pixels, ctx = prepare(huge, scale=1.0)
    assert pixels.shape[0] * pixels.shape[1] <= 6_000_000
    assert ctx.scale == pytest.approx(pixels.shape[1] / 8000)
    for name in BUILTIN:
        CATALOG[name].load()(pixels, ctx)
    assert time.perf_counter() - start < 30  # bound, not a speed goal (bench/ does speed)


def test_jpeg_input_gives_the_same_palette() -> None:
    image = ui_screenshot(720, 480)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    from_png = extract_local(png_bytes(image), ["color"])["color"]["palette"]
    from_jpeg = extract_local(buf.getvalue(), ["color"])["color"]["palette"]
    png_lab = {_lab(t["$value"]["hex"]) for t in from_png.values()}
    jpeg_lab = [_lab(t["$value"]["hex"]) for t in from_jpeg.values()]
    assert len(jpeg_lab) == len(png_lab)
    for lab in jpeg_lab:
        assert min(np.linalg.norm(np.subtract(lab, p)) for p in png_lab) < 5


def _lab(hex_colour: str) -> tuple[float, float, float]:
    rgb = np.array([[[int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]]], np.uint8)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[0, 0].astype(float)
    return (lab[0] * 100 / 255, lab[1] - 128, lab[2] - 128)


def test_decode_refuses_what_it_cannot_read() -> None:
    from stylestream.errors import ImageTooSmall, InvalidImage

    with pytest.raises(InvalidImage):
        decode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, max_pixels=10**8)
    with pytest.raises(ImageTooSmall):
        decode(png_bytes(Image.new("RGB", (4, 4))), max_pixels=10**8)
