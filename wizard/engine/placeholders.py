"""Filling `{placeholders}` in flow text from a check's variables."""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def fill(template: str, variables: dict[str, Any]) -> str:
    """Replace {name} with its value; unknown names stay as written, so a missing fact
    shows up plainly instead of raising. Values are inserted once, never re-expanded."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            return match.group(0)
        item = variables[name]
        if isinstance(item, (list, tuple)):
            return ", ".join(str(x) for x in item)
        return str(item)

    return _PLACEHOLDER.sub(value, template)


def unresolved(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)
