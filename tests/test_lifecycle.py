"""Process lifecycle: `serve` comes up and Ctrl-C leaves nothing behind; a lost bus is a typed error."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from stylestream.config import Settings
from stylestream.gateway.app import create_app
from stylestream.schemas import decode_message
from stylestream.services.embedded import EmbeddedNats

from .conftest import ROOT


def children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_serve_starts_serves_and_ctrl_c_leaves_no_process(tmp_path: Path,
                                                                screenshot_png: bytes) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stylestream.cli", "serve", "--port", "0",
        "--data-dir", str(tmp_path / "js"),
        stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stderr is not None
    url = None
    while url is None:
        line = (await asyncio.wait_for(proc.stderr.readline(), 45)).decode()
        assert line, "serve exited before it was ready"
        if m := re.search(r"serving on (http://\S+)", line):
            url = m.group(1)
    drain = asyncio.create_task(proc.stderr.read())
    try:
        children = children_of(proc.pid)
        assert len(children) >= 2  # nats-server + the color worker
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/readyz") as resp:
                assert resp.status == 200
            async with session.post(f"{url}/v1/extractions?extractors=color",
                                    data=screenshot_png) as resp:
                stages = [decode_message(line).stage async for line in resp.content if line.strip()]
        assert stages == ["accepted", "extractor_complete", "complete"]
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await drain
    assert not [pid for pid in children if alive(pid)]


async def test_lost_bus_gives_bus_unavailable(screenshot_png: bytes, tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    url = server.start()
    settings = dataclasses.replace(Settings(), nats_url=url)
    runner = web.AppRunner(create_app(settings), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        server.stop()  # the bus goes away under a running gateway
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://{host}:{port}/v1/extractions?extractors=color",
                                    data=screenshot_png) as resp:
                assert resp.status == 503
                message = decode_message((await resp.read()).strip())
            async with session.get(f"http://{host}:{port}/readyz") as resp:
                assert resp.status == 503
                assert (await resp.json())["nats_connected"] is False
    finally:
        await runner.cleanup()
    assert message.stage == "failed" and message.metadata.error.code == "BUS_UNAVAILABLE"


async def test_gateway_runs_alone_against_running_workers(stack, screenshot_png: bytes) -> None:
    """`stylestream gateway --nats URL` (what docker compose runs) serves the existing workers."""
    env = {k: v for k, v in os.environ.items() if k != "STYLESTREAM_PLUGINS"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stylestream.cli", "gateway", "--nats", stack.nats_url, "--port", "0",
        stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )
    assert proc.stderr is not None
    try:
        url = None
        while url is None:
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            assert line, "gateway exited early"
            if m := re.search(r"Running on (http://\S+)", line):
                url = m.group(1)
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/v1/extractions?extractors=color",
                                    data=screenshot_png) as resp:
                stages = [decode_message(line).stage async for line in resp.content if line.strip()]
        # liveness is polled once before the gateway listens, so the idle worker counts
        assert stages == ["accepted", "extractor_complete", "complete"]
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 15) == 0
