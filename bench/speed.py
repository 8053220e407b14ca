"""Per-extractor speed on 1440x900 screenshots, one core.

    .venv/bin/python bench/speed.py [--runs 9]                      # the synthetic page
    .venv/bin/python bench/speed.py --runs 5 .accuracy/*@1x.png     # many pages: a table

Prints the median and best wall time of prepare() and of each built-in CV extractor on one
image; for several images, one row per image (median ms) and the median and worst over them.
Threads are pinned to one (OpenCV, BLAS/OpenMP) so the figure is per core; the machine is
shared, so compare extractors within one run, not across runs. Each extractor pays for its
own text lines and boxes, as in its one-extractor worker. Goal: each CV extractor < 150 ms.
"""

from __future__ import annotations

import stylestream.threads  # noqa: F401  (first: one thread, as in the workers)

# isort: split
import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

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


def load(path: Path | None) -> tuple[np.ndarray, str]:
    """(pixels, source format as a worker knows it); None: the synthetic (lossless) page."""
    if path is None:
        return np.ascontiguousarray(synthetic_ui(1440, 900)), "png"
    data = path.read_bytes()
    return decode(data, max_pixels=10**9), sniff_format(data) or ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("images", type=Path, nargs="*", help="screenshots (default: the synthetic page)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    names = [n for n, s in CATALOG.items() if s.target.startswith("stylestream.") and s.tier == 1]
    fns = {name: CATALOG[name].load() for name in names}
    if len(args.images) <= 1:
        image, fmt = load(args.images[0] if args.images else None)
        pixels, ctx = prepare(image, source_format=fmt)
        print(f"{image.shape[1]}x{image.shape[0]}, scale {ctx.scale:g} ({ctx.scale_source}), "
              f"{args.runs} runs, 1 thread")
        print(f"{'step':<14}{'median ms':>11}{'best ms':>9}  goal < {GOAL_MS:g} ms")
        med, best = timed(lambda: prepare(image, source_format=fmt), args.runs)
        print(f"{'prepare':<14}{med:11.1f}{best:9.1f}")
        for name, fn in fns.items():
            fn(pixels, ctx)  # warm imports and caches
            med, best = timed(lambda fn=fn: fn(pixels, ctx), args.runs)
            print(f"{name:<14}{med:11.1f}{best:9.1f}  {'ok' if med < GOAL_MS else 'SLOW'}")
        return
    print(f"{len(args.images)} images, median of {args.runs} runs each, ms, 1 thread; "
          f"goal < {GOAL_MS:g} ms")
    print(f"{'image':<28}" + "".join(f"{n:>12}" for n in names))
    table: dict[str, list[float]] = {n: [] for n in names}
    for path in args.images:
        image, fmt = load(path)
        pixels, ctx = prepare(image, source_format=fmt)
        row = []
        for name, fn in fns.items():
            fn(pixels, ctx)
            med, _ = timed(lambda fn=fn, pixels=pixels, ctx=ctx: fn(pixels, ctx), args.runs)
            table[name].append(med)
            row.append(med)
        size = f" {image.shape[1]}x{image.shape[0]}" if image.shape[:2] != (900, 1440) else ""
        print(f"{(path.stem + size)[:27]:<28}" + "".join(f"{v:12.1f}" for v in row), flush=True)
    for label, agg in (("median", statistics.median), ("worst", max)):
        print(f"{label:<28}" + "".join(f"{agg(table[n]):12.1f}" for n in names))
    slow = [n for n in names if max(table[n]) >= GOAL_MS]
    print("all under the goal on every image" if not slow else f"over the goal somewhere: {', '.join(slow)}")


if __name__ == "__main__":
    main()
