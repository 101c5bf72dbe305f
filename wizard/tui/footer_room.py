"""How many columns a screen's footer leaves for one key's words, so that a long fix title
is shortened after a whole word (fix_words.footer_label) instead of being cut mid-word by
the terminal's edge.

The widths follow Textual's Footer (textual/widgets/_footer.py): each key shown takes
' key ' and 'description ' (FooterKey's padding); one entry per action, the first key
bound to it; the command palette entry, docked right and compact, takes a border column,
the key, ' description' and one column of padding ('▏^p palette ')."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.binding import ActiveBinding
from textual.screen import Screen
from textual.widgets import Footer


def key_width(key_display: str, description: str) -> int:
    """Columns of one footer entry, as FooterKey renders it (not compact)."""
    words = cell_len(description) + 1 if description else 0
    return cell_len(key_display) + 2 + words


def _palette_width(screen: Screen[Any], bindings: dict[str, ActiveBinding]) -> int:
    app = screen.app
    footers = screen.query(Footer)
    shown = footers.first().show_command_palette if footers else True
    palette = bindings.get(app.COMMAND_PALETTE_BINDING)
    if not (shown and app.ENABLE_COMMAND_PALETTE and palette):
        return 0
    description = palette.binding.description
    return 2 + cell_len(app.get_key_display(palette.binding)) + (
        1 + cell_len(description) if description else 0)


def footer_room(screen: Screen[Any], bindings: dict[str, ActiveBinding], key: str) -> int:
    """Columns left for the description of `key` once every other entry of `bindings`
    (as Screen.active_bindings gives them) and the palette entry have their place."""
    app = screen.app
    taken = _palette_width(screen, bindings)
    actions: set[str] = set()
    for name, active in bindings.items():
        binding = active.binding
        if not binding.show or binding.action in actions:
            continue
        actions.add(binding.action)
        display = app.get_key_display(binding)
        taken += key_width(display, "") + 1 if name == key else key_width(
            display, binding.description)
    return max(0, app.size.width - taken)
