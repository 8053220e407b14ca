"""Render HTML in headless Chromium (Debian's, driven by Playwright) for extractor tests.

One browser per call; every page at every device scale factor. Tests skip (with a reason)
only where Chromium is not installed; `make test` installs it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
#: the flags a sandboxed, offline machine needs (no background network, no GPU)
ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars")


def render(
    pages: Mapping[Hashable, str],
    scales: Iterable[int] = (1, 2),
    *,
    width: int = 800,
    height: int = 600,
    extra_args: Iterable[str] = (),
    script: str | None = None,
) -> dict[tuple[Hashable, int], tuple[np.ndarray, Any]]:
    """{(page key, scale): (RGB screenshot, result of ``script`` evaluated on the page)}."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium (make test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    scales = tuple(scales)
    out: dict[tuple[Hashable, int], tuple[np.ndarray, Any]] = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args])
        try:
            for scale in scales:
                context = browser.new_context(viewport={"width": width, "height": height},
                                              device_scale_factor=scale)
                page = context.new_page()
                for key, html in pages.items():
                    page.set_content(html)
                    data = page.evaluate(script) if script else None
                    png = page.screenshot(type="png")
                    out[key, scale] = (np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), data)
                context.close()
        finally:
            browser.close()
    return out
