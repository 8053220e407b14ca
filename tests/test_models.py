"""Model extractors (CLIP style, MiDaS-style depth) on tiny models the tests build and save.

The weights are random, so the tests check the plumbing with real numbers: shapes, softmax
sums, determinism, batch = singles, TorchScript = eager, and the elevation ranking with a
"depth" model whose inverse depth is brightness (so the order of a drawn page is known).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import numpy as np
import pytest
from PIL import Image, ImageDraw

from stylestream.errors import ModelUnavailable
from stylestream.extractors import ExtractContext, ModelOptions
from stylestream.schemas.tokens import EXTENSION_KEY

torch = pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("open_clip")

from stylestream.extractors import depth, models, style  # noqa: E402
from tests.support import tiny_models  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {
        "clip": tiny_models.save_tiny_clip(d),
        "depthnet": tiny_models.save_tiny_depthnet(d),
        "torchscript": tiny_models.save_tiny_depth_torchscript(d),
        "brightness": tiny_models.save_brightness_depth(d),
        "dir": d,
    }


@pytest.fixture(scope="module")
def clip(files) -> style.StyleModel:
    return style.load(ModelOptions(clip_model=tiny_models.TINY_CLIP, clip_checkpoint=str(files["clip"]),
                                   threads=1))


def page(w: int, h: int, *, dark: bool = False, s: int = 1) -> np.ndarray:
    """A small app page: header, three cards, a button; ``s`` = device scale."""
    bg, card, ink = ((17, 24, 39), (31, 41, 55), (229, 231, 235)) if dark else \
        ((243, 244, 246), (255, 255, 255), (17, 24, 39))
    im = Image.new("RGB", (w * s, h * s), bg)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w * s - 1, 48 * s - 1], fill=card)
    for i in range(3):
        x0 = (24 + i * 150) * s
        d.rounded_rectangle([x0, 72 * s, x0 + 130 * s - 1, 200 * s - 1], radius=8 * s, fill=card)
        d.rectangle([x0 + 12 * s, 90 * s, x0 + 100 * s, 96 * s], fill=ink)
    d.rounded_rectangle([24 * s, 224 * s, 120 * s - 1, 260 * s - 1], radius=6 * s, fill=(37, 99, 235))
    return np.asarray(im).copy()


def ext(result: dict, group: str) -> dict:
    return result[group]["$extensions"][EXTENSION_KEY]


# --- style (CLIP) -------------------------------------------------------------------------

def test_style_batch(clip: style.StyleModel) -> None:
    images = [page(480, 300), page(480, 300, dark=True), page(320, 1800), np.zeros((16, 16, 3), np.uint8)]
    ctxs = [ExtractContext()] * len(images)
    results = clip.extract_batch(images, ctxs)
    assert len(results) == 4
    for r in results:
        e = ext(r, "style")
        assert list(e["labels"]) == list(style.LABELS)
        assert sum(e["labels"].values()) == pytest.approx(1.0, abs=2e-3)
        assert all(0.0 <= p <= 1.0 for p in e["labels"].values())
        probs = [e["labels"][k] for k in e["top"]]
        assert len(e["top"]) == 3 and probs == sorted(probs, reverse=True)
        assert max(e["labels"].values()) == probs[0]
        assert e["scheme"] == ("dark" if e["labels"]["dark"] > e["labels"]["light"] else "light") \
            or e["labels"]["dark"] == e["labels"]["light"]
        assert e["density"] in ("dense", "airy")
        assert len(e["embedding"]) == 16
        assert float(np.linalg.norm(e["embedding"])) == pytest.approx(1.0, abs=1e-4)
        assert e["model"] == tiny_models.TINY_CLIP
    # the pages differ, so do their embeddings
    assert results[0]["style"] != results[1]["style"]
    # deterministic: the same batch encodes byte for byte the same
    again = clip.extract_batch(images, ctxs)
    assert msgspec.json.encode(again) == msgspec.json.encode(results)
    # one forward pass for the batch = one call per image, within float tolerance
    for image, ctx, r in zip(images, ctxs, results, strict=True):
        single = ext(clip.extract_batch([image], [ctx])[0], "style")
        assert np.allclose(single["embedding"], ext(r, "style")["embedding"], atol=2e-5)
        for k, p in single["labels"].items():
            assert p == pytest.approx(ext(r, "style")["labels"][k], abs=2e-4)
    assert clip.extract_batch([], []) == []
    with pytest.raises(ValueError, match="RGB uint8"):
        clip.extract_batch([np.zeros((8, 8), np.uint8)], [ExtractContext()])


def test_style_views_cover_the_page() -> None:
    wide = page(480, 300)
    (v,) = style.views(wide, 64)
    assert v.shape == (64, 64, 3)
    # letterboxed with the page's edge colour, not cropped: the top rows are background
    assert np.abs(v[:4].astype(int) - np.array([243, 244, 246])).max() <= 2
    assert len(style.views(page(320, 1000), 64)) == 2   # 1:3.1 -> two windows
    tall = style.views(page(320, 4000), 64)
    assert len(tall) == style.MAX_VIEWS
    assert style.views(np.zeros((16, 16, 3), np.uint8), 64)[0].shape == (64, 64, 3)


# --- depth (DepthNet, TorchScript) --------------------------------------------------------

@pytest.fixture(scope="module")
def depthnet(files) -> depth.DepthModel:
    return depth.load(ModelOptions(depth_checkpoint=str(files["depthnet"]), threads=1))


def test_depth_batch(files, depthnet: depth.DepthModel) -> None:
    scripted = depth.load(ModelOptions(depth_checkpoint=str(files["torchscript"]), threads=1))
    assert depthnet.name == "tiny-depthnet" and scripted.name == "tiny-depthnet-ts"
    assert depthnet.keep_aspect and scripted.keep_aspect
    images = [page(480, 300), page(300, 480, dark=True), np.full((16, 16, 3), 200, np.uint8)]
    ctxs = [ExtractContext(source_format="png")] * 3
    maps = depthnet.depth_maps(images)
    # long side 128, aspect kept, sides multiples of 32
    assert [m.shape for m in maps] == [(64, 128), (128, 64), (128, 128)]
    assert all(m.dtype == np.float32 and np.isfinite(m).all() and (m >= 0).all() for m in maps)
    assert float(maps[0].std()) > 1e-4  # not flat
    # the TorchScript export of the same net gives the same depth
    for a, b in zip(maps, scripted.depth_maps(images), strict=True):
        assert np.allclose(a, b, atol=1e-5)
    # batch = singles
    for image, m in zip(images, maps, strict=True):
        assert np.allclose(depthnet.depth_maps([image])[0], m, atol=1e-5)
    results = depthnet.extract_batch(images, ctxs)
    assert msgspec.json.encode(results) == msgspec.json.encode(depthnet.extract_batch(images, ctxs))
    for r in results:
        e = ext(r, "shadow")
        assert e["depth_model"] == "tiny-depthnet"
        ranks = [x["rank"] for x in e["elevation"]]
        reliefs = [x["relief"] for x in e["elevation"]]
        assert ranks == sorted(ranks) and reliefs == sorted(reliefs, reverse=True)
        assert set(r) == {"shadow"} and set(r["shadow"]) == {"$extensions"}
    assert ext(results[0], "shadow")["elevation"]  # the cards are ranked
    assert ext(results[2], "shadow")["elevation"] == []  # 16x16: nothing, no crash


def elevated_page(s: int = 1) -> np.ndarray:
    """Grey page; a light card, a lighter card and a dark well: brightness = inverse depth."""
    im = Image.new("RGB", (640 * s, 400 * s), (128, 128, 128))
    d = ImageDraw.Draw(im)
    d.rectangle([40 * s, 60 * s, 200 * s - 1, 200 * s - 1], fill=(200, 200, 200))
    d.rectangle([260 * s, 60 * s, 420 * s - 1, 200 * s - 1], fill=(240, 240, 240))
    d.rectangle([460 * s, 240 * s, 600 * s - 1, 360 * s - 1], fill=(60, 60, 60))
    return np.asarray(im).copy()


@pytest.mark.parametrize("s", [1, 2])
def test_elevation_order(files, s: int) -> None:
    model = depth.load(ModelOptions(depth_checkpoint=str(files["brightness"]), threads=1))
    assert model.name == "brightness"
    (r,) = model.extract_batch([elevated_page(s)], [ExtractContext(scale=float(s), source_format="png")])
    e = ext(r, "shadow")
    assert e["depth_model"] == "brightness"
    by_box = {tuple(round(v / s) for v in x["box"]): x for x in e["elevation"]}
    lighter, light = by_box[(260, 60, 160, 140)], by_box[(40, 60, 160, 140)]
    well = by_box[(460, 240, 140, 120)]
    # normalised between the well (60) and the lighter card (240): page 0.378, card 0.778
    assert lighter["relief"] == pytest.approx(1.0 - 68 / 180, abs=0.02)
    assert light["relief"] == pytest.approx((200 - 128) / 180, abs=0.02)
    assert well["relief"] == pytest.approx(-68 / 180, abs=0.02)
    assert (lighter["rank"], light["rank"], well["rank"]) == (1, 2, 3)
    assert e["elevation"][0]["box"] == [260 * s, 60 * s, 160 * s, 140 * s]


def test_flat_depth_ranks_nothing(files) -> None:
    model = depth.load(ModelOptions(depth_checkpoint=str(files["brightness"]), threads=1))
    (r,) = model.extract_batch([np.full((200, 300, 3), 90, np.uint8)], [ExtractContext()])
    assert ext(r, "shadow")["elevation"] == []


def test_net_size() -> None:
    assert depth.net_size(900, 1440, 256, 32, True) == (160, 256)
    assert depth.net_size(2700, 4320, 256, 32, True) == (160, 256)   # 3x: same net input
    assert depth.net_size(5000, 800, 256, 32, True) == (256, 32)
    assert depth.net_size(900, 1440, 256, 32, False) == (256, 256)


# --- unavailable ----------------------------------------------------------------------------

def test_unavailable(files) -> None:
    d: Path = files["dir"]
    with pytest.raises(ModelUnavailable, match="no CLIP weights configured.*STYLESTREAM_CLIP_CHECKPOINT"):
        style.load(ModelOptions(clip_checkpoint=None))
    with pytest.raises(ModelUnavailable, match="no depth weights configured.*STYLESTREAM_DEPTH_CHECKPOINT"):
        depth.load(ModelOptions(depth_checkpoint=""))
    with pytest.raises(ModelUnavailable, match="does not exist"):
        style.load(ModelOptions(clip_checkpoint=str(d / "missing.bin")))
    with pytest.raises(ModelUnavailable, match="does not exist"):
        depth.load(ModelOptions(depth_checkpoint=str(d / "missing.pt")))
    with pytest.raises(ModelUnavailable, match="not a file"):
        depth.load(ModelOptions(depth_checkpoint=str(d)))
    corrupt = d / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 this is not a model" * 10)
    with pytest.raises(ModelUnavailable, match="could not load"):
        style.load(ModelOptions(clip_model=tiny_models.TINY_CLIP, clip_checkpoint=str(corrupt)))
    with pytest.raises(ModelUnavailable, match="could not load"):
        depth.load(ModelOptions(depth_checkpoint=str(corrupt)))
    plain = d / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    with pytest.raises(ModelUnavailable, match="not a DepthNet checkpoint"):
        depth.load(ModelOptions(depth_checkpoint=str(plain)))
    with pytest.raises(ModelUnavailable, match="not an open_clip architecture"):
        style.load(ModelOptions(clip_model="ViT-Nope", clip_checkpoint=str(files["clip"])))
    with pytest.raises(ModelUnavailable, match="architecture name"):
        style.load(ModelOptions(clip_model="hf-hub:laion/x", clip_checkpoint=str(files["clip"])))
    # the DepthNet checkpoint is not a CLIP checkpoint
    with pytest.raises(ModelUnavailable, match="could not load.*checkpoint's architecture") as info:
        style.load(ModelOptions(clip_model=tiny_models.TINY_CLIP, clip_checkpoint=str(files["depthnet"])))
    assert len(str(info.value)) < 600  # hundreds of missing keys are cut short


def test_device_and_threads(clip: style.StyleModel) -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert models.resolve_device("auto").type == expected
    assert clip.description.endswith(f"on {expected}")
    assert models.resolve_device("cpu").type == "cpu"
    with pytest.raises(ModelUnavailable, match="not a torch device|not supported"):
        models.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelUnavailable, match="no CUDA GPU"):
            models.resolve_device("cuda")
    before = torch.get_num_threads()
    try:
        models.setup(ModelOptions(device="cpu", threads=1))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert models.default_threads(None) == min(4, __import__("os").cpu_count())


def test_import_loads_no_torch() -> None:
    code = ("import sys; import stylestream.extractors.depth, stylestream.extractors.style, "
            "stylestream.extractors.models; "
            "assert not {'torch', 'timm', 'open_clip'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=30)
