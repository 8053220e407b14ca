"""Time to first result through the bus, beside the in-process baseline, in one run.

    .venv/bin/python bench/ttfr.py [--requests 60] [--extractors color]

Bus path: WS client -> gateway -> JetStream -> worker process -> result -> WS, measured at
the client from sending the image to receiving the first `extractor_complete`.
Baseline: the same bytes, decoded and run by the same extractors in this process with
``asyncio.as_completed`` over a thread pool, from bytes-in-hand to first completion.
Iterations alternate between the two so machine noise hits both alike; the overhead is the
difference of the medians (a ratio in one run, never compared across runs).
"""

from __future__ import annotations

import stylestream.threads  # noqa: F401  (first: one thread, as in the workers)

# isort: split
import argparse
import asyncio
import concurrent.futures
import io
import statistics
import sys
import time
from pathlib import Path

import aiohttp
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # for --plugin tests.support...
from color_speed import synthetic_ui  # noqa: E402  (bench-local helper)

from stylestream.config import Settings  # noqa: E402
from stylestream.extractors import CATALOG, load_plugins, prepare  # noqa: E402
from stylestream.extractors.image import decode, probe  # noqa: E402
from stylestream.gateway.client import ws_url  # noqa: E402
from stylestream.schemas import decode_message  # noqa: E402
from stylestream.services.stack import Stack  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def bus_once(session: aiohttp.ClientSession, url: str, image: bytes) -> tuple[float, float, float]:
    """(client-side TTFR ms, gateway-reported ttfr_ms, transport ms of the first result).

    Transport = the first result's elapsed_ms at the gateway minus the time the worker spent
    in decode + extract (its duration_ms): publish, delivery, result publish, forwarding.
    """
    async with session.ws_connect(url) as ws:
        start = time.perf_counter()
        await ws.send_bytes(image)
        first = None
        transport = 0.0
        async for frame in ws:
            message = decode_message(frame.data)
            if first is None and message.stage == "extractor_complete":
                first = (time.perf_counter() - start) * 1000.0
                md = message.metadata
                transport = (md.elapsed_ms or 0.0) - (md.duration_ms or 0.0)
            if message.stage in ("complete", "failed"):
                if message.stage == "failed" or first is None:
                    raise RuntimeError(f"request failed: {message}")
                return first, message.metadata.ttfr_ms or 0.0, transport
    raise RuntimeError("connection closed early")


async def baseline_once(pool: concurrent.futures.Executor, image: bytes,
                        names: list[str], fns: dict) -> float:
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    probe(image, max_pixels=Settings().max_image_pixels)  # the gateway's check, for parity

    def run(name: str) -> dict:
        pixels, ctx = prepare(decode(image, max_pixels=Settings().max_image_pixels),
                              source_format="png")
        return fns[name](pixels, ctx)

    futures = [loop.run_in_executor(pool, run, n) for n in names]
    for first in asyncio.as_completed(futures):
        await first
        elapsed = (time.perf_counter() - start) * 1000.0
        break
    await asyncio.gather(*futures)
    return elapsed


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--extractors", default="color")
    ap.add_argument("--plugin", action="append", default=[],
                    help="module registering extra extractors, e.g. tests.support.timed_extractors "
                    "(its 10 ms `fast` extractor isolates the transport cost)")
    args = ap.parse_args()
    names = args.extractors.split(",")
    load_plugins(args.plugin)

    buf = io.BytesIO()
    Image.fromarray(synthetic_ui(1440, 900)).save(buf, "PNG")
    image = buf.getvalue()
    fns = {n: CATALOG[n].load() for n in names}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(names))

    root = str(Path(__file__).resolve().parents[1])
    async with Stack(Settings(port=0, plugins=tuple(args.plugin)), workers=names,
                     worker_env={"PYTHONPATH": root}) as stack:
        url = ws_url(stack.url, extractors=names)
        bus, gateway_ttfr, transport, base = [], [], [], []
        async with aiohttp.ClientSession() as session:
            for i in range(args.warmup + args.requests):
                b = await baseline_once(pool, image, names, fns)
                c, g, t = await bus_once(session, url, image)
                if i >= args.warmup:
                    base.append(b)
                    bus.append(c)
                    gateway_ttfr.append(g)
                    transport.append(t)
    pool.shutdown()

    print(f"TTFR, 1440x900 PNG ({len(image) / 1024:.0f} KiB), extractors={args.extractors}, "
          f"{args.requests} requests after {args.warmup} warm-up, sequential")
    print(f"{'path':<34}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    rows = [("in-process baseline (as_completed)", base),
            ("bus, client-side (WS round trip)", bus),
            ("bus, gateway-reported ttfr_ms", gateway_ttfr),
            ("bus transport only (ttfr - work)", transport)]
    for label, values in rows:
        print(f"{label:<34}{percentile(values, .5):9.2f}{percentile(values, .99):9.2f}"
              f"{statistics.fmean(values):9.2f}")
    overhead50 = percentile(bus, .5) - percentile(base, .5)
    overhead99 = percentile(bus, .99) - percentile(base, .99)
    print(f"bus overhead: p50 {overhead50:+.2f} ms, p99 {overhead99:+.2f} ms "
          f"(ratio p50 {percentile(bus, .5) / percentile(base, .5):.2f}x); "
          f"transport p50 {percentile(transport, .5):.2f} ms; goal p50 <= 3 ms")


if __name__ == "__main__":
    asyncio.run(main())
