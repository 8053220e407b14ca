"""Per-extractor speed on a 1440x900 screenshot, one core.

    .venv/bin/python bench/speed.py [--runs 9] [--image shot.png]

Prints the median and best wall time of prepare() and of each built-in extractor. Threads
are pinned to one (OpenCV, BLAS/OpenMP) so the figure is per core; the machine is shared, so
compare extractors within one run, not across runs. Each extractor pays for its own text
lines and boxes, as in its one-extractor worker. Goal: each CV extractor < 150 ms.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from color_speed import synthetic_ui  # noqa: E402

from stylestream.extractors import CATALOG, prepare  # noqa: E402
from stylestream.extractors.image import decode, sniff_format  # noqa: E402

GOAL_MS = 150.0


def timed(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--image", type=Path, help="a screenshot to use instead of the synthetic page")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    data = args.image.read_bytes() if args.image else b""
    image = (decode(data, max_pixels=10**9) if args.image
             else np.ascontiguousarray(synthetic_ui(1440, 900)))
    # the container's format, as a worker knows it (the synthetic page is lossless)
    fmt = (sniff_format(data) or "") if args.image else "png"
    pixels, ctx = prepare(image, source_format=fmt)
    names = [n for n, s in CATALOG.items() if s.target.startswith("stylestream.") and s.tier == 1]
    print(f"{image.shape[1]}x{image.shape[0]}, scale {ctx.scale:g} ({ctx.scale_source}), "
          f"{args.runs} runs, 1 thread")
    print(f"{'step':<14}{'median ms':>11}{'best ms':>9}  goal < {GOAL_MS:g} ms")
    med, best = timed(lambda: prepare(image, source_format=fmt), args.runs)
    print(f"{'prepare':<14}{med:11.1f}{best:9.1f}")
    for name in names:
        fn = CATALOG[name].load()
        fn(pixels, ctx)  # warm imports and caches
        med, best = timed(lambda: fn(pixels, ctx), args.runs)
        print(f"{name:<14}{med:11.1f}{best:9.1f}  {'ok' if med < GOAL_MS else 'SLOW'}")


if __name__ == "__main__":
    main()
