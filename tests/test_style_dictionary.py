"""Our merged DTCG document builds with Style Dictionary v5 (npm), warnings as errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stylestream.extractors import CATALOG, extract_local
from stylestream.gateway.formats import iter_tokens

from .conftest import ROOT, png_bytes, ui_screenshot

JS = ROOT / "tests" / "js"
BUILTIN = [name for name, spec in CATALOG.items()
           if spec.target.startswith("stylestream.") and spec.kind == "function"]

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def test_style_dictionary_builds_our_document(tmp_path: Path) -> None:
    assert (JS / "node_modules" / "style-dictionary").is_dir(), "run `make install` (npm ci)"
    doc = extract_local(png_bytes(ui_screenshot(960, 640)), BUILTIN)
    assert doc["color"]["palette"]
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps(doc))
    run = subprocess.run(["node", str(JS / "build.mjs"), str(tokens), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=60, cwd=JS)
    assert run.returncode == 0, run.stdout + run.stderr
    css = (tmp_path / "out" / "variables.css").read_text()
    for path, token in iter_tokens(doc):
        if token["$type"] == "color":
            assert f"--{'-'.join(path)}: {token['$value']['hex']}" in css
    assert (tmp_path / "out" / "tokens.js").read_text().count("export const") >= len(
        doc["color"]["palette"])

