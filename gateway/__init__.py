"""The aiohttp edge (WebSocket, NDJSON, metrics, demo page) and the Python client."""
