"""Host text (log lines, config values, command output) shown literally.

Nothing read from the host is ever parsed as markup, and control characters are made
visible (wizard.safe_text, shared with every report format), so a log line holding
"[bold]" or an escape sequence cannot restyle the screen.
"""

from __future__ import annotations

from rich.text import Text

from wizard.safe_text import printable


def visible(text: str) -> str:
    """Control characters as \\xNN, so they show instead of acting on the terminal."""
    return printable(text)


def literal(text: object, style: str = "") -> Text:
    """A rich Text that shows `text` exactly: no markup, no escapes."""
    return Text(visible(str(text)), style=style)
