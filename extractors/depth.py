"""Elevation order of UI elements from MiDaS-style monocular depth (torch).

What it measures
    A depth network predicts relative inverse depth (larger = nearer, affine-ambiguous, as
    MiDaS does) for the screenshot. Each UI element box (``layout.find_boxes``) gets a
    *relief*: the mean normalised inverse depth inside the box minus the mean in a ring
    around it. A raised card, menu or modal is a depth discontinuity with positive relief;
    an inset well is negative. Boxes are ranked by relief into elevation levels: rank 1 is
    the highest level; a new level starts where the relief drops by more than
    ``RANK_GAP`` from the previous box.

How
    1. Input (MiDaS transform): RGB / 255, normalised by the model's mean/std (ImageNet for
       MiDaS v2.1), resized keeping the aspect ratio so the long side is the model's input
       size (256 by default), each side a multiple of 32; models that only run square get a
       square resize. Images of the same network size share one forward pass.
    2. The prediction is resized to the image and normalised to 0..1 between its 2nd and
       98th percentiles (the depth scale of one image is arbitrary).
    3. Per box: inside = the box shrunk by ``gap`` (about one network pixel: predictions
       blur across edges), ring = the band from ``gap`` to ``gap + width`` outside the box,
       ``width`` a quarter of the box's short side (at least two network pixels, at most
       ``RING_MAX`` CSS px), clipped to the image. Sums come from an integral image.
    4. Boxes whose short side is under ``MIN_SIDE`` CSS px or three network pixels (the net
       cannot resolve them), that cover more than ``MAX_AREA`` of the image (page panels),
       or whose ring is mostly outside the image are skipped.

Output
    ``{"shadow": {"$extensions": {"dev.stylestream": {"elevation": [{"box": [x, y, w, h],
    "rank": int, "relief": float}, ...], "depth_model": name}}}}``, most elevated first, at
    most ``MAX_ELEVATION`` entries; boxes in image px, relief in units of the image's depth
    range (4 decimals). Deep-merged into the CV shadow extractor's ``shadow`` group it adds
    an elevation order without touching its tokens. A flat prediction gives no entries.

Limits
    Depth networks are trained on photographs; on flat UI screenshots they respond to
    shading, shadows and contrast, so relief is evidence of elevation, not a measurement
    of it. The net sees the page at 256 px on its long side by default: elements under
    ~3 network pixels are not ranked. CPU results are deterministic for a given batch;
    boxes come from ``find_boxes``, whose cost dominates on large screenshots.

Weights (``options.depth_checkpoint``)
    (a) TorchScript (``torch.jit.save``, how MiDaS is usually exported): input
        (N, 3, H, W), output (N, H', W') or (N, 1, H', W'). Input size, mean/std and name
        come from a ``stylestream.json`` extra file in the archive or a ``<file>.json``
        next to it (``{"input_size": 256, "mean": [...], "std": [...], "name": "..."}``),
        else MiDaS v2.1 small's (256, ImageNet).
    (b) a ``DepthNet`` checkpoint saved with ``torch.save({"arch": {"backbone": <timm
        name>, "features": 64, ...}, "state_dict": ...})`` (see ``build_depthnet``).
"""

from __future__ import annotations

import functools
import json
import math
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from stylestream.errors import ModelUnavailable
from stylestream.extractors import ExtractContext, ModelOptions
from stylestream.extractors.models import (
    check_batch,
    import_timm,
    import_torch,
    load_failed,
    setup,
    to_tensor,
    weights_file,
)
from stylestream.schemas.tokens import EXTENSION_KEY

#: MiDaS v2.1 small's input: long side, ImageNet normalisation, sides a multiple of 32
DEFAULT_INPUT = 256
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MULTIPLE = 32
#: boxes with a short side under this (CSS px) are not ranked
MIN_SIDE = 16.0
#: boxes covering more than this share of the image are page panels, not elevated
MAX_AREA = 0.5
#: widest ring around a box, CSS px
RING_MAX = 48.0
#: a box whose ring keeps less than this share inside the image is not ranked
MIN_RING_SHARE = 0.25
#: a drop in relief larger than this starts a new elevation level
RANK_GAP = 0.04
#: a prediction whose 2-98 percentile range is under this share of its magnitude is flat
FLAT = 1e-4
MAX_ELEVATION = 32
RELIEF_DECIMALS = 4
CONFIG_FILE = "stylestream.json"


