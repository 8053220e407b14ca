"""Accuracy of the token extractors against what the DOM says was painted.

    .venv/bin/python bench/accuracy/run.py [--pages NAME ...] [--no-jpeg]
                                           [--extractors NAME ...] [-v] [--json PATH]

Renders every ``pages/*.html`` in headless Chromium (1440x900 viewport; the pages in
``HIDPI`` also at device scale 2), records ground truth from the DOM (``truth.js``, rules
below), runs each extractor on the PNG and on a JPEG (quality 85) of the same screenshot
through ``prepare()`` (the path the workers take, with the render's device scale given as a
client would), and prints per page and on average: ours, and a naive baseline of each
token type. Screenshots go to ``.accuracy/`` (gitignored), with ``results.json``.
Extractors whose module does not exist yet are skipped (their columns print ``-``).
35 screenshots, PNG and JPEG: about 2 CPU minutes. ``pytest bench/accuracy/test_truth.py``
checks the ground-truth rules on a page whose answers are known.

Ground truth (``truth.js`` collects, ``truth.py`` decides). Only the viewport counts.
*Visible element*: rendered (``checkVisibility`` with opacity and visibility), not
``display:none/contents``, its box intersecting the viewport and every overflow-clipping
ancestor. *Painted*: its background composited differs from what is under it (>= 3 levels
in some channel), or it has a background image/gradient, a visible border, a visible
shadow (below), or is an image/canvas. Native checkboxes, radios and ranges are left out.
Occlusion by other elements is not modelled (text under a popover still counts); the pages
keep overlaps small.

Colours (unchanged from the colour-only harness)
    *used*: every opaque colour the DOM paints with: computed ``background-color``,
    border colours of sides with width > 0, outline colours, text colours (of elements
    with their own text), SVG fill/stroke, colour stops of ``background-image`` gradients
    and ``::before``/``::after`` backgrounds/borders. Translucent colours are composited
    over the element's effective background; blurred box-shadow colours are not "used";
    zero-blur ones (focus rings, hard offsets) are. A translucent fixed/absolute layer (a
    modal backdrop) adds every earlier colour tinted by it. *expected*: used colours whose
    exact pixels cover >= 0.05 % of the screenshot, or text colours of text >= 18 px (or
    bold >= 14 px) whose text boxes cover >= 0.1 % of the viewport.
Font sizes
    Each visible element's own text nodes (and form-control values/placeholders) count
    their non-space characters, times the share of their line boxes inside the clip.
    A computed ``font-size`` is *expected* when it has >= 5 % of the page's characters.
    Weights are computed ``font-weight``; a (size, weight) *style* is expected on the same
    5 % rule. Line height: for text nodes that wrap (>= 2 line boxes) the pitch between
    line-box tops / font size, character-weighted median per expected size.
Radii
    Painted visible elements at least 10 px on both sides; per corner the used radius
    (percentages resolved, CSS clamping applied, min of the two ellipse radii), widened to
    the radius of an overflow-clipping ancestor whose same corner coincides (a card with
    ``overflow:hidden`` rounds its image). Corners outside the clip do not count. A corner
    whose radius is >= half the element's smaller side - 0.5 is ``full`` (a pill or a
    circle); < 1 px is square (0); a corner whose two radii differ by > 25 % (a
    percentage on a non-square box) is elliptical and never expected. Each element
    counts each distinct value once.
    *expected*: non-zero values on >= 2 elements, or on one element covering >= 2 % of
    the viewport. 0 is never expected but is a legitimate answer (precision).
Shadows
    Computed ``box-shadow`` of visible elements >= 8 px, parsed into layers. A layer is
    *visible* when it is outset, has blur or an offset (a spread-only ring is a border),
    and alpha x (largest channel difference between its colour and the background under
    the element) >= 8 levels. A page *has shadows* when any element has a visible layer;
    distinct shadows are distinct lists of visible layers. Shadows that only reach
    3..8 levels (dark themes, hairline Ant/Material elevations) are *faint*: a page with
    only faint shadows neither requires a shadow token nor counts one as a false positive.
Spacing
    Paddings: per painted visible element with content (a visible child or text), its
    distinct non-zero computed paddings. Gaps: between each in-flow child and its nearest
    in-flow sibling to the right (rows overlapping by half) and below (columns
    overlapping by half), kept only when the distance equals the declared ``column-gap``
    / ``row-gap`` (flex and grid) plus margins, or the collapsed margins in block flow,
    within 0.5 px (so ``justify-content`` spreading and inline whitespace do not count);
    per container its distinct values. All in CSS px, values < 2 px ignored. *expected*:
    values with >= 2 uses (elements or containers). Base unit: the largest of 8, 6, 5,
    4, 3, 2 dividing >= 80 % of the uses of values with >= 2 uses.

Scores (per page; means are over the pages where a score is defined)
    colour: recall of expected colours, precision of extracted ones vs *used*
        (CIEDE2000 <= 5).
    font size: recall of expected sizes, precision vs every size with visible text;
        a match is within max(1 px, 8 %). style: expected (size, weight) found as a
        ``typography`` composite with that size and weight within +-100. line height:
        mean |ratio error| where both sides have one (``font.lineHeight``).
    radius: recall of expected radii within +-1.5 px (``full`` = 9999 px matches only
        pills), precision vs every corner value of a painted element of any size (0
        included).
    spacing: recall of expected values within +-1 px, precision vs every value the page
        uses: any padding (of an element with content), margin (auto margins excluded) or
        declared flex/grid gap of a visible element, and the gaps above; base unit
        agreement (truth/ours in the table).
    shadow: on pages with shadows, detected = any ``shadow`` token; on pages without,
        any token is a false positive; blur error = mean over the page's distinct shadows
        of the smallest |blur - layer blur| over tokens and layers (CSS px).
Baselines (naive, honest, simple): colour = Pillow median-cut to 16 colours, entries
    under 0.05 % dropped; font sizes = the fixed Tailwind scale 12 14 16 18 20 24 30 36;
    radius = the fixed guess 4, 8, full; spacing = the 8 most common distances (CSS px,
    2..96) between consecutive strong luma edges (> 24 levels) along rows and columns;
    shadow = always one shadow of blur 6 px (Tailwind ``shadow-md``).
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import statistics
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
from PIL import Image

from score import Found, Metric, Scores, baseline_found, read_doc, score_page
from truth import MIN_SHARE, PageTruth, page_truth

from stylestream.extractors import CATALOG, prepare
from stylestream.extractors.image import decode, sniff_format

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PAGES = HERE / "pages"
OUT = ROOT / ".accuracy"
WIDTH, HEIGHT = 1440, 900
#: pages also rendered at device scale 2 (2880x1800 screenshots)
HIDPI = {"dashboard", "docs", "kanban_dark", "pricing", "checkout", "music_dark"}
JPEG_QUALITY = 85
EXTRACTORS = ("color", "typography", "radius", "spacing", "shadow")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--hide-scrollbars", "--font-render-hinting=none"]
MAX_PIXELS = 8000 * 8000


def render(names: list[str]) -> list[tuple[str, float, bytes, dict]]:
    from playwright.sync_api import sync_playwright

    js = (HERE / "truth.js").read_text()
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
                    records = page.evaluate(js)
                    ctx.close()
                    (OUT / f"{name}@{scale}x.png").write_bytes(png)
                    shots.append((name, float(scale), png, records))
        finally:
            browser.close()
    return shots


def load_extractors(names) -> tuple[dict, dict[str, str]]:
    """name -> extract function, for the modules that exist; name -> why not, for the rest."""
    fns, skipped = {}, {}
    for name in names:
        try:
            if name in CATALOG:
                fns[name] = CATALOG[name].load()
            else:
                fns[name] = importlib.import_module(f"stylestream.extractors.{name}").extract
        except ModuleNotFoundError as exc:
            skipped[name] = f"not there yet ({exc.name})"
        except Exception as exc:  # a module mid-edit by its author must not stop the bench
            skipped[name] = f"import failed: {type(exc).__name__}: {exc}"
    return fns, skipped


def jpeg_bytes(png: bytes) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def run_extractors(data: bytes, scale: float | None, fns: dict, errors: list, label: str):
    """(document, ms per extractor, working pixels, working scale): as ``extract_local``
    does it, but timed per extractor and tolerant of one extractor failing."""
    from stylestream.schemas import deep_merge

    pixels, ctx = prepare(decode(data, max_pixels=MAX_PIXELS), scale=scale,
                          source_format=sniff_format(data) or "")
    doc, ms = {}, {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        try:
            deep_merge(doc, msgspec.to_builtins(fn(pixels, ctx)))
        except Exception as exc:
            errors.append(f"{label} {name}: {type(exc).__name__}: {exc}")
        ms[name] = (time.perf_counter() - t0) * 1000
    return doc, ms, pixels, ctx.scale


# ----------------------------------------------------------------------- table

def frac(m: Metric | None) -> str:
    return "-" if m is None or m.n == 0 and m.m == 0 and m.hits == 0 else f"{m.hits}/{m.n}"


def dec(v: float | None, w: int = 4) -> str:
    return f"{v:.2f}".rjust(w) if v is not None else "-".rjust(w)


def shadow_cell(s) -> str:
    if s is None:
        return "-"
    if s.has:
        return (f"{'hit' if s.detected else 'MISS'} {s.n_found}/{s.n_truth}"
                + (f" {s.blur_err:4.1f}" if s.blur_err is not None else ""))
    if s.faint:
        return f"faint {s.n_found}"
    return "FP" + f" {s.n_found}" if s.detected else "ok"


HEAD = (f"{'page':<22}| {'colour R':>8} {'P':>4} | {'font R':>6} {'P':>4} {'style':>5} "
        f"| {'radius R':>8} {'P':>4} | {'space R':>7} {'P':>4} {'base':>5} | shadow")


def row(label: str, s: Scores, t: PageTruth, f: Found) -> str:
    base = "-"
    if s.spacing is not None:
        base = f"{t.base_unit or '?'}/{f.base_unit:g}" if f.base_unit is not None else f"{t.base_unit or '?'}/-"
    return (f"{label:<22}| {frac(s.colour):>8} {dec(s.colour and s.colour.precision)} "
            f"| {frac(s.font):>6} {dec(s.font and s.font.precision)} {frac(s.style):>5} "
            f"| {frac(s.radius):>8} {dec(s.radius and s.radius.precision)} "
            f"| {frac(s.spacing):>7} {dec(s.spacing and s.spacing.precision)} {base:>5} "
            f"| {shadow_cell(s.shadow)}")


def mean(vals) -> float | None:
    vals = [v for v in vals if v is not None]
    return statistics.mean(vals) if vals else None


def mean_row(label: str, rows: list[Scores]) -> str:
    def rp(attr):
        ms = [getattr(r, attr) for r in rows if getattr(r, attr) is not None]
        if not ms:
            return "-".rjust(8), "-".rjust(4)
        return dec(mean(m.recall for m in ms), 8), dec(mean(m.precision for m in ms))
    c, fo, ra, sp = rp("colour"), rp("font"), rp("radius"), rp("spacing")
    st = [r.style.recall for r in rows if r.style is not None]
    sh = [r.shadow for r in rows if r.shadow is not None]
    base = [r.base_ok for r in rows if r.base_ok is not None]
    shadow = "-"
    if sh:
        pos, neg = [x for x in sh if x.has], [x for x in sh if not x.has and not x.faint]
        blur = mean(x.blur_err for x in pos)
        shadow = (f"det {sum(x.detected for x in pos)}/{len(pos)} FP {sum(x.detected for x in neg)}/{len(neg)}"
                  + (f" blurΔ {blur:.1f}" if blur is not None else ""))
    return (f"{label:<22}| {c[0]} {c[1]} | {fo[0]:>6} {fo[1]} {dec(mean(st), 5)} "
            f"| {ra[0]} {ra[1]} | {sp[0]:>7} {sp[1]} {(f'{sum(base)}/{len(base)}' if base else '-'):>5} "
            f"| {shadow}")


def detail(label: str, s: Scores) -> list[str]:
    out = []
    for name in ("colour", "font", "style", "radius", "spacing"):
        m = getattr(s, name)
        if m is not None and (m.missed or m.extra):
            out.append(f"    {label} {name}: missed {m.missed} extra {m.extra}")
    if s.lh_err:
        out.append(f"    {label} line height |err| {[round(e, 3) for e in s.lh_err]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", nargs="*", help="page names (default: all in pages/)")
    ap.add_argument("--no-jpeg", action="store_true", help="skip the JPEG q85 pass")
    ap.add_argument("--extractors", nargs="*", default=list(EXTRACTORS),
                    help=f"extractors to run (default: {' '.join(EXTRACTORS)})")
    ap.add_argument("--detect-scale", action="store_true",
                    help="let prepare() detect the device scale instead of giving it")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="per page: ground truth, missed and extra values, baseline rows")
    ap.add_argument("--json", type=Path, default=OUT / "results.json", help="where to write results")
    args = ap.parse_args()
    available = sorted(p.stem for p in PAGES.glob("*.html"))
    names = args.pages or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        ap.error(f"unknown pages {unknown}; available: {' '.join(available)}")
    fns, skipped = load_extractors(args.extractors)
    for name, why in skipped.items():
        print(f"note: extractor {name} skipped: {why}")
    ran = set(fns)
    all_types = set(EXTRACTORS)

    t_start = time.perf_counter()
    shots = render(names)
    t_render = time.perf_counter() - t_start
    passes = ["png"] + ([] if args.no_jpeg else ["jpeg"])
    results = {p: [] for p in passes}       # (label, ours Scores, base Scores, truth, found)
    times: dict[str, list[dict[str, float]]] = {p: [] for p in passes}
    errors: list[str] = []
    dump = []
    for name, scale, png, rec in shots:
        label = name + ("@2x" if scale == 2 else "")
        img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        truth = page_truth(rec, img)
        entry = {"page": label, "truth": {
            "font": {f"{k:g}": round(v, 1) for k, v in sorted(truth.font_chars.items())},
            "font_expected": truth.font_expected, "styles_expected": truth.style_expected,
            "line_heights": truth.line_heights,
            "radius": {str(k): v for k, v in truth.radius_uses.items()},
            "radius_expected": truth.radius_expected,
            "spacing": {f"{k:g}": v for k, v in sorted(truth.spacing_uses.items())},
            "spacing_expected": truth.spacing_expected, "base_unit": truth.base_unit,
            "shadows": [{"css": s.css, "count": s.count} for s in truth.shadows],
            "colours_expected": ["#%02x%02x%02x" % tuple(c) for c in truth.colour.expected]}}
        for p in passes:
            data = png if p == "png" else jpeg_bytes(png)
            doc, ms, pixels, wscale = run_extractors(
                data, None if args.detect_scale else scale, fns, errors, f"{label} {p}")
            found = read_doc(doc, ran)
            ours = score_page(found, truth, ran)
            base = score_page(baseline_found(pixels, wscale, MIN_SHARE), truth, all_types)
            results[p].append((label, ours, base, truth, found))
            times[p].append(ms)
            entry[p] = {"ms": ms, "tokens": doc,
                        "ours": msgspec.to_builtins(ours), "baseline": msgspec.to_builtins(base)}
        dump.append(entry)

    for p in passes:
        title = "PNG" if p == "png" else f"JPEG q{JPEG_QUALITY}"
        print(f"\n{title}: recall as found/expected, precision P; style = (size, weight) found; "
              "base = truth/ours; shadow: hit|MISS tokens/distinct blurΔ, ok|FP")
        print(HEAD)
        print("-" * len(HEAD))
        for label, ours, base, truth, found in results[p]:
            print(row(label, ours, truth, found))
            if args.verbose:
                print(row("  baseline", base, truth, Found()))
                print(f"    truth: font {truth.font_expected} radius {truth.radius_expected} "
                      f"spacing {truth.spacing_expected} shadows {[s.css for s in truth.shadows]}")
                for line in detail("ours", ours):
                    print(line)
        print("-" * len(HEAD))
        print(mean_row("MEAN ours", [r[1] for r in results[p]]))
        print(mean_row("MEAN baseline", [r[2] for r in results[p]]))
        lh = [e for r in results[p] for e in (r[1].lh_err or [])]
        if lh:
            print(f"line height |ratio error|: mean {statistics.mean(lh):.3f} over {len(lh)} sizes")

    print("\nhardest pages (PNG; mean of the recalls it has: colour, font, radius, spacing, "
          "shadow detected):")
    hard = []
    for label, ours, *_rest in results["png"]:
        rs = [m.recall for m in (ours.colour, ours.font, ours.radius, ours.spacing)
              if m is not None and m.recall is not None]
        if ours.shadow is not None and ours.shadow.has:
            rs.append(float(ours.shadow.detected))
        if rs:
            hard.append((statistics.mean(rs), label))
    print("  " + ", ".join(f"{label} {v:.2f}" for v, label in sorted(hard)[:6]))
    print()
    for p in passes:
        for hidpi in (False, True):
            ts = [t for t, (label, *_r) in zip(times[p], results[p]) if label.endswith("@2x") == hidpi]
            if not ts:
                continue
            per = {n: statistics.median(t[n] for t in ts) for n in fns}
            total = statistics.median(sum(t.values()) for t in ts)
            print(f"median ms/image {p.upper():<4} {'2880x1800' if hidpi else '1440x900 '}: "
                  + "  ".join(f"{n} {v:.0f}" for n, v in per.items()) + f"  | all {total:.0f}")
    print(f"{len(shots)} screenshots of {len(names)} pages; render {t_render:.0f} s, "
          f"total {time.perf_counter() - t_start:.0f} s")
    for e in errors:
        print("ERROR", e)
    for name, why in skipped.items():
        print(f"note: extractor {name} skipped: {why}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(dump, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
