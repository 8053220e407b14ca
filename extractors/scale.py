"""Device scale (device pixels per CSS px) of a screenshot, and the working resolution.

``detect_scale`` reads the thickness of hairlines: CSS 1px borders and dividers are 1 device
pixel thick at 1x, 2 at 2x, 3 at 3x, and almost every UI has some. Any real share of 1px
lines means 1x; otherwise the dominant thin thickness (2 or 3) is the scale. Where the
evidence is thin it answers 1.0. A 1x page whose thinnest rules are all 2px reads as 2x:
clients that know their scale pass ``scale=`` and this is skipped.

``working_image`` downsizes images over ``max_pixels`` by an integer factor (area averaging:
flat regions keep their exact colour; only edges blend, which extractors already ignore) and
returns the scale of the array it hands back, so every extractor reports CSS px by dividing
its measurements by ``ctx.scale``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: a hairline must run straight for this many pixels to count
MIN_LINE_RUN = 24
#: luma difference (0-255) that makes a row a line: subtle dividers are ~5-8
MIN_CONTRAST = 3
#: scale detection looks at a central crop of at most this many pixels
DETECT_MAX_PIXELS = 2_000_000
#: images larger than this are downsized before extraction (1440x900 at 2x is 5.2 MP)
WORKING_MAX_PIXELS = 6_000_000


def _gray(image: np.ndarray) -> np.ndarray:
    # integer luma; lines differ from their background by far more than rounding (every
    # channel widened first: a uint8 channel times 6 would wrap)
    i = image.astype(np.int16)
    return ((i[..., 0] * 3 + i[..., 1] * 6 + i[..., 2]) // 10).astype(np.uint8)


def _line_counts(gray: np.ndarray, tol: int) -> tuple[int, int, int]:
    """Pixels of horizontal lines exactly 1, 2 and 3 rows tall: rows equal to each other
    (within ``tol``), different from the row above and the row below (which may differ from
    each other: a card border separates the card from the page), running straight for
    ``MIN_LINE_RUN`` pixels. All from one difference of neighbouring rows of the uint8
    luma (OpenCV on 0/255 masks: no wider temporaries)."""
    h = gray.shape[0]
    if h < 3:
        return 0, 0, 0
    a = cv2.absdiff(gray[1:], gray[:-1])                 # a[i] = |row i+1 - row i|
    step = cv2.compare(a, MIN_CONTRAST, cv2.CMP_GT)      # rows i and i+1 differ
    flat = cv2.compare(a, tol, cv2.CMP_LE)               # rows i and i+1 agree
    kernel = np.ones((1, MIN_LINE_RUN), np.uint8)
    out = []
    for t in (1, 2, 3):
        if h < t + 2:
            out.append(0)
            continue
        # a line in rows i+1 .. i+t: a step into it and out of it, equal rows inside
        mask = cv2.bitwise_and(step[: h - t - 1], step[t: h - 1])
        if t >= 2:
            mask = cv2.bitwise_and(mask, flat[1: h - t])
        if t == 3:
            same = cv2.compare(cv2.absdiff(gray[3: h - 1], gray[1: h - 3]), tol, cv2.CMP_LE)
            mask = cv2.bitwise_and(mask, same)
        # the line's own thickness is exactly t: the row after the line is background again
        out.append(cv2.countNonZero(cv2.erode(mask, kernel)))
    return out[0], out[1], out[2]


def detect_scale(image: np.ndarray, *, tol: int = 2) -> float:
    """1.0, 2.0 or 3.0 from hairline thickness (see module doc); 1.0 when unsure."""
    h, w = image.shape[:2]
    if h * w > DETECT_MAX_PIXELS:  # a central crop keeps the cost bounded
        f = math.sqrt(DETECT_MAX_PIXELS / (h * w))
        ch, cw = int(h * f), int(w * f)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        image = image[y0: y0 + ch, x0: x0 + cw]
    gray = _gray(image)
    rows = _line_counts(gray, tol)
    cols = _line_counts(np.ascontiguousarray(gray.T), tol)
    counts = {t: rows[t - 1] + cols[t - 1] for t in (1, 2, 3)}
    total = sum(counts.values())
    if total < 4 * MIN_LINE_RUN:
        return 1.0
    if counts[1] >= 0.1 * total:
        return 1.0  # any real share of 1px lines rules out a higher scale
    for t in (2, 3):
        if counts[t] >= 0.3 * total:
            return float(t)
    return 1.0


def working_image(image: np.ndarray, scale: float,
                  max_pixels: int = WORKING_MAX_PIXELS) -> tuple[np.ndarray, float]:
    """Downsize by an integer factor if over ``max_pixels``; return (array, its scale)."""
    h, w = image.shape[:2]
    if h * w <= max_pixels:
        return image, scale
    factor = math.ceil(math.sqrt(h * w / max_pixels))
    small = cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    return small, scale / factor