# --- the DepthNet architecture (torch imported lazily) ----------------------------------

@functools.cache
def _classes() -> tuple[type, ...]:
    torch = import_torch()
    timm = import_timm()
    nn, F = torch.nn, torch.nn.functional

    class ResidualConvUnit(nn.Module):
        """MiDaS's residual unit: relu, conv, relu, conv, plus the input."""

        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1)

        def forward(self, x):
            return x + self.conv2(F.relu(self.conv1(F.relu(x))))

    class FusionBlock(nn.Module):
        """MiDaS's feature fusion: the coarser path plus the refined skip, refined again."""

        def __init__(self, c: int) -> None:
            super().__init__()
            self.skip = ResidualConvUnit(c)
            self.out = ResidualConvUnit(c)

        def forward(self, x, skip):
            return self.out(x + self.skip(skip))

    class DepthNet(nn.Module):
        """A timm backbone (``features_only``) and a small MiDaS-like fusion decoder; output
        (N, H, W) non-negative relative inverse depth at the input resolution."""

        def __init__(self, arch: dict[str, Any]) -> None:
            super().__init__()
            kwargs: dict[str, Any] = {"features_only": True, "pretrained": False}
            if arch.get("out_indices") is not None:
                kwargs["out_indices"] = tuple(arch["out_indices"])
            self.backbone = timm.create_model(arch["backbone"], **kwargs)
            chans = self.backbone.feature_info.channels()
            self.levels = min(4, len(chans))  # the deepest four, like MiDaS
            f = int(arch.get("features", 64))
            self.proj = nn.ModuleList(nn.Conv2d(c, f, 3, padding=1, bias=False)
                                      for c in chans[-self.levels:])
            self.deep = ResidualConvUnit(f)
            self.fuse = nn.ModuleList(FusionBlock(f) for _ in range(self.levels - 1))
            self.head1 = nn.Conv2d(f, max(f // 2, 8), 3, padding=1)
            self.head2 = nn.Sequential(nn.Conv2d(max(f // 2, 8), 32, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(32, 1, 1), nn.ReLU())

        def forward(self, x):
            feats = self.backbone(x)[-self.levels:]
            layers = [p(t) for p, t in zip(self.proj, feats, strict=True)]
            y = self.deep(layers[-1])
            for i in range(self.levels - 2, -1, -1):
                y = F.interpolate(y, size=layers[i].shape[-2:], mode="bilinear", align_corners=True)
                y = self.fuse[i](y, layers[i])
            y = F.interpolate(self.head1(y), size=x.shape[-2:], mode="bilinear", align_corners=True)
            return self.head2(y)[:, 0]

    return ResidualConvUnit, FusionBlock, DepthNet


def build_depthnet(arch: dict[str, Any]) -> Any:
    """A randomly initialised ``DepthNet`` for ``arch``: ``backbone`` (a timm model name,
    required), ``features`` (decoder width, 64), ``out_indices`` (backbone levels), and the
    input settings the loader reads: ``input_size``, ``mean``, ``std``, ``multiple``, ``name``."""
    if not isinstance(arch, dict) or not isinstance(arch.get("backbone"), str):
        raise ValueError(f"DepthNet arch needs a timm 'backbone' name, got {arch!r}")
    return _classes()[2](arch)


# --- input and output -------------------------------------------------------------------

def net_size(h: int, w: int, input_size: int, multiple: int, keep_aspect: bool) -> tuple[int, int]:
    """Network input (height, width): long side ``input_size``, aspect kept, multiples of
    ``multiple`` (MiDaS's "upper bound" resize); a square when ``keep_aspect`` is false."""
    if not keep_aspect:
        return input_size, input_size
    f = input_size / max(h, w)

    def side(v: int) -> int:
        return min(input_size, max(multiple, int(round(v * f / multiple)) * multiple))

    return side(h), side(w)


def _resize(image: np.ndarray, h: int, w: int) -> np.ndarray:
    shrink = h * w < image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def normalised(depth: np.ndarray) -> np.ndarray | None:
    """``depth`` scaled to 0..1 between its 2nd and 98th percentiles; None when flat."""
    step = max(1, int(math.sqrt(depth.size / 65536)))
    lo, hi = np.percentile(depth[::step, ::step], [2.0, 98.0])
    magnitude = float(np.abs(depth[::step, ::step]).max())
    if not np.isfinite(hi - lo) or hi - lo <= FLAT * max(magnitude, 1e-12):
        return None
    return ((depth - lo) / (hi - lo)).astype(np.float32)


def elevation(depth: np.ndarray, boxes: Sequence[Any], scale: float,
              net_px: float) -> list[dict[str, Any]]:
    """Ranked reliefs of ``boxes`` (``x, y, w, h`` attributes, image px) on ``depth``
    (normalised inverse depth at image size); ``net_px`` = image px per network pixel."""
    H, W = depth.shape
    integral = cv2.integral(depth.astype(np.float64))

    def rect(x0: int, y0: int, x1: int, y1: int) -> tuple[float, int]:
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        if x1 <= x0 or y1 <= y0:
            return 0.0, 0
        s = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
        return float(s), (x1 - x0) * (y1 - y0)

    min_side = max(MIN_SIDE * scale, 3.0 * net_px)
    gap = max(1, int(round(net_px)))
    found = []
    for b in boxes:
        x, y, w, h = int(b.x), int(b.y), int(b.w), int(b.h)
        if min(w, h) < min_side or w * h > MAX_AREA * H * W:
            continue
        width = int(round(min(max(0.25 * min(w, h), 2.0 * net_px), RING_MAX * scale)))
        s_in, a_in = rect(x + gap, y + gap, x + w - gap, y + h - gap)
        s_near, a_near = rect(x - gap, y - gap, x + w + gap, y + h + gap)
        s_far, a_far = rect(x - gap - width, y - gap - width, x + w + gap + width, y + h + gap + width)
        full_ring = (w + 2 * (gap + width)) * (h + 2 * (gap + width)) - (w + 2 * gap) * (h + 2 * gap)
        a_ring = a_far - a_near
        if a_in == 0 or a_ring < MIN_RING_SHARE * full_ring:
            continue
        relief = s_in / a_in - (s_far - s_near) / a_ring
        found.append((round(relief, RELIEF_DECIMALS), y, x, w, h))
    found.sort(key=lambda t: (-t[0], t[1], t[2], t[3], t[4]))
    out, rank, previous = [], 0, None
    for relief, y, x, w, h in found[:MAX_ELEVATION]:
        if previous is None or previous - relief > RANK_GAP:
            rank += 1
        previous = relief
        out.append({"box": [x, y, w, h], "rank": rank, "relief": relief})
    return out


# --- the loaded extractor ---------------------------------------------------------------

class DepthModel:
    """A loaded depth network and how to feed it (see the module doc)."""

    def __init__(self, net: Any, *, name: str, input_size: int, mean: Sequence[float],
                 std: Sequence[float], multiple: int, keep_aspect: bool, device: Any) -> None:
        self.net = net
        self.name = name
        self.input_size = input_size
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.multiple = multiple
        self.keep_aspect = keep_aspect
        self.device = device
        self.description = f"depth {name} at {input_size} px on {device}"

    def forward(self, batch: Any) -> Any:
        """Raw network output as (N, H', W') float32."""
        torch = import_torch()
        with torch.inference_mode():
            out = self.net(batch)
            if isinstance(out, (tuple, list)):
                out = out[0]
            if out.ndim == 4 and out.shape[1] == 1:
                out = out[:, 0]
            if out.ndim != 3 or out.shape[0] != batch.shape[0]:
                raise ValueError(f"depth model output has shape {tuple(out.shape)}; "
                                 "expected (N, H, W) or (N, 1, H, W)")
            return out.float()

    def depth_maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Relative inverse depth per image at network resolution, float32; images of the
        same network size share one forward pass."""
        sizes = [net_size(im.shape[0], im.shape[1], self.input_size, self.multiple,
                          self.keep_aspect) for im in images]
        maps: list[np.ndarray | None] = [None] * len(images)
        for size in sorted(set(sizes)):
            idx = [i for i, s in enumerate(sizes) if s == size]
            x = to_tensor([_resize(images[i], *size) for i in idx], self.mean, self.std, self.device)
            out = self.forward(x).cpu().numpy()
            for j, i in enumerate(idx):
                maps[i] = out[j]
        return maps  # type: ignore[return-value]

    def extract_batch(self, images: Sequence[np.ndarray],
                      ctxs: Sequence[ExtractContext]) -> list[dict[str, Any]]:
        """One ``{"shadow": {"$extensions": ...}}`` per image, in order."""
        from stylestream.extractors.layout import find_boxes

        check_batch(images, ctxs)
        if not images:
            return []
        results = []
        for image, ctx, raw in zip(images, ctxs, self.depth_maps(images), strict=True):
            H, W = image.shape[:2]
            entries: list[dict[str, Any]] = []
            depth = normalised(cv2.resize(raw, (W, H), interpolation=cv2.INTER_LINEAR))
            if depth is not None:
                boxes = find_boxes(image, lossy=ctx.lossy)
                net_px = max(H / raw.shape[0], W / raw.shape[1])
                entries = elevation(depth, boxes, ctx.scale, net_px)
            results.append({"shadow": {"$extensions": {EXTENSION_KEY: {
                "elevation": entries, "depth_model": self.name}}}})
        return results


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in z.namelist())


def _load_torchscript(path: Path, device: Any) -> tuple[Any, dict[str, Any]]:
    torch = import_torch()
    extra = {CONFIG_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.export
        net = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    config: dict[str, Any] = {}
    if extra[CONFIG_FILE]:
        config = json.loads(extra[CONFIG_FILE])
    sidecar = path.with_name(path.name + ".json")
    if sidecar.is_file():
        config = {**config, **json.loads(sidecar.read_text())}
    config.setdefault("name", path.stem)
    return net, config


def _load_depthnet(path: Path, device: Any) -> tuple[Any, dict[str, Any]]:
    torch = import_torch()
    ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "arch" not in ckpt or "state_dict" not in ckpt:
        raise ValueError("not a TorchScript file and not a DepthNet checkpoint "
                         "({'arch': {...}, 'state_dict': {...}})")
    arch = dict(ckpt["arch"])
    net = build_depthnet(arch)
    net.load_state_dict(ckpt["state_dict"], strict=True)
    arch.setdefault("name", f"DepthNet/{arch['backbone']}")
    return net.to(device), arch


def load(options: ModelOptions) -> DepthModel:
    """Load ``options.depth_checkpoint`` (TorchScript or DepthNet, see the module doc) and
    check it runs; ``ModelUnavailable`` when anything is missing or broken."""
    path = weights_file(options.depth_checkpoint, "depth", "STYLESTREAM_DEPTH_CHECKPOINT")
    torch = import_torch()
    device = setup(options)
    try:
        if _is_torchscript(path):
            net, config = _load_torchscript(path, device)
        else:
            import_timm()
            net, config = _load_depthnet(path, device)
        net.eval()
        input_size = int(config.get("input_size", DEFAULT_INPUT))
        multiple = int(config.get("multiple", MULTIPLE))
        model = DepthModel(net, name=str(config["name"]), input_size=input_size,
                           mean=config.get("mean", IMAGENET_MEAN), std=config.get("std", IMAGENET_STD),
                           multiple=multiple, keep_aspect=bool(config.get("keep_aspect", True)),
                           device=device)
        model.forward(torch.zeros(1, 3, input_size, input_size, device=device))
        if model.keep_aspect:
            try:  # a model traced at one square size may not run any other
                h, _ = net_size(5, 8, input_size, multiple, True)
                model.forward(torch.zeros(1, 3, h, input_size, device=device))
            except Exception:
                model.keep_aspect = False
    except ModelUnavailable:
        raise
    except Exception as exc:
        raise load_failed(f"depth model {str(path)!r} could not load", exc,
                          "expected TorchScript or a DepthNet checkpoint") from exc
    return model
