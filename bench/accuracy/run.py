"""Colour accuracy of the palette extractor against what the DOM says was painted.

    .venv/bin/python bench/accuracy/run.py [--pages NAME ...] [--no-jpeg]

Renders every ``pages/*.html`` in headless Chromium (1440x900; some pages also at
device scale 2), records ground truth from the DOM, runs ``extract`` on the PNG and on a
JPEG (quality 85) of the same screenshot, and prints recall and precision per page next
to a naive baseline (Pillow median-cut to 16 colours, entries under 0.05 % share dropped).
Screenshots go to ``.accuracy/`` (gitignored).

Ground truth (see ``COLLECT_JS``)
    *used* colours: every opaque colour the DOM paints with: computed ``background-color``,
    border colours of sides with width > 0, outline colours, text colours (of elements
    with their own text), SVG fill/stroke, colour stops of ``background-image`` gradients
    and ``::before``/``::after`` backgrounds/borders. Translucent colours are composited
    over the element's effective background (its ancestors' backgrounds, composited);
    blurred box-shadow colours are not "used" (a blur paints a ramp, not a colour);
    zero-blur ones (focus rings, hard offsets) are. Borders are composited over the
    element's own background (CSS paints backgrounds under borders). A translucent
    fixed/absolute layer (a modal backdrop) adds every earlier colour tinted by it.
    *visible share* of a used colour: screenshot pixels exactly equal to it / all pixels.
    *expected* colours: visible share >= 0.05 %, or a text colour of text >= 18 px
    (or bold >= 14 px) whose text boxes cover >= 0.1 % of the viewport.

Scores (CIEDE2000, threshold 5)
    recall: expected colours with an extracted colour within 5.
    precision: extracted colours within 5 of any used colour.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from stylestream.extractors import ExtractContext
from stylestream.extractors.color import ciede2000, extract, srgb_to_cielab

ROOT = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).resolve().parent / "pages"
OUT = ROOT / ".accuracy"
WIDTH, HEIGHT = 1440, 900
#: pages also rendered at device scale 2 (2880x1800 screenshots)
HIDPI = {"dashboard", "docs", "kanban_dark", "pricing"}
JPEG_QUALITY = 85
DE_MATCH = 5.0
MIN_SHARE = 0.0005
TEXT_MIN_AREA = 0.001
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--hide-scrollbars", "--font-render-hinting=none"]

COLLECT_JS = r"""
() => {
  const W = innerWidth, H = innerHeight;
  const parse = (s) => {
    const m = /^rgba?\(([^)]*)\)$/.exec((s || '').trim());
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map(i => Math.round(top[i] * a + bottom[i] * (1 - a))).concat([1]);
  };
  const memo = new Map();
  const effBg = (el) => {
    if (!el || el.nodeType !== 1) return [255, 255, 255, 1];
    if (memo.has(el)) return memo.get(el);
    const below = effBg(el.parentElement);
    const c = parse(getComputedStyle(el).backgroundColor);
    const r = (c && c[3] > 0) ? over(c, below) : below;
    memo.set(el, r);
    return r;
  };
  const out = [];
  // `under`: the element whose effective background shows through a translucent colour
  const add = (rgba, kind, under, extra) => {
    if (!rgba || rgba[3] === 0) return;
    const c = rgba[3] < 1 ? over(rgba, effBg(under)) : rgba;
    out.push(Object.assign({rgb: c.slice(0, 3), kind}, extra || {}));
  };
  const overlays = [];
  const visible = (el, cs) => {
    if (cs.display === 'none' || cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) return null;
    const r = el.getBoundingClientRect();
    const w = Math.min(r.right, W) - Math.max(r.left, 0), h = Math.min(r.bottom, H) - Math.max(r.top, 0);
    return (w > 0 && h > 0) ? w * h : null;
  };
  const sides = ['Top', 'Right', 'Bottom', 'Left'];
  for (const el of document.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    const area = visible(el, cs);
    if (area === null) continue;
    const bg = parse(cs.backgroundColor);
    if (bg && bg[3] > 0) out.push({rgb: effBg(el).slice(0, 3), kind: 'background', area});
    for (const m of (cs.backgroundImage || '').matchAll(/rgba?\([^)]*\)/g)) add(parse(m[0]), 'gradient', el.parentElement);
    // a translucent fixed/absolute layer (modal backdrop) tints whatever it covers
    if (bg && bg[3] > 0 && bg[3] < 1 && ['fixed', 'absolute'].includes(cs.position))
      overlays.push({bg, rect: el.getBoundingClientRect(), index: out.length});
    for (const s of sides) {
      if (parseFloat(cs['border' + s + 'Width']) > 0 && !['none', 'hidden'].includes(cs['border' + s + 'Style']))
        add(parse(cs['border' + s + 'Color']), 'border', el);  // painted over its own background
    }
    if (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) add(parse(cs.outlineColor), 'outline', el.parentElement);
    // a box-shadow without blur (focus rings, hard offsets) paints a solid colour
    for (const m of (cs.boxShadow || '').matchAll(/(rgba?\([^)]*\))\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+([\d.]+)px/g))
      if (parseFloat(m[4]) === 0) add(parse(m[1]), 'shadow', el.parentElement);
    if (el instanceof SVGElement) {
      add(parse(cs.fill), 'svg', el.parentElement);
      add(parse(cs.stroke), 'svg', el.parentElement);
    }
    for (const pseudo of ['::before', '::after']) {
      const ps = getComputedStyle(el, pseudo);
      if (ps.content === 'none' || ps.display === 'none') continue;
      add(parse(ps.backgroundColor), 'background', el);
      for (const s of sides) {
        if (parseFloat(ps['border' + s + 'Width']) > 0 && !['none', 'hidden'].includes(ps['border' + s + 'Style']))
          add(parse(ps['border' + s + 'Color']), 'border', el);
      }
    }
    let textArea = 0;
    for (const n of el.childNodes) {
      if (n.nodeType !== 3 || !n.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      for (const r of range.getClientRects()) {
        const w = Math.min(r.right, W) - Math.max(r.left, 0), h = Math.min(r.bottom, H) - Math.max(r.top, 0);
        if (w > 0 && h > 0) textArea += w * h;
      }
    }
    // form controls paint their value as text too
    if (el.tagName === 'INPUT' && el.value) textArea += area * 0.3;
    if (textArea > 0) {
      const c = parse(cs.color);
      if (c && c[3] > 0) {
        const rgb = c[3] < 1 ? over(c, effBg(el)) : c;
        out.push({rgb: rgb.slice(0, 3), kind: 'text', textArea,
                  size: parseFloat(cs.fontSize), weight: parseInt(cs.fontWeight) || 400});
      }
    }
  }
  for (const o of overlays)
    for (const item of out.slice(0, o.index))
      out.push({rgb: over(o.bg, item.rgb.concat([1])).slice(0, 3), kind: 'overlay'});
  return out;
};
"""


@dataclass
class Truth:
    used: np.ndarray        # (n, 3) uint8, every colour the DOM paints with
    expected: np.ndarray    # (m, 3) uint8, colours a palette should contain
    shares: dict[tuple[int, int, int], float]


@dataclass
class Score:
    recall: float
    precision: float
    n_found: int
    missed: list[str]
    invented: list[str]
    ms: float = 0.0


def hexs(c) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in c)


def ground_truth(items: list[dict], image: np.ndarray, scale: float) -> Truth:
    h, w, _ = image.shape
    codes = (image[..., 0].astype(np.int64) << 16) | (image[..., 1].astype(np.int64) << 8) | image[..., 2]
    vals, counts = np.unique(codes, return_counts=True)
    count_of = dict(zip(vals.tolist(), counts.tolist()))
    viewport = WIDTH * HEIGHT
    used: dict[tuple[int, int, int], dict] = {}
    for it in items:
        key = tuple(int(v) for v in it["rgb"])
        info = used.setdefault(key, {"kinds": set(), "text_area": 0.0})
        info["kinds"].add(it["kind"])
        if it["kind"] == "text" and (it["size"] >= 18 or (it["weight"] >= 600 and it["size"] >= 14)):
            info["text_area"] += it["textArea"]
    shares, expected = {}, []
    for key, info in used.items():
        share = count_of.get((key[0] << 16) | (key[1] << 8) | key[2], 0) / (h * w)
        shares[key] = share
        if share >= MIN_SHARE or info["text_area"] >= TEXT_MIN_AREA * viewport:
            expected.append(key)
    return Truth(np.array(sorted(used), np.uint8).reshape(-1, 3),
                 np.array(sorted(expected), np.uint8).reshape(-1, 3), shares)


def score(found: np.ndarray, truth: Truth) -> Score:
    found = np.asarray(found, np.uint8).reshape(-1, 3)
    if len(found) == 0:
        return Score(0.0 if len(truth.expected) else 1.0, 1.0, 0,
                     [hexs(c) for c in truth.expected], [])
    lf = srgb_to_cielab(found)
    de_exp = ciede2000(srgb_to_cielab(truth.expected)[:, None, :], lf[None, :, :])
    de_used = ciede2000(lf[:, None, :], srgb_to_cielab(truth.used)[None, :, :])
    hit = de_exp.min(axis=1) <= DE_MATCH if len(truth.expected) else np.zeros(0, bool)
    ok = de_used.min(axis=1) <= DE_MATCH
    return Score(
        recall=float(hit.mean()) if len(hit) else 1.0,
        precision=float(ok.mean()),
        n_found=len(found),
        missed=[hexs(c) for c, m in zip(truth.expected, hit) if not m],
        invented=[hexs(c) for c, m in zip(found, ok) if not m],
    )


def ours(image: np.ndarray, fmt: str, scale: float) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    pal = extract(image, ExtractContext(source_format=fmt, scale=scale))["color"]["palette"]
    ms = (time.perf_counter() - t0) * 1000
    return np.array([[int(t.value.hex[i:i + 2], 16) for i in (1, 3, 5)] for t in pal.values()],
                    np.uint8).reshape(-1, 3), ms


def baseline(image: np.ndarray) -> np.ndarray:
    q = Image.fromarray(image).quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    counts = np.bincount(np.asarray(q).ravel(), minlength=16)
    pal = np.array(q.getpalette()[: 16 * 3], np.uint8).reshape(-1, 3)[: len(counts)]
    keep = counts[: len(pal)] / counts.sum() >= MIN_SHARE
    return pal[keep]


def jpeg(image: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=JPEG_QUALITY)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def render(names: list[str]) -> list[tuple[str, float, np.ndarray, list[dict]]]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    shots = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for name in names:
                for scale in (1, 2) if name in HIDPI else (1,):
                    ctx = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT},
                                              device_scale_factor=scale)
                    page = ctx.new_page()
                    page.goto((PAGES / f"{name}.html").as_uri(), wait_until="load")
                    page.evaluate("document.fonts.ready")
                    png = page.screenshot(type="png")
                    items = page.evaluate(COLLECT_JS)
                    ctx.close()
                    (OUT / f"{name}@{scale}x.png").write_bytes(png)
                    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
                    shots.append((name, float(scale), img, items))
        finally:
            browser.close()
    return shots


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", nargs="*", help="page names (default: all in pages/)")
    ap.add_argument("--no-jpeg", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true", help="list missed and invented colours")
    args = ap.parse_args()
    names = args.pages or sorted(p.stem for p in PAGES.glob("*.html"))
    shots = render(names)

    rows = []
    header = (f"{'page':<20} {'exp':>3} | {'PNG ours R/P':>13} {'n':>3} | {'base R/P':>11} {'n':>3}"
              + ("" if args.no_jpeg else f" | {'JPEG ours R/P':>13} {'n':>3} | {'base R/P':>11}"))
    print(header)
    print("-" * len(header))
    for name, scale, img, items in shots:
        truth = ground_truth(items, img, scale)
        found, ms = ours(img, "png", scale)
        s_png = score(found, truth)
        s_png.ms = ms
        b_png = score(baseline(img), truth)
        row = {"png": s_png, "base_png": b_png}
        line = (f"{name + ('@2x' if scale == 2 else ''):<20} {len(truth.expected):>3} | "
                f"{s_png.recall:>6.2f}/{s_png.precision:<6.2f} {s_png.n_found:>3} | "
                f"{b_png.recall:>5.2f}/{b_png.precision:<5.2f} {b_png.n_found:>3}")
        if not args.no_jpeg:
            jimg = jpeg(img)
            jfound, jms = ours(jimg, "jpeg", scale)
            s_jpg = score(jfound, truth)
            s_jpg.ms = jms
            b_jpg = score(baseline(jimg), truth)
            row.update(jpg=s_jpg, base_jpg=b_jpg)
            line += (f" | {s_jpg.recall:>6.2f}/{s_jpg.precision:<6.2f} {s_jpg.n_found:>3} | "
                     f"{b_jpg.recall:>5.2f}/{b_jpg.precision:<5.2f}")
        print(line)
        if args.verbose:
            for key in ("png", "jpg"):
                if key in row and (row[key].missed or row[key].invented):
                    print(f"    {key}: missed {row[key].missed} invented {row[key].invented}")
        rows.append(row)
    print("-" * len(header))
    for key, label in (("png", "ours PNG"), ("base_png", "baseline PNG"),
                       ("jpg", "ours JPEG q85"), ("base_jpg", "baseline JPEG q85")):
        if key not in rows[0]:
            continue
        r = statistics.mean(x[key].recall for x in rows)
        p = statistics.mean(x[key].precision for x in rows)
        extra = ""
        if key in ("png", "jpg"):
            extra = f"  median {statistics.median(x[key].ms for x in rows):.0f} ms/image"
        print(f"mean {label:<18} recall {r:.3f}  precision {p:.3f}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
