"""Throughput of the model extractors on CPU: images/s at batch 1, 4 and 8.

    .venv/bin/python bench/models.py [--runs 5] [--threads N] [--image shot.png] [--full-size]
        [--clip-model ViT-B-32 --clip-checkpoint open_clip_pytorch_model.bin]
        [--depth-checkpoint midas_small.pt]

Always measures the tiny test models (built into a temporary folder, random weights);
``--full-size`` adds the real architectures with random weights (ViT-B-32 CLIP, a DepthNet
on efficientnet_lite3 with 64 decoder features at 256 px, MiDaS v2.1 small's size), whose
speed is the real weights' speed; and the real weights when their paths are given.
Per row: ``model`` is the forward pass with its input preparation (``StyleModel.embed``,
``DepthModel.depth_maps``), ``extract`` the whole ``extract_batch`` (depth: plus
``find_boxes`` and the ranking, which do not batch), as images/s and ms per image of wall
time, and ``cpu`` the process CPU ms per image of ``extract`` (all threads: on a shared
machine wall time inflates, CPU time much less). Medians over ``--runs``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from color_speed import synthetic_ui  # noqa: E402

from stylestream.extractors import ExtractContext, ModelOptions, prepare  # noqa: E402
from stylestream.extractors.image import decode  # noqa: E402

BATCHES = (1, 4, 8)


def median_s(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``fn``."""
    fn()  # warm-up: first calls allocate and pick kernels
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def bench(name: str, model, image: np.ndarray, ctx: ExtractContext, runs: int) -> None:
    forward = model.embed if hasattr(model, "embed") else model.depth_maps
    for b in BATCHES:
        images, ctxs = [image] * b, [ctx] * b
        t_model, _ = median_s(lambda images=images: forward(images), runs)
        t_all, cpu_all = median_s(lambda images=images, ctxs=ctxs: model.extract_batch(images, ctxs), runs)
        print(f"{name:<34}{b:>6}{b / t_model:>11.1f}{1000 * t_model / b:>9.1f}"
              f"{b / t_all:>11.1f}{1000 * t_all / b:>9.1f}{1000 * cpu_all / b:>9.1f}")


def _random_clip(folder: Path, arch: str) -> Path:
    import open_clip
    import torch

    torch.manual_seed(0)
    path = folder / f"{arch}-random.pt"
    torch.save(open_clip.create_model(arch).state_dict(), path)
    return path


def _random_depthnet(folder: Path) -> Path:
    import torch

    from stylestream.extractors.depth import build_depthnet

    arch = {"backbone": "efficientnet_lite3", "features": 64, "input_size": 256,
            "name": "DepthNet/efficientnet_lite3 (random)"}
    torch.manual_seed(0)
    path = folder / "depthnet-lite3-random.pt"
    torch.save({"arch": arch, "state_dict": build_depthnet(dict(arch)).state_dict()}, path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: cores, at most 4)")
    ap.add_argument("--image", type=Path, help="a screenshot instead of the synthetic 1440x900 page")
    ap.add_argument("--full-size", action="store_true",
                    help="add ViT-B-32 and a MiDaS-small-sized DepthNet with random weights")
    ap.add_argument("--clip-model", default="ViT-B-32")
    ap.add_argument("--clip-checkpoint")
    ap.add_argument("--depth-checkpoint")
    args = ap.parse_args()

    from stylestream.extractors import depth, style
    from tests.support import tiny_models

    raw = (decode(args.image.read_bytes(), max_pixels=10**9) if args.image
           else np.ascontiguousarray(synthetic_ui(1440, 900)))
    image, ctx = prepare(raw)
    folder = Path(tempfile.mkdtemp(prefix="stylestream-bench-"))
    rows = [
        ("tiny CLIP (64 px, 1 layer)", lambda: style.load(ModelOptions(
            device="cpu", threads=args.threads, clip_model=tiny_models.TINY_CLIP,
            clip_checkpoint=str(tiny_models.save_tiny_clip(folder))))),
        ("tiny DepthNet (128 px)", lambda: depth.load(ModelOptions(
            device="cpu", threads=args.threads,
            depth_checkpoint=str(tiny_models.save_tiny_depthnet(folder))))),
        ("tiny DepthNet TorchScript", lambda: depth.load(ModelOptions(
            device="cpu", threads=args.threads,
            depth_checkpoint=str(tiny_models.save_tiny_depth_torchscript(folder))))),
    ]
    if args.full_size:
        rows.append(("ViT-B-32 (random weights)", lambda: style.load(ModelOptions(
            device="cpu", threads=args.threads, clip_model="ViT-B-32",
            clip_checkpoint=str(_random_clip(folder, "ViT-B-32"))))))
        rows.append(("DepthNet lite3/64 256 px (random)", lambda: depth.load(ModelOptions(
            device="cpu", threads=args.threads, depth_checkpoint=str(_random_depthnet(folder))))))
    if args.clip_checkpoint:
        rows.append((f"CLIP {args.clip_model}", lambda: style.load(ModelOptions(
            device="cpu", threads=args.threads, clip_model=args.clip_model,
            clip_checkpoint=args.clip_checkpoint))))
    if args.depth_checkpoint:
        rows.append((f"depth {Path(args.depth_checkpoint).name}", lambda: depth.load(ModelOptions(
            device="cpu", threads=args.threads, depth_checkpoint=args.depth_checkpoint))))

    try:
        loaded = [(name, loader()) for name, loader in rows]
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the full-size files are hundreds of MB

    import torch

    print(f"{image.shape[1]}x{image.shape[0]}, cpu, {torch.get_num_threads()} torch threads, "
          f"median of {args.runs} runs")
    print(f"{'':<40}{'model':>20}{'extract':>20}")
    print(f"{'':<34}{'batch':>6}{'im/s':>11}{'ms/im':>9}{'im/s':>11}{'ms/im':>9}{'cpu ms':>9}")
    for name, model in loaded:
        bench(name, model, image, ctx, args.runs)


if __name__ == "__main__":
    main()
