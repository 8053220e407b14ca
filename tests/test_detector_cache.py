"""The per-process memo of the shared detectors (``find_text_lines``, ``find_boxes``),
on inside ``shared_detections()`` only."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from stylestream.extractors import layout, text
from stylestream.extractors.layout import find_boxes
from stylestream.extractors.text import MEMO_SIZE, clear_memo, find_text_lines, shared_detections


def page(shift: int = 0) -> np.ndarray:
    """A light page with two bordered cards holding a title and a line of text."""
    im = Image.new("RGB", (4 * 480, 4 * 320), "#f3f4f6")
    d = ImageDraw.Draw(im)
    for i in range(2):
        x0 = 4 * (24 + shift + 220 * i)
        d.rounded_rectangle([x0, 96, x0 + 4 * 200, 96 + 4 * 140], radius=40, fill="#ffffff",
                            outline="#d1d5db", width=4)
    small = im.resize((480, 320), Image.BOX)
    d = ImageDraw.Draw(small)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 15)
    except OSError:
        font = ImageFont.load_default()
    for i in range(2):
        d.text((40 + shift + 220 * i, 44), "Revenue today", fill="#111827", font=font)
        d.text((40 + shift + 220 * i, 80), "Orders shipped 1,204", fill="#4b5563", font=font)
    return np.array(small)


@pytest.fixture
def shared():
    clear_memo()
    with shared_detections():
        yield
    clear_memo()


def test_off_outside_the_block() -> None:
    clear_memo()
    image = page()
    lines = find_text_lines(image)
    assert find_boxes(image) == layout._find_boxes(image, False, tuple(lines))
    assert len(text._MEMO) == 0 and len(layout._MEMO) == 0
    with shared_detections():
        assert find_text_lines(image) == lines
        assert len(text._MEMO) == 1
    find_text_lines(page(4))
    assert len(text._MEMO) == 1  # the block is over: nothing more is kept
    clear_memo()


def test_hits_are_the_uncached_results(shared) -> None:
    image = page()
    lines = find_text_lines(image)
    boxes = find_boxes(image)
    assert lines and boxes
    assert lines == text._find_text_lines(image)
    assert boxes == layout._find_boxes(image, False, tuple(lines))
    # a hit: equal results, the same frozen objects, in a new list each time
    again = find_text_lines(image)
    assert again == lines and again is not lines and all(a is b for a, b in zip(again, lines))
    # callers may change their list; the memo does not see it
    again.clear()
    assert find_text_lines(image) == lines
    assert find_boxes(image, lossy=False, text_lines=lines) == boxes
    assert find_boxes(np.array(image)) == boxes  # a copy of the pixels hits too


def test_one_computation_per_image(shared, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"lines": 0, "boxes": 0}
    real_lines, real_boxes = text._find_text_lines, layout._find_boxes

    def count_lines(image):
        calls["lines"] += 1
        return real_lines(image)

    def count_boxes(image, lossy, lines):
        calls["boxes"] += 1
        return real_boxes(image, lossy, lines)

    monkeypatch.setattr(text, "_find_text_lines", count_lines)
    monkeypatch.setattr(layout, "_find_boxes", count_boxes)
    image = page()
    lines = find_text_lines(image)
    find_boxes(image)                                    # radius, shadow
    find_boxes(image, lossy=False, text_lines=lines)     # spacing, colour on a PNG
    find_boxes(image, lossy=None, text_lines=list(lines))
    assert calls == {"lines": 1, "boxes": 1}
    # other arguments are other results
    find_boxes(image, lossy=True)
    find_boxes(image, text_lines=lines[:1])
    assert calls == {"lines": 1, "boxes": 3}


def test_a_changed_image_misses(shared) -> None:
    image = page()
    lines = find_text_lines(image)
    boxes = find_boxes(image)
    moved = page(shift=6)
    assert find_text_lines(moved) == text._find_text_lines(moved) != lines
    assert find_boxes(moved) != boxes
    # one pixel is enough (the same memory changed in place, too)
    image[200, 100] = (255, 0, 0)
    assert find_boxes(image) == layout._find_boxes(image, False, tuple(find_text_lines(image)))
    assert find_text_lines(image[:, :-1]) == text._find_text_lines(np.ascontiguousarray(image[:, :-1]))


def test_bounded(shared) -> None:
    for shift in range(MEMO_SIZE + 3):
        image = page(shift)
        find_boxes(image)
        assert len(text._MEMO) <= MEMO_SIZE and len(layout._MEMO) <= MEMO_SIZE
    assert len(text._MEMO) == MEMO_SIZE and len(layout._MEMO) == MEMO_SIZE


def test_threads_agree(shared) -> None:
    images = [page(0), page(4), page(0), page(8)] * 3
    expect = {i: layout._find_boxes(im, False, tuple(text._find_text_lines(im)))
              for i, im in enumerate(images[:4])}
    with ThreadPoolExecutor(4) as pool:
        # each call runs in a copy of this context (taken here, inside the block)
        futures = [pool.submit(contextvars.copy_context().run, find_boxes, im) for im in images]
        got = [f.result() for f in futures]
    for i, boxes in enumerate(got):
        assert boxes == expect[i % 4]
    assert 1 <= len(layout._MEMO) <= MEMO_SIZE
