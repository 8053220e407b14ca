"""Image bytes -> pixels. Pure: no I/O beyond the bytes given.

``probe`` reads only the header (cheap; the gateway uses it to refuse bad uploads before
they reach the bus). ``decode`` returns an RGB ``uint8`` array of shape (H, W, 3); alpha is
composited over white, as a browser would show a transparent screenshot.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from stylestream.errors import ImageTooLarge, ImageTooSmall, InvalidImage

FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}
MIN_SIDE = 8


@dataclass(frozen=True, slots=True)
class ImageInfo:
    format: str
    width: int
    height: int


def sniff_format(data: bytes) -> str | None:
    """Format from magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def probe(data: bytes, *, max_pixels: int) -> ImageInfo:
    """Validate the header of an upload without decoding its pixels."""
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidImage("not a PNG, JPEG or WebP image (unrecognised magic bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if FORMATS.get(im.format or "") != fmt:
                    raise InvalidImage(f"header says {im.format}, magic says {fmt}")
                if fmt == "png":
                    im.verify()  # chunk CRCs: catches truncated/corrupt PNGs cheaply
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge("image has too many pixels") from None
    except InvalidImage:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt headers
        raise InvalidImage(f"cannot read {fmt} header: {exc}") from None
    _check_size(width, height, max_pixels)
    return ImageInfo(fmt, width, height)


def decode(data: bytes, *, max_pixels: int) -> np.ndarray:
    """Decode to an RGB uint8 array (H, W, 3), compositing alpha over white."""
    if sniff_format(data) is None:
        raise InvalidImage("not a PNG, JPEG or WebP image (unrecognised magic bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            _check_size(im.width, im.height, max_pixels)
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                canvas.alpha_composite(rgba)
                rgb = canvas.convert("RGB")
            else:
                rgb = im.convert("RGB")
    except (ImageTooLarge, ImageTooSmall):
        raise
    except Exception as exc:
        raise InvalidImage(f"cannot decode image: {exc}") from None
    return np.asarray(rgb, dtype=np.uint8)


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLarge(f"{width}x{height} exceeds the limit of {max_pixels} pixels")
    if min(width, height) < MIN_SIDE:
        raise ImageTooSmall(f"{width}x{height} is smaller than {MIN_SIDE}px on a side")
