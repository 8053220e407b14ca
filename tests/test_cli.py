"""The CLI as a user runs it: a real process against the running stack (and an embedded one)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from stylestream.services.stack import Stack

from .conftest import PLUGIN, ROOT


async def run_cli(*args: str, timeout: float = 45.0) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STYLESTREAM_PLUGINS": PLUGIN}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stylestream.cli", *args, env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
def shot(tmp_path: Path, screenshot_png: bytes) -> Path:
    path = tmp_path / "shot.png"
    path.write_bytes(screenshot_png)
    return path


async def test_json_format_prints_only_messages(stack: Stack, shot: Path) -> None:
    code, out, err = await run_cli("extract", str(shot), "--gateway", stack.url,
                                   "--extractors", "color,fast", "--format", "json")
    assert code == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert docs[0]["stage"] == "accepted" and docs[-1]["stage"] == "complete"
    assert {d["metadata"].get("extractor") for d in docs[1:-1]} == {"color", "fast"}


async def test_dtcg_format_prints_the_merged_document(stack: Stack, shot: Path) -> None:
    ws_url = stack.url.replace("http://", "ws://")  # ws:// works too
    code, out, err = await run_cli("extract", str(shot), "--gateway", ws_url,
                                   "--extractors", "color", "--format", "dtcg")
    assert code == 0, err
    doc = json.loads(out)
    palette = doc["color"]["palette"]
    assert all(t["$type"] == "color" and t["$value"]["colorSpace"] == "srgb"
               for t in palette.values())
    assert "#2563eb" in {t["$value"]["hex"] for t in palette.values()}


async def test_css_format(stack: Stack, shot: Path) -> None:
    code, out, err = await run_cli("extract", str(shot), "--gateway", stack.url,
                                   "--extractors", "color", "--format", "css")
    assert code == 0, err
    assert out.startswith(":root {") and out.rstrip().endswith("}")
    assert "--color-palette-" in out and ": #2563eb;" in out


async def test_timeline_shows_progress_and_ttfr(stack: Stack, shot: Path) -> None:
    code, out, err = await run_cli("extract", str(shot), "--gateway", stack.url,
                                   "--extractors", "fast,slow", "--format", "timeline")
    assert code == 0, err
    assert "1/2" in out and "2/2" in out
    assert out.index(" fast ") < out.index(" slow ")
    assert "time to first result:" in out


async def test_exit_codes(stack: Stack, shot: Path, tmp_path: Path) -> None:
    code, out, _ = await run_cli("extract", str(shot), "--gateway", stack.url,
                                 "--extractors", "fast,boom", "--format", "json")
    assert code == 1
    assert json.loads(out.splitlines()[-1])["metadata"]["failed"] == ["boom"]
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"definitely not a png")
    code, out, err = await run_cli("extract", str(junk), "--gateway", stack.url, "--format", "dtcg")
    assert code == 2 and out == "" and "INVALID_IMAGE" in err
    code, _, err = await run_cli("extract", str(tmp_path / "missing.png"), "--gateway", stack.url)
    assert code == 2 and "cannot read" in err


async def test_extract_without_gateway_starts_an_embedded_stack(shot: Path) -> None:
    code, out, err = await run_cli("extract", str(shot), "--extractors", "color", "--format", "dtcg")
    assert code == 0, err
    assert "#2563eb" in out
    assert "embedded stack" in err  # progress goes to stderr, not into the document


async def test_tail_prints_bus_traffic_readably(stack: Stack, shot: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stylestream.cli", "tail", "--nats", stack.nats_url,
        "--count", "3", env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None and proc.stdout is not None
    line = await asyncio.wait_for(proc.stderr.readline(), 30)
    assert b"listening on" in line  # subscribed and flushed: nothing can be missed now
    from .support.wire import collect

    msgs = await collect(stack.url, shot.read_bytes(), extractors=["fast"])
    out = (await asyncio.wait_for(proc.stdout.read(), 30)).decode().splitlines()
    assert await proc.wait() == 0
    rid = msgs[0].metadata.request_id
    assert out[0].startswith(f"style.images.{rid}  image event: request={rid} mode=atomic "
                             "extractors=fast png")
    subject, doc = out[1].split("  ", 1)
    assert subject == f"style.results.{rid}.fast" and json.loads(doc)["ok"] is True
    assert out[2].startswith(f"style.results.{rid}._request  ")


async def test_cli_processes_compute_on_one_thread_unless_told() -> None:
    """Workers scale by processes: the CLI pins numpy/BLAS/OpenCV to one thread before they
    load; a value the user set wins."""
    probe = ("import stylestream.cli, os, cv2; "
             "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'], cv2.getNumThreads())")
    base = {k: v for k, v in os.environ.items() if k not in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")}
    for extra, want in (({}, "1 1 1"), ({"OPENBLAS_NUM_THREADS": "3"}, "3 1 1")):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", probe, env={**base, "PYTHONPATH": str(ROOT), **extra},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert out.decode().split() == want.split()
