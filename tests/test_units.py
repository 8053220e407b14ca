"""Pure pieces: config, parameters, merging, URLs, formats, image probing."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from stylestream.config import Settings
from stylestream.errors import (
    BadParameter,
    ImageTooLarge,
    InvalidImage,
    UnknownExtractor,
)
from stylestream.extractors import CATALOG
from stylestream.extractors.image import decode, probe
from stylestream.gateway.client import ws_url
from stylestream.gateway.extraction import parse_params
from stylestream.gateway.formats import to_css, to_flat
from stylestream.schemas import deep_merge


def test_settings_from_env() -> None:
    s = Settings.from_env({"ATOMIC_STREAMING_ENABLED": "false", "STYLESTREAM_PORT": "9000",
                           "STYLESTREAM_PLUGINS": "a.b, c"})
    assert s.atomic_streaming is False and s.port == 9000 and s.plugins == ("a.b", "c")
    assert Settings.from_env({}).atomic_streaming is True
    with pytest.raises(ValueError, match="ATOMIC_STREAMING_ENABLED"):
        Settings.from_env({"ATOMIC_STREAMING_ENABLED": "maybe"})


def test_parse_params() -> None:
    atomic, tier = Settings(), Settings(atomic_streaming=False)
    p = parse_params({"extractors": "ai,fast,fast"}, CATALOG, atomic)
    assert p.extractors == ["fast", "ai"] and p.mode == "atomic" and p.scale is None
    assert parse_params({}, CATALOG, tier).mode == "tier"
    assert parse_params({"mode": "atomic"}, CATALOG, tier).mode == "atomic"
    assert parse_params({"scale": "2"}, CATALOG, atomic).scale == 2.0
    with pytest.raises(UnknownExtractor, match="nope"):
        parse_params({"extractors": "color,nope"}, CATALOG, atomic)
    for bad in ({"mode": "x"}, {"scale": "-1"}, {"scale": "two"}, {"extractors": ","}):
        with pytest.raises((BadParameter, UnknownExtractor)):
            parse_params(bad, CATALOG, atomic)


def test_deep_merge_merges_and_never_aliases() -> None:
    doc: dict = {"color": {"palette": {"a": 1}}}
    update = {"color": {"palette": {"b": {"x": [1]}}, "role": {"bg": 2}}, "spacing": {"4": 4}}
    deep_merge(doc, update)
    assert doc == {"color": {"palette": {"a": 1, "b": {"x": [1]}}, "role": {"bg": 2}},
                   "spacing": {"4": 4}}
    doc["color"]["palette"]["b"]["x"].append(2)
    assert update["color"]["palette"]["b"]["x"] == [1]


@pytest.mark.parametrize(("given", "expected"), [
    ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/v1/extract"),
    ("http://127.0.0.1:8080/", "ws://127.0.0.1:8080/v1/extract"),
    ("ws://h:1", "ws://h:1/v1/extract"),
    ("https://tokens.example", "wss://tokens.example/v1/extract"),
    ("localhost:8080", "ws://localhost:8080/v1/extract"),
    ("ws://h:1/v1/extract", "ws://h:1/v1/extract"),
])
def test_ws_url(given: str, expected: str) -> None:
    assert ws_url(given) == expected


def test_ws_url_query_and_errors() -> None:
    assert ws_url("http://h:1", extractors=["color", "fast"], mode="tier", scale=2) == \
        "ws://h:1/v1/extract?extractors=color%2Cfast&mode=tier&scale=2"
    assert ws_url("http://h:1/?budget=0.5&mode=atomic", mode="tier") == \
        "ws://h:1/v1/extract?budget=0.5&mode=tier"
    assert ws_url("http://h:1", budget_usd=0.01) == "ws://h:1/v1/extract?budget=0.01"
    with pytest.raises(ValueError):
        ws_url("ftp://h:1")


def test_css_and_flat_from_dtcg() -> None:
    black = {"colorSpace": "srgb", "components": [0, 0, 0], "alpha": 0.1, "hex": "#000000"}
    doc = {"color": {"palette": {"blue-55": {"$type": "color", "$value": {"hex": "#2563eb"}}},
                     "$extensions": {"dev.stylestream": {"scheme": "light"}}},
           "spacing": {"4": {"$type": "dimension", "$value": {"value": 16, "unit": "px"}}},
           "shadow": {"md": {"$type": "shadow", "$value": {
               "color": black, "offsetX": {"value": 0, "unit": "px"},
               "offsetY": {"value": 4, "unit": "px"}, "blur": {"value": 6, "unit": "px"},
               "spread": {"value": -1, "unit": "px"}, "inset": False}}},
           "typography": {"body": {"$type": "typography", "$value": {
               "fontSize": {"value": 16, "unit": "px"}, "fontWeight": 400, "lineHeight": 1.5}}},
           "font": {"lineHeight": {"body": {"$type": "number", "$value": 1.5}}}}
    assert to_css(doc) == (
        ":root {\n"
        "  --color-palette-blue-55: #2563eb;\n"
        "  --spacing-4: 16px;\n"
        "  --shadow-md: 0px 4px 6px -1px rgba(0, 0, 0, 0.1);\n"
        "  --typography-body-font-size: 16px;\n"
        "  --typography-body-font-weight: 400;\n"
        "  --typography-body-line-height: 1.5;\n"
        "  --font-line-height-body: 1.5;\n"
        "}\n")
    flat = to_flat(doc)
    assert flat["color.palette.blue-55"] == "#2563eb"
    assert flat["typography.body.font-size"] == "16px"
    assert flat["shadow.md"] == "0px 4px 6px -1px rgba(0, 0, 0, 0.1)"


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def test_probe_and_decode() -> None:
    rgba = Image.new("RGBA", (20, 10), (255, 0, 0, 0))
    data = _encoded(rgba, "PNG")
    info = probe(data, max_pixels=1000)
    assert (info.format, info.width, info.height) == ("png", 20, 10)
    pixels = decode(data, max_pixels=1000)
    assert pixels.shape == (10, 20, 3) and (pixels == 255).all()  # transparent -> white
    with pytest.raises(ImageTooLarge):
        probe(data, max_pixels=199)
    with pytest.raises(InvalidImage):
        probe(b"GIF89a" + b"\x00" * 20, max_pixels=1000)
    jpeg = _encoded(Image.new("RGB", (16, 16), "blue"), "JPEG")
    assert probe(jpeg, max_pixels=1000).format == "jpeg"
