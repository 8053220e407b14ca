"""stylestream command line: serve | gateway | worker | tail | extract.

Machine formats (json, dtcg, css) print only that document on stdout; progress and logs go
to stderr. `extract` exit codes: 0 all extractors done, 1 some failed, 2 the request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import stylestream.threads  # noqa: F401  (first: pins compute threads before numpy/OpenCV load)
from stylestream import __version__
from stylestream.config import DEFAULT_HOST, DEFAULT_PORT, ENV_HELP, Settings
from stylestream.extractors import CATALOG, group_members, load_plugins

log = logging.getLogger("stylestream")

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2
FORMATS = ("timeline", "json", "dtcg", "css", "flat")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stylestream",
        description="Design tokens from UI screenshots, streamed as each extractor finishes.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"stylestream {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE to register extra extractors (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="embedded nats-server + gateway + one process per extractor")
    serve.add_argument("--host", default=None, help=f"bind address (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=None, help=f"gateway port (default {DEFAULT_PORT})")
    serve.add_argument("--nats", default=None, metavar="URL",
                       help="use this NATS server instead of starting an embedded one")
    serve.add_argument("--data-dir", default=None, help="JetStream store of the embedded server "
                       "(default: a temporary folder)")
    serve.add_argument("--concurrency", type=int, default=None, help="messages in flight per worker")

    gw = sub.add_parser("gateway", help="run the gateway alone")
    gw.add_argument("--nats", default=None, metavar="URL", help="NATS server URL (or NATS_URL)")
    gw.add_argument("--host", default=None)
    gw.add_argument("--port", type=int, default=None)

    wk = sub.add_parser("worker", help="run extractor workers (replicas share the load)")
    wk.add_argument("names", nargs="+", metavar="NAME",
                    help="extractors to serve, or a group: `models` (depth + style)")
    wk.add_argument("--nats", default=None, metavar="URL", help="NATS server URL (or NATS_URL)")
    wk.add_argument("--concurrency", type=int, default=None, help="messages in flight per extractor")
    wk.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                    help="serve Prometheus /metrics on PORT (0: any free port; default: off, "
                    "or STYLESTREAM_WORKER_METRICS_PORT)")
    wk.add_argument("--metrics-host", default="127.0.0.1", help="bind address for /metrics")

    tl = sub.add_parser("tail", help="print bus traffic readably, like `nats sub`")
    tl.add_argument("subject", nargs="?", default="style.>",
                    help="subject to watch (default style.>; e.g. 'style.results.>')")
    tl.add_argument("--nats", default=None, metavar="URL", help="NATS server URL (or NATS_URL)")
    tl.add_argument("--count", type=int, default=None, help="stop after N messages")

    ex = sub.add_parser("extract", help="extract tokens from one screenshot")
    ex.add_argument("image", type=Path, help="PNG, JPEG or WebP file")
    ex.add_argument("--gateway", default=None, metavar="URL",
                    help="gateway base URL, e.g. http://127.0.0.1:8080 (default: start an "
                    "embedded stack for this call)")
    ex.add_argument("--extractors", default=None, help="comma-separated (default: all)")
    ex.add_argument("--mode", choices=("atomic", "tier"), default=None)
    ex.add_argument("--scale", type=float, default=None, help="device pixel ratio if known")
    ex.add_argument("--budget", type=float, default=None, metavar="USD",
                    help="most this request may spend on paid extractors (LLM naming)")
    ex.add_argument("--format", choices=FORMATS, default=None,
                    help="timeline (default on a terminal) | json (messages, NDJSON) | dtcg | css | "
                    "flat (JSON {token.path: css value} for code)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"stylestream: {exc}", file=sys.stderr)
        return EXIT_FAILED
    plugins = tuple(dict.fromkeys((*settings.plugins, *args.plugin)))
    settings = dataclasses.replace(settings, plugins=plugins)
    load_plugins(plugins)
    handler = {"serve": cmd_serve, "gateway": cmd_gateway, "worker": cmd_worker,
               "tail": cmd_tail, "extract": cmd_extract}[args.command]
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


def _override(settings: Settings, **values: Any) -> Settings:
    return dataclasses.replace(settings, **{k: v for k, v in values.items() if v is not None})


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# --- serve / gateway / worker -------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from stylestream.services.stack import Stack, StackError

    settings = _override(settings, host=args.host, port=args.port, nats_url=args.nats)

    async def run() -> int:
        stack = Stack(settings, embedded_nats=args.nats is None, data_dir=args.data_dir,
                      concurrency=args.concurrency)
        try:
            await stack.start()
        except (StackError, OSError) as exc:
            print(f"stylestream: could not start: {exc}", file=sys.stderr)
            return EXIT_FAILED
        try:
            print(f"stylestream serving on {stack.url}  (nats {stack.nats_url}; "
                  f"extractors: {', '.join(stack.workers)})  Ctrl-C stops", file=sys.stderr)
            await _until_signalled()
            print("stylestream: stopping", file=sys.stderr)
        finally:
            await stack.stop()
        return EXIT_OK

    return asyncio.run(run())


def cmd_gateway(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from stylestream.gateway.app import create_app

    settings = _override(settings, host=args.host, port=args.port, nats_url=args.nats)
    web.run_app(create_app(settings), host=settings.host, port=settings.port,
                print=lambda msg: print(msg, file=sys.stderr), access_log=None)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from stylestream.services.worker import run_workers

    names = [member for name in args.names for member in group_members(name)]
    unknown = [n for n in args.names if not group_members(n)]
    if unknown:
        groups = sorted({s.group for s in CATALOG.values() if s.group})
        print(f"stylestream: unknown extractor(s) {unknown}; known: {list(CATALOG)}"
              f" and groups {groups}", file=sys.stderr)
        return EXIT_FAILED
    settings = _override(settings, nats_url=args.nats)
    concurrency = args.concurrency or settings.worker_concurrency

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        port = args.metrics_port if args.metrics_port is not None else settings.worker_metrics_port
        await run_workers(names, settings, concurrency=concurrency, stop=stop,
                          metrics_port=port, metrics_host=args.metrics_host)

    asyncio.run(run())
    return EXIT_OK


def cmd_tail(args: argparse.Namespace, settings: Settings) -> int:
    from stylestream.services.tail import tail

    settings = _override(settings, nats_url=args.nats)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await tail(settings, args.subject, count=args.count, stop=stop)

    asyncio.run(run())
    return EXIT_OK


# --- extract -------------------------------------------------------------------------------------

def cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    fmt = args.format or ("timeline" if sys.stdout.isatty() else "json")
    try:
        image = args.image.read_bytes()
    except OSError as exc:
        print(f"stylestream: cannot read {args.image}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    extractors = [n.strip() for n in args.extractors.split(",")] if args.extractors else None
    return asyncio.run(_extract(args, settings, image, extractors, fmt))


async def _extract(args: argparse.Namespace, settings: Settings, image: bytes,
                   extractors: list[str] | None, fmt: str) -> int:
    from stylestream.gateway.client import GatewayError, stream_extraction
    from stylestream.services.stack import Stack, StackError

    stack: Stack | None = None
    gateway = args.gateway
    if gateway is None:
        print("stylestream: starting an embedded stack (use --gateway URL to reuse one)",
              file=sys.stderr)
        stack = Stack(_override(settings, port=0), workers=extractors)
        try:
            await stack.start()
        except (StackError, OSError) as exc:
            print(f"stylestream: could not start the embedded stack: {exc}", file=sys.stderr)
            return EXIT_FAILED
        gateway = stack.url
    view = Timeline() if fmt == "timeline" else None
    final = None
    try:
        async for message in stream_extraction(gateway, image, extractors=extractors,
                                               mode=args.mode, scale=args.scale,
                                               budget_usd=args.budget):
            if fmt == "json":
                print(json.dumps(_builtins(message)), flush=True)
            elif view is not None:
                view.update(message)
            final = message
    except (GatewayError, ValueError) as exc:
        print(f"stylestream: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if stack is not None:
            await stack.stop()
    assert final is not None
    if final.stage == "failed":
        err = final.metadata.error
        print(f"stylestream: request failed: {err.code if err else '?'}: "
              f"{err.message if err else ''}", file=sys.stderr)
        return EXIT_FAILED
    if fmt == "dtcg":
        print(json.dumps(final.tokens, indent=2))
    elif fmt == "css":
        from stylestream.gateway.formats import to_css

        sys.stdout.write(to_css(final.tokens))
    elif fmt == "flat":
        from stylestream.gateway.formats import to_flat

        print(json.dumps(to_flat(final.tokens), indent=2))
    failed = final.metadata.failed or []
    if failed and fmt in ("dtcg", "css", "flat"):
        print(f"stylestream: failed extractors: {', '.join(failed)}", file=sys.stderr)
    return EXIT_PARTIAL if failed else EXIT_OK


def _builtins(message: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(message)


class Timeline:
    """Human view: a progress bar as each extractor lands, then the timeline and TTFR."""

    BAR = 24

    def __init__(self, out: Any = None) -> None:
        self.out = out or sys.stdout
        self.rows: list[tuple[float, str, str]] = []

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def update(self, message: Any) -> None:
        md = message.metadata
        if message.stage == "accepted":
            self._print(f"accepted  {md.request_id}  mode={md.mode}  "
                        f"extractors: {', '.join(md.extractors or [])}")
            for name, error in (md.unavailable or {}).items():
                self._print(f"  unavailable: {name}: {error.code}: {error.message}")
            return
        if message.stage in ("extractor_complete", "extractor_failed", "cv_complete", "ai_complete"):
            done, total = md.extractors_completed or 0, md.extractors_total or 1
            filled = round(self.BAR * done / total)
            label = md.extractor or message.stage
            mark = "ok " if message.stage != "extractor_failed" else "ERR"
            detail = f"  {md.error.code}: {md.error.message}" if md.error else ""
            if md.errors:
                detail = "  " + ", ".join(f"{k}: {v.code}" for k, v in md.errors.items())
            self._print(f"[{'#' * filled}{'.' * (self.BAR - filled)}] {done}/{total} "
                        f"{mark} {label:<12} {md.elapsed_ms:8.1f} ms{detail}")
            self.rows.append((md.elapsed_ms or 0.0, label, mark.strip()))
            return
        if message.stage == "complete":
            self._print("\ntimeline")
            scale = max((r[0] for r in self.rows), default=1.0) or 1.0
            for elapsed, label, mark in self.rows:
                bar = "=" * max(1, round(40 * elapsed / scale))
                self._print(f"  {label:<12} {bar} {elapsed:.1f} ms {'' if mark == 'ok' else mark}")
            ttfr = f"{md.ttfr_ms:.1f} ms" if md.ttfr_ms is not None else "n/a"
            self._print(f"\ntime to first result: {ttfr}   total: {md.total_ms:.1f} ms   "
                        f"cost: ${md.total_cost or 0:.4f}")
            return
        if message.stage == "failed" and md.error:
            self._print(f"failed: {md.error.code}: {md.error.message}")


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
