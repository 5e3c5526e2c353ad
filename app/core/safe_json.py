"""JSON from outside (uploaded schemes, API bodies) parsed without surprises.

Python's json module accepts NaN, Infinity and -Infinity (not JSON at all) and numbers such
as 1e999 that become infinite floats; it raises RecursionError (not ValueError) on input
nested a few thousand levels deep, which escaped as a 500. Here every one of those is a
ValueError with a Chinese message, and the depth is checked before the parser recurses.
"""

from __future__ import annotations

import json
import math
import re

MAX_DEPTH = 64  # a scheme is 4 levels deep, the API's bodies 3; nothing legitimate comes near
# A string (to its closing quote, or to the end when it has none: one pass, never a rescan)
# or a bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


class JsonRefused(ValueError):
    """Input that is not plain, finite, reasonably nested JSON; the message is Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def nesting_depth(text: str, limit: int | None = None) -> int:
    """The deepest nesting of arrays and objects in `text` (brackets inside strings do not
    count); stops counting once `limit` is passed."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if limit is not None and deepest > limit:
                    return deepest
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str):
    raise JsonRefused(f"JSON 中不能出现 {name}（不是有效的数值）")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"JSON 中的数值 {text[:20]} 超出范围")
    return value


def loads(data: str | bytes, max_depth: int = MAX_DEPTH):
    """Parse JSON text (bytes are UTF-8, a BOM allowed); raise ValueError (JsonRefused for
    the cases above, json's own JSONDecodeError for bad syntax, UnicodeDecodeError)."""
    text = data.decode("utf-8-sig") if isinstance(data, (bytes, bytearray)) else data
    if nesting_depth(text, max_depth) > max_depth:
        raise JsonRefused(f"JSON 嵌套层数过深（最多 {max_depth} 层）")
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def non_finite_paths(value, path: str = "") -> list[str]:
    """The paths (e.g. dimensions[0].weight) of the NaN or infinite floats inside `value`."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path or "（根）"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in non_finite_paths(v, f"{path}[{i}]")]
    return []
