"""Host text (log lines, config values, command output) shown literally.

Nothing read from the host is ever parsed as markup, and control characters are made
visible, so a log line holding "[bold]" or an escape sequence cannot restyle the screen.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls except tab and newline, DEL, and the C1 range (8-bit CSI and friends).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """Control characters as \\xNN, so they show instead of acting on the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def literal(text: object, style: str = "") -> Text:
    """A rich Text that shows `text` exactly: no markup, no escapes."""
    return Text(visible(str(text)), style=style)
