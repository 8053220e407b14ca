"""Render a merged DTCG token document for tools: CSS custom properties and flat JSON.

Composite tokens are expanded: a shadow becomes one `box-shadow` value; a typography token
becomes one property per field (`--typography-body-font-size`, …) because the CSS `font`
shorthand would need a family we do not claim to know.
"""

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


def _color(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or "hex" not in value:
        return None
    alpha = value.get("alpha", 1.0)
    if alpha >= 1.0:
        return value["hex"]
    r, g, b = (round(c * 255) for c in value["components"])
    return f"rgba({r}, {g}, {b}, {alpha:g})"


def _dimension(value: Any) -> str | None:
    if isinstance(value, dict) and "value" in value:
        return f"{value['value']:g}{value.get('unit', 'px')}"
    if isinstance(value, (int, float)):
        return f"{value:g}px"
    return None


def _shadow(value: Any) -> str | None:
    layers = value if isinstance(value, list) else [value]
    parts = []
    for layer in layers:
        dims = [_dimension(layer.get(k)) for k in ("offsetX", "offsetY", "blur", "spread")]
        color = _color(layer.get("color"))
        if None in dims or color is None:
            return None
        parts.append(("inset " if layer.get("inset") else "") + " ".join(dims) + " " + color)  # type: ignore[arg-type]
    return ", ".join(parts)


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def flat_values(token: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """One token -> [(sub-path, css value)], sub-path empty unless the token is expanded."""
    kind, value = token.get("$type"), token["$value"]
    if kind == "color":
        out = _color(value)
    elif kind == "dimension":
        out = _dimension(value)
    elif kind == "shadow":
        out = _shadow(value)
    elif kind == "typography" and isinstance(value, dict):
        fields: list[tuple[tuple[str, ...], str]] = []
        for field, v in value.items():
            if field == "fontFamily":
                text = ", ".join(v) if isinstance(v, list) else str(v)
            elif isinstance(v, dict):
                text = _dimension(v) or ""
            else:
                text = f"{v:g}" if isinstance(v, (int, float)) else str(v)
            fields.append(((_kebab(field),), text))
        return fields
    elif isinstance(value, (int, float)):
        out = f"{value:g}"
    elif isinstance(value, str):
        out = value
    else:
        out = None
    return [((), out)] if out is not None else []


def css_name(path: tuple[str, ...]) -> str:
    return "--" + "-".join(re.sub(r"[^a-zA-Z0-9_-]+", "-", _kebab(p)) for p in path)


def to_css(doc: dict[str, Any], selector: str = ":root") -> str:
    lines = [f"{selector} {{"]
    for path, token in iter_tokens(doc):
        for sub, value in flat_values(token):
            lines.append(f"  {css_name(path + sub)}: {value};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_flat(doc: dict[str, Any]) -> dict[str, str]:
    """``{"color.primary": "#2563eb", "spacing.4": "16px", "typography.body.font-size": …}``."""
    return {".".join(path + sub): value
            for path, token in iter_tokens(doc) for sub, value in flat_values(token)}
