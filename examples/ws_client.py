"""A WebSocket client that knows only the README's contract (no stylestream imports).

    python examples/ws_client.py http://127.0.0.1:8080 screenshot.png [color,...]

Prints one line per message: the stage, then what it carries. Exit 0 on `complete`,
2 on `failed`.
"""

import asyncio
import json
import sys

import aiohttp


async def main(gateway: str, path: str, extractors: str | None) -> int:
    url = gateway.replace("http://", "ws://").replace("https://", "wss://").rstrip("/")
    url += "/v1/extract" + (f"?extractors={extractors}" if extractors else "")
    with open(path, "rb") as f:
        image = f.read()
    tokens: dict = {}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            await ws.send_bytes(image)          # one binary frame: the screenshot
            async for frame in ws:              # JSON text frames until the server closes
                message = json.loads(frame.data)
                stage, meta = message["stage"], message["metadata"]
                merge(tokens, message["tokens"])
                if stage == "accepted":
                    print(stage, meta["request_id"], ",".join(meta["extractors"]))
                elif stage in ("extractor_complete", "extractor_failed"):
                    print(stage, meta["extractor"], f'{meta["elapsed_ms"]:.1f}ms',
                          f'{meta["extractors_completed"]}/{meta["extractors_total"]}',
                          meta.get("error", {}).get("code", ""))
                elif stage == "complete":
                    print(stage, f'ttfr={meta["ttfr_ms"]}ms', "groups=" + ",".join(sorted(tokens)))
                    return 0
                elif stage == "failed":
                    print(stage, meta["error"]["code"], meta["error"]["message"])
                    return 2
                else:  # cv_complete / ai_complete in tier mode
                    print(stage, ",".join(sorted(message["tokens"])))
    return 2


def merge(into: dict, update: dict) -> None:
    """Clients deep-merge `tokens`."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)))
