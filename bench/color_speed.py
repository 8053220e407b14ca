"""Speed of the colour extractor on a synthetic 1440x900 UI screenshot.

    .venv/bin/python bench/color_speed.py [--runs N]

Prints the median wall time in milliseconds (one core, numpy as installed).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stylestream.extractors import ExtractContext
from stylestream.extractors.color import extract


def synthetic_ui(width: int = 1440, height: int = 900) -> np.ndarray:
    """A light dashboard: sidebar, header, cards with borders, anti-aliased text, a button."""
    im = Image.new("RGB", (width, height), "#f9fafb")
    d = ImageDraw.Draw(im)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 14)
        big = ImageFont.truetype("DejaVuSans-Bold.ttf", 28)
    except OSError:
        font = big = ImageFont.load_default()
    d.rectangle([0, 0, 240, height], fill="#111827")
    d.rectangle([240, 0, width, 64], fill="#ffffff")
    d.line([240, 64, width, 64], fill="#e5e7eb")
    for i in range(12):
        d.text((24, 90 + 36 * i), f"Menu item {i}", fill="#d1d5db", font=font)
    d.text((272, 18), "Dashboard overview", fill="#111827", font=big)
    for row in range(2):
        for col in range(3):
            x0, y0 = 272 + col * 380, 96 + row * 260
            d.rounded_rectangle([x0, y0, x0 + 350, y0 + 230], radius=10, fill="#ffffff",
                                outline="#e5e7eb")
            d.text((x0 + 20, y0 + 20), "Revenue this month", fill="#6b7280", font=font)
            d.text((x0 + 20, y0 + 50), "$48,210", fill="#111827", font=big)
            d.rounded_rectangle([x0 + 20, y0 + 170, x0 + 70, y0 + 192], radius=11, fill="#dcfce7")
            d.text((x0 + 28, y0 + 173), "+12%", fill="#166534", font=font)
    d.rounded_rectangle([1290, 14, 1410, 50], radius=6, fill="#2563eb")
    d.text((1310, 22), "New report", fill="#ffffff", font=font)
    d.ellipse([1260, 24, 1272, 36], fill="#ef4444")
    for i in range(10):
        y = 640 + 24 * i
        d.line([272, y, 1410, y], fill="#f3f4f6")
        d.text((280, y + 4), f"Row {i}  Lorem ipsum dolor sit amet  $1{i}0.00", fill="#374151", font=font)
    return np.asarray(im)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    img = synthetic_ui()
    ctx = ExtractContext(source_format="png")
    extract(img, ctx)  # warm-up: imports, page faults
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        extract(img, ctx)
        times.append((time.perf_counter() - t0) * 1000.0)
    print(f"color extract 1440x900: median {statistics.median(times):.1f} ms "
          f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs)")


if __name__ == "__main__":
    main()
