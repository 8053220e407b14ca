"""The ground-truth rules on a small page whose answers are known by construction.

    .venv/bin/pytest bench/accuracy/test_truth.py      (not in the default test run)
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from truth import FULL, page_truth  # noqa: E402

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
*{box-sizing:border-box;margin:0;padding:0}
body{font-family:"DejaVu Sans";font-size:14px;background:#fff}
.card{background:#eee;border-radius:12px;padding:16px 24px;margin:8px;width:300px}
.clip{border-radius:10px;overflow:hidden;width:200px;height:100px;margin:8px}
.clip i{display:block;height:100px;background:#f00}
.pill{display:inline-block;background:#00f;color:#fff;border-radius:9999px;padding:4px 12px}
.pct{background:#0a0;width:100px;height:40px;border-radius:50%}
.ell{background:#0a0;width:200px;height:40px;border-radius:40%}
.row{display:flex;gap:20px;margin:8px}
.row div{background:#ddd;width:60px;height:30px}
.spread{display:flex;justify-content:space-between;width:400px;margin:8px}
.spread div{background:#ddd;width:60px;height:30px}
.auto{display:flex;width:400px;margin:8px}.auto div{background:#ddd;width:60px;height:30px}
.auto div:first-child{margin-right:auto}
.stack p{margin:10px 0 30px}
.sh{width:100px;height:50px;margin:30px;background:#fff;box-shadow:0 4px 6px -1px rgba(0,0,0,.1),0 2px 4px -2px rgba(0,0,0,.1)}
.ring{width:100px;height:50px;margin:30px;background:#fff;border:1px solid #ccc;box-shadow:0 0 0 3px #99f}
.faint{width:100px;height:50px;margin:30px;background:#fff;border:1px solid #ccc;box-shadow:0 1px 2px rgba(0,0,0,.02)}
.hidden{display:none;font-size:40px}
.below{position:absolute;top:2000px;font-size:50px}
</style></head><body>
<div class="card"><b style="font-size:20px">Heading</b> body text that is long enough to matter</div>
<div class="card">second card with the same padding</div>
<div class="clip"><i></i></div><div class="clip"><i></i></div>
<span class="pill">pill one</span> <span class="pill">pill two</span>
<div class="pct"></div><div class="ell"></div>
<div class="row"><div></div><div></div><div></div></div>
<div class="row"><div></div><div></div></div>
<div class="spread"><div></div><div></div></div>
<div class="auto"><div></div><div></div></div>
<div class="stack"><p>one</p><p>two</p></div>
<div class="sh"></div><div class="ring"></div><div class="faint"></div>
<div class="hidden">invisible text</div><div class="below">far below the fold</div>
</body></html>"""


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    pw_api = pytest.importorskip("playwright.sync_api")
    from run import CHROMIUM, CHROMIUM_ARGS, HERE

    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium")
    page_file = tmp_path_factory.mktemp("page") / "t.html"
    page_file.write_text(PAGE)
    with pw_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(page_file.as_uri())
        png = page.screenshot(type="png")
        rec = page.evaluate((HERE / "truth.js").read_text())
        browser.close()
    return page_truth(rec, np.asarray(Image.open(io.BytesIO(png)).convert("RGB")))


def test_fonts_count_visible_characters_only(truth):
    assert 14.0 in truth.font_expected and 20.0 in truth.font_expected
    assert 40.0 not in truth.font_chars and 50.0 not in truth.font_chars
    assert truth.font_chars[14.0] > truth.font_chars[20.0]


def test_radii(truth):
    # cards 12; the images take their clip's 10 (the clip paints nothing itself);
    # pills and a 50% box are full
    assert truth.radius_uses[12.0] == 2
    assert truth.radius_uses[10.0] == 2
    assert truth.radius_uses[FULL] == 3
    # 40% on a 200x40 box is elliptical (80 x 16): never expected
    assert 16.0 not in truth.radius_uses
    assert truth.radius_expected == [10.0, 12.0, FULL]


def test_spacing(truth):
    # card paddings (2 elements), pill paddings (2), flex gap 20 (2 containers),
    # collapsed block margins max(30, 10) = 30 (1 container), flex margin 8 between rows
    assert truth.spacing_uses[16.0] == 2 and truth.spacing_uses[24.0] == 2
    assert truth.spacing_uses[4.0] == 2 and truth.spacing_uses[12.0] == 2
    assert truth.spacing_uses[20.0] == 2
    assert truth.spacing_uses[30.0] >= 1
    # justify-content spreading and auto margins are not spacing
    assert 280.0 not in truth.spacing_uses and 280.0 not in truth.spacing_any
    assert all(v < 100 for v in truth.spacing_any)


def test_shadows(truth):
    # the layered shadow is visible; a spread-only ring is a border; 2 % black is faint
    assert [s.css for s in truth.shadows] == ["0 4 6 -1 rgba(0,0,0,0.1), 0 2 4 -2 rgba(0,0,0,0.1)"]
    assert [s.css for s in truth.faint_shadows] == ["0 1 2 0 rgba(0,0,0,0.02)"]  # 5 levels
