"""The README's examples run against the real stack, so they cannot rot."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from stylestream.services.stack import Stack

from .conftest import ROOT


async def run_example(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "examples" / "ws_client.py"), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode()


async def test_outside_client_gets_accepted_color_complete(stack: Stack, tmp_path: Path,
                                                           screenshot_png: bytes) -> None:
    shot = tmp_path / "shot.png"
    shot.write_bytes(screenshot_png)
    code, out = await run_example(stack.url, str(shot), "color")
    assert code == 0, out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["accepted", "extractor_complete", "complete"]
    assert lines[1].split()[1] == "color"
    assert "groups=color" in lines[2]


async def test_outside_client_gets_failed_for_random_bytes_and_server_survives(
    stack: Stack, tmp_path: Path, screenshot_png: bytes, random_bytes: bytes
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(random_bytes)
    code, out = await run_example(stack.url, str(junk))
    assert code == 2 and out.startswith("failed INVALID_IMAGE"), out
    shot = tmp_path / "shot.png"
    shot.write_bytes(screenshot_png)
    code, out = await run_example(stack.url, str(shot), "color")
    assert code == 0 and out.splitlines()[-1].startswith("complete"), out


def test_readme_names_the_contract() -> None:
    readme = (ROOT / "README.md").read_text()
    for needle in ("make run", "make test", "/v1/extract", "style.results.<request_id>.<extractor>",
                   "STYLE_IMAGES", "ex-<extractor>", "ATOMIC_STREAMING_ENABLED",
                   "examples/ws_client.py", "stylestream extract"):
        assert needle in readme, needle
