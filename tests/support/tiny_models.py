"""Tiny models the tests build and save themselves: real architectures, random weights.

Nothing is downloaded. Each builder seeds torch so the saved weights are the same every
run, writes into the folder it is given and returns the file's path:

* ``save_tiny_clip(dir)``: an open_clip CLIP registered as ``TINY_CLIP`` (ViT: width 32,
  1 layer, patch 16 on 64 px images; text: width 32, 1 layer; embed_dim 16), saved as a
  state-dict checkpoint like the published open_clip weights;
* ``save_tiny_depthnet(dir)``: a ``DepthNet`` on timm's ``test_efficientnet`` saved as
  ``{"arch": ..., "state_dict": ...}``; ``save_tiny_depth_torchscript(dir)`` the same net
  traced to TorchScript (how MiDaS is usually exported);
* ``save_brightness_depth(dir)``: a TorchScript "depth" model whose inverse depth is the
  input's brightness, so tests can draw a page whose elevation order they know.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

TINY_CLIP = "stylestream-tiny-clip"
TINY_CLIP_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TINY_DEPTH_ARCH = {"backbone": "test_efficientnet", "features": 16, "input_size": 128,
                   "name": "tiny-depthnet"}


def register_tiny_clip(folder: Path) -> str:
    """Write the tiny config and register it with open_clip; its architecture name."""
    import open_clip

    config = Path(folder) / f"{TINY_CLIP}.json"
    config.write_text(json.dumps(TINY_CLIP_CONFIG))
    if TINY_CLIP not in open_clip.list_models():
        open_clip.add_model_config(config)
    return TINY_CLIP


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    import open_clip
    import torch

    register_tiny_clip(folder)
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_CLIP)
    path = Path(folder) / "tiny_clip.pt"
    torch.save(model.state_dict(), path)
    return path


def tiny_depthnet(seed: int = 0):
    import torch

    from stylestream.extractors.depth import build_depthnet

    torch.manual_seed(seed)
    model = build_depthnet(dict(TINY_DEPTH_ARCH))
    with torch.no_grad():  # random init leaves the last ReLU mostly at zero: lift it so the
        model.head2[-2].bias.fill_(1.0)  # inverse depth is positive and varied, like a trained net's
    return model.eval()


def save_tiny_depthnet(folder: Path, seed: int = 0) -> Path:
    import torch

    path = Path(folder) / "tiny_depthnet.pt"
    torch.save({"arch": dict(TINY_DEPTH_ARCH), "state_dict": tiny_depthnet(seed).state_dict()}, path)
    return path


def _save_script(module, example, path: Path, config: dict) -> Path:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.export
        traced = torch.jit.trace(module, example, check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={"stylestream.json": json.dumps(config)})
    return path


def save_tiny_depth_torchscript(folder: Path, seed: int = 0) -> Path:
    import torch

    size = TINY_DEPTH_ARCH["input_size"]
    example = torch.zeros(1, 3, size * 5 // 8 // 32 * 32, size)
    config = {"name": "tiny-depthnet-ts", "input_size": size}
    return _save_script(tiny_depthnet(seed), example, Path(folder) / "tiny_depth_ts.pt", config)


def save_brightness_depth(folder: Path, input_size: int = 256) -> Path:
    """Inverse depth = mean of the normalised channels (mean 0, std 1: brightness as is)."""
    import torch

    class Brightness(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=1)

    config = {"name": "brightness", "input_size": input_size, "mean": [0.0, 0.0, 0.0],
              "std": [1.0, 1.0, 1.0]}
    return _save_script(Brightness(), torch.zeros(1, 3, 64, 64),
                        Path(folder) / "brightness_depth.pt", config)
