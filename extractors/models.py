"""Shared torch plumbing for the model extractors (``depth``, ``style``).

Nothing here imports torch, timm or open_clip at module import: the gateway and the CV
workers import the extractor catalog without them. The ``load`` functions of the model
extractors call these helpers, which raise ``ModelUnavailable`` with a message that says
what to install or configure, so a worker without the extras reports why instead of dying.

What the helpers fix for every model
    * device: ``"auto"`` is CUDA when torch sees a GPU, else CPU; an explicit ``cuda[:N]``
      without that GPU is ``ModelUnavailable``, not a silent fallback;
    * threads: on CPU ``torch.set_num_threads(options.threads or min(4, cores))`` (a
      process-wide setting: the model worker is its own process);
    * weights: a configured path that exists and is a file, else ``ModelUnavailable``
      naming the setting to fix;
    * offline: ``HF_HUB_OFFLINE=1`` before timm/open_clip import, so a wrong name fails at
      once instead of retrying the network; nothing is ever downloaded at run time.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stylestream.errors import ModelUnavailable
from stylestream.extractors import ExtractContext, ModelOptions

INSTALL_HINT = "install the model extras: pip install 'stylestream[models]'"
#: longest error detail repeated in a ModelUnavailable message
MAX_DETAIL = 400


def _offline() -> None:
    # huggingface_hub reads this when it is first imported (timm and open_clip import it)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _require(module: str) -> Any:
    """Import an optional dependency, or raise ``ModelUnavailable`` saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelUnavailable(f"{module} is not installed ({exc}); {INSTALL_HINT}") from exc


def import_torch() -> Any:
    return _require("torch")


def import_timm() -> Any:
    _offline()
    import_torch()
    return _require("timm")


def import_open_clip() -> Any:
    _offline()
    import_torch()
    return _require("open_clip")


def default_threads(threads: int | None) -> int:
    """torch intra-op threads on CPU: the configured number, else the cores, at most 4."""
    return threads if threads and threads > 0 else min(4, os.cpu_count() or 1)


def resolve_device(spec: str) -> Any:
    """``"auto"`` | ``"cpu"`` | ``"cuda"`` | ``"cuda:N"`` -> ``torch.device``."""
    torch = import_torch()
    name = (spec or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise ModelUnavailable(f"device {spec!r} is not a torch device ({exc}); "
                               "use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelUnavailable(f"device {spec!r} asked for, but torch sees no CUDA GPU here; "
                                   "use device auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ModelUnavailable(f"device {spec!r} asked for, but torch sees only "
                                   f"{torch.cuda.device_count()} CUDA GPU(s)")
    elif device.type != "cpu":
        raise ModelUnavailable(f"device {spec!r} is not supported; use auto, cpu, cuda or cuda:N")
    return device


def setup(options: ModelOptions) -> Any:
    """The device to run on, with CPU threads set; torch imported."""
    torch = import_torch()
    device = resolve_device(options.device)
    if device.type == "cpu":
        torch.set_num_threads(default_threads(options.threads))
    return device


def weights_file(path: str | os.PathLike[str] | None, what: str, setting: str) -> Path:
    """The configured weights file, or ``ModelUnavailable`` naming ``setting``."""
    if path is None or not str(path).strip():
        raise ModelUnavailable(f"no {what} weights configured: set {setting} to a local weights "
                               "file (nothing is downloaded at run time)")
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelUnavailable(f"{what} weights file {str(p)!r} does not exist (set by {setting})")
    if not p.is_file():
        raise ModelUnavailable(f"{what} weights path {str(p)!r} is not a file (set by {setting})")
    return p


def load_failed(what: str, exc: BaseException, hint: str) -> ModelUnavailable:
    """``ModelUnavailable`` for a load that raised: what, the error (shortened: a state-dict
    mismatch lists hundreds of keys) and a hint."""
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())
    if len(detail) > MAX_DETAIL:
        detail = detail[:MAX_DETAIL] + "..."
    return ModelUnavailable(f"{what}: {detail} ({hint})")


def check_batch(images: Sequence[np.ndarray], ctxs: Sequence[ExtractContext]) -> None:
    """Every image RGB uint8 (H, W, 3), one context per image."""
    if len(images) != len(ctxs):
        raise ValueError(f"{len(images)} images but {len(ctxs)} contexts")
    for image in images:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")


def edge_colour(image: np.ndarray) -> tuple[int, int, int]:
    """Median colour of the image's outermost rows and columns (the page background, as a
    padding colour that adds no edge of its own)."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))  # type: ignore[return-value]


def to_tensor(batch: Sequence[np.ndarray], mean: Sequence[float], std: Sequence[float],
              device: Any) -> Any:
    """uint8 RGB arrays of one shape (H, W, 3) -> normalised float32 (N, 3, H, W) on device."""
    torch = import_torch()
    x = np.stack(batch).astype(np.float32) * np.float32(1.0 / 255.0)
    x -= np.asarray(mean, np.float32)
    x /= np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)
