"""Visual style of a UI screenshot by zero-shot CLIP (open_clip): labels with probabilities.

What it measures
    How well the screenshot matches short descriptions of UI styles, as probabilities over
    ``LABELS`` (minimal, corporate, playful, brutalist, glassmorphism, neumorphism,
    material, dark, light, dense, airy): a softmax over ``logit_scale x cosine(image, label)``
    where each label's text embedding is the normalised mean over ``TEMPLATES`` ("a
    screenshot of a {minimal} user interface", ...). Also the image embedding itself, so
    callers can compare screenshots (cosine = dot product, it is L2-normalised).

How
    1. Views: the screenshot is padded to a square with its edge colour (the page
       background) and resized to the model's input size with the model's own
       interpolation (bicubic for the published CLIPs), so nothing is cropped away. Pages
       more than twice as long as wide (or wide as tall) are cut into up to ``MAX_VIEWS``
       windows along the long side (top, middle, bottom), each padded to a square; their
       embeddings are averaged and renormalised.
    2. One forward pass for every view of every image in the batch.
    3. ``scheme`` = dark or light, whichever of the pair is likelier; ``density`` = dense or
       airy likewise (the pair's ratio does not depend on the other labels).

Output
    ``{"style": {"$extensions": {"dev.stylestream": {"labels": {label: p}, "top": [3 labels],
    "scheme": "dark"|"light", "density": "dense"|"airy", "embedding": [...], "model": arch}}}}``;
    probabilities rounded to 4 decimals (they sum to 1 within 1e-3), the embedding to 5.

Limits
    CLIP sees the page at 224 px (ViT-B-32): it judges the gestalt, not text or detail;
    the labels are its opinion, not a measurement (the CV extractors measure). Which labels
    win depends on the checkpoint. On CPU the output for one batch is deterministic; the
    same image in batches of other sizes may differ in the last decimal (GEMM blocking).

Weights: ``load(options)`` builds ``options.clip_model`` (an open_clip architecture name,
e.g. ``ViT-B-32``; ``ViT-B-32-quickgelu`` for OpenAI's weights) and loads
``options.clip_checkpoint``, a local open_clip/OpenAI checkpoint (``.bin``, ``.pt``,
``.pth`` or ``.safetensors``, e.g. laion2b_s34b_b79k's ``open_clip_pytorch_model.bin``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stylestream.errors import ModelUnavailable
from stylestream.extractors import ExtractContext, ModelOptions
from stylestream.extractors.models import (
    check_batch,
    edge_colour,
    import_open_clip,
    import_torch,
    load_failed,
    setup,
    to_tensor,
    weights_file,
)
from stylestream.schemas.tokens import EXTENSION_KEY

#: label -> the words the prompts use for it
LABELS: dict[str, str] = {
    "minimal": "minimal, clean",
    "corporate": "corporate, professional",
    "playful": "playful, colourful",
    "brutalist": "brutalist",
    "glassmorphism": "glassmorphism, frosted glass",
    "neumorphism": "neumorphism, soft embossed",
    "material": "Material Design",
    "dark": "dark mode",
    "light": "light mode",
    "dense": "dense, information-heavy",
    "airy": "airy, spacious",
}
TEMPLATES: tuple[str, ...] = (
    "a screenshot of a {} user interface",
    "a {} website design",
    "a screenshot of a {} app",
    "a {} UI design",
)
#: most square windows a long page is cut into
MAX_VIEWS = 3
TOP_K = 3
PROB_DECIMALS = 4
EMBEDDING_DECIMALS = 5


def views(image: np.ndarray, size: int, *, resample: int | None = None) -> list[np.ndarray]:
    """Square uint8 views (size x size x 3) of ``image`` covering all of it (see module doc)."""
    from PIL import Image

    if resample is None:
        resample = Image.Resampling.BICUBIC
    h, w = image.shape[:2]
    long_side, short_side = max(h, w), min(h, w)
    n = min(MAX_VIEWS, max(1, math.ceil(long_side / (2 * short_side))))
    window = min(math.ceil(long_side / n), 2 * short_side)
    starts = [0] if n == 1 else [round(i * (long_side - window) / (n - 1)) for i in range(n)]
    out = []
    for s in starts:
        crop = image[s:s + window] if h >= w else image[:, s:s + window]
        ch, cw = crop.shape[:2]
        f = size / max(ch, cw)
        rh, rw = max(1, round(ch * f)), max(1, round(cw * f))
        # resize, then pad: the same picture as padding first, without a huge square
        small = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((rw, rh), resample))
        view = np.empty((size, size, 3), np.uint8)
        view[:] = edge_colour(crop)
        y0, x0 = (size - rh) // 2, (size - rw) // 2
        view[y0:y0 + rh, x0:x0 + rw] = small
        out.append(view)
    return out


class StyleModel:
    """A loaded open_clip model with its label embeddings (see the module doc)."""

    def __init__(self, model: Any, text: Any, logit_scale: float, *, size: int,
                 mean: Sequence[float], std: Sequence[float], resample: int, arch: str,
                 device: Any) -> None:
        self.model = model
        self.text = text  # (labels, dim) float64 on the CPU, L2-normalised
        self.logit_scale = logit_scale
        self.size = size
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.resample = resample
        self.arch = arch
        self.device = device
        self.labels = list(LABELS)
        self.description = f"open_clip {arch} on {device}"

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """L2-normalised image embeddings (N, dim) float64, one forward pass for all views."""
        torch = import_torch()
        all_views: list[np.ndarray] = []
        owner: list[int] = []
        for i, image in enumerate(images):
            v = views(image, self.size, resample=self.resample)
            all_views.extend(v)
            owner.extend([i] * len(v))
        x = to_tensor(all_views, self.mean, self.std, self.device)
        with torch.inference_mode():
            f = torch.nn.functional.normalize(self.model.encode_image(x).float(), dim=-1)
            f = f.cpu().numpy().astype(np.float64)
        # views of one image: mean, renormalised (in order, on the CPU: deterministic)
        owners = np.asarray(owner)
        emb = np.stack([f[owners == i].mean(axis=0) for i in range(len(images))])
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """Softmax over the labels (N, labels) for L2-normalised embeddings."""
        logits = self.logit_scale * (embeddings @ self.text.T)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def extract_batch(self, images: Sequence[np.ndarray],
                      ctxs: Sequence[ExtractContext]) -> list[dict[str, Any]]:
        """One ``{"style": ...}`` per image, in order (see the module doc)."""
        check_batch(images, ctxs)
        if not images:
            return []
        emb = self.embed(images)
        probs = self.probabilities(emb)
        return [self._result(e, p) for e, p in zip(emb, probs, strict=True)]

    def _result(self, emb: np.ndarray, p: np.ndarray) -> dict[str, Any]:
        labels = {name: round(float(v), PROB_DECIMALS) for name, v in zip(self.labels, p, strict=True)}
        order = sorted(range(len(self.labels)), key=lambda i: (-p[i], i))
        pi = {name: float(v) for name, v in zip(self.labels, p, strict=True)}
        return {"style": {"$extensions": {EXTENSION_KEY: {
            "labels": labels,
            "top": [self.labels[i] for i in order[:TOP_K]],
            "scheme": "dark" if pi["dark"] > pi["light"] else "light",
            "density": "dense" if pi["dense"] > pi["airy"] else "airy",
            "embedding": [round(float(v), EMBEDDING_DECIMALS) for v in emb],
            "model": self.arch,
        }}}}


def load(options: ModelOptions) -> StyleModel:
    """Build ``options.clip_model`` with the weights in ``options.clip_checkpoint``; label
    embeddings computed once. ``ModelUnavailable`` when anything is missing or broken."""
    path = weights_file(options.clip_checkpoint, "CLIP", "STYLESTREAM_CLIP_CHECKPOINT")
    arch = options.clip_model
    if ":" in arch:  # hf-hub:, local-dir: fetch or find weights themselves
        raise ModelUnavailable(f"CLIP model {arch!r}: give an open_clip architecture name "
                               "(e.g. ViT-B-32) and the weights file as the checkpoint")
    open_clip = import_open_clip()
    torch = import_torch()
    if arch.endswith(".json"):  # a custom architecture: an open_clip model config file
        config = Path(arch)
        if not config.is_file():
            raise ModelUnavailable(f"CLIP model config {arch!r} does not exist "
                                   "(STYLESTREAM_CLIP_MODEL)")
        open_clip.add_model_config(config)
        arch = config.stem
    if arch not in open_clip.list_models():
        raise ModelUnavailable(f"CLIP model {arch!r} is not an open_clip architecture "
                               f"(e.g. ViT-B-32, ViT-B-16, ViT-L-14)")
    device = setup(options)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # open_clip/torch version notes at load
            model, _, _ = open_clip.create_model_and_transforms(
                arch, pretrained=str(path), device=device)
            tokenizer = open_clip.get_tokenizer(arch)
        model.eval()
        cfg = open_clip.get_model_preprocess_cfg(model)
        size = cfg.get("size", 224)
        size = int(size[0] if isinstance(size, (tuple, list)) else size)
        mean, std = cfg.get("mean", (0.5, 0.5, 0.5)), cfg.get("std", (0.5, 0.5, 0.5))
        resample = _resample(cfg.get("interpolation", "bicubic"))
        with torch.inference_mode():
            rows = []
            for words in LABELS.values():
                tokens = tokenizer([t.format(words) for t in TEMPLATES]).to(device)
                t = torch.nn.functional.normalize(model.encode_text(tokens).float(), dim=-1)
                rows.append(torch.nn.functional.normalize(t.mean(dim=0), dim=-1))
            text = torch.stack(rows).cpu().double().numpy()
            logit_scale = float(model.logit_scale.exp().clamp(max=100.0))
    except ModelUnavailable:
        raise
    except Exception as exc:
        raise load_failed(f"CLIP {arch} could not load {str(path)!r}", exc,
                          "does STYLESTREAM_CLIP_MODEL name the checkpoint's architecture?") from exc
    return StyleModel(model, text, logit_scale, size=size, mean=mean, std=std,
                      resample=resample, arch=arch, device=device)


def _resample(name: str) -> int:
    from PIL import Image

    return {"bilinear": Image.Resampling.BILINEAR, "nearest": Image.Resampling.NEAREST,
            "lanczos": Image.Resampling.LANCZOS}.get(str(name), Image.Resampling.BICUBIC)
