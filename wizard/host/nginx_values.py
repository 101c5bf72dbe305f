"""nginx's own value syntax: sizes ("4k", "1m") and times ("60s", "1m30s", "500ms").

Rules follow nginx's ngx_parse_size / ngx_parse_time: a size is a number with an optional
k/K or m/M (g/G for offsets); a time is one or more number+unit parts, a bare number means
seconds. Invalid text gives None, because nginx -t would reject it and says why itself.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"^(\d+)([kKmMgG]?)$")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024, "g": 1024 * 1024 * 1024}

_TIME_PART = re.compile(r"\s*(\d+)(ms|[smhdwMy]?)\s*")
_TIME_UNITS = {
    "ms": 0.001, "": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
    "M": 30 * 86400, "y": 365 * 86400,
}


def parse_size(text: str) -> int | None:
    """'4k' -> 4096 bytes; None when nginx would not accept the value."""
    m = _SIZE.match(text.strip())
    if not m:
        return None
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def parse_time(text: str) -> float | None:
    """'1m30s' -> 90.0 seconds; '500ms' -> 0.5; None when nginx would not accept it."""
    text = text.strip()
    if not text:
        return None
    total = 0.0
    pos = 0
    seen_units: set[str] = set()
    while pos < len(text):
        m = _TIME_PART.match(text, pos)
        if not m or m.end() == pos:
            return None
        unit = m.group(2)
        # A bare number is only valid as the whole value or the last part ("1m30").
        if unit == "" and m.end() != len(text):
            return None
        if unit in seen_units:
            return None
        seen_units.add(unit)
        total += int(m.group(1)) * _TIME_UNITS[unit]
        pos = m.end()
    return total
