"""Render a merged DTCG token document for humans and tools (CSS custom properties, flat JSON)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any


def iter_tokens(
    doc: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Yield (path, token) for every DTCG token (a dict with ``$value``), in document order."""
    for key, value in doc.items():
        if key.startswith("$") or not isinstance(value, dict):
            continue
        if "$value" in value:
            yield (*path, key), value
        else:
            yield from iter_tokens(value, (*path, key))


def css_value(token: dict[str, Any]) -> str | None:
    value = token["$value"]
    kind = token.get("$type")
    if kind == "color" and isinstance(value, dict):
        return value.get("hex")
    if kind == "dimension" and isinstance(value, dict):
        return f"{value['value']:g}{value['unit']}"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return None


def css_name(path: tuple[str, ...]) -> str:
    return "--" + "-".join(re.sub(r"[^a-zA-Z0-9_-]+", "-", p) for p in path)


def to_css(doc: dict[str, Any], selector: str = ":root") -> str:
    lines = [f"{selector} {{"]
    for path, token in iter_tokens(doc):
        value = css_value(token)
        if value is not None:
            lines.append(f"  {css_name(path)}: {value};")
    lines.append("}")
    return "\n".join(lines) + "\n"
