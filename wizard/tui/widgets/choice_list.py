"""The answers to an `ask` node: pick with a number key, or arrows and Enter."""

from __future__ import annotations

from rich.text import Text

from wizard.flow.model import Choice
from wizard.tui.css import sibling_css
from wizard.tui.plain import literal
from wizard.tui.widgets.marked_list import MarkedList


class ChoiceList(MarkedList):
    DEFAULT_CSS = sibling_css(__file__)

    def show_choices(self, choices: list[Choice], default: str | None = None) -> None:
        """The highlight starts on `default`, else on the first answer that names no
        cause: Enter pressed in a hurry must never add a cause nobody confirmed."""
        self.reset([Text.assemble(f"{n}. ", literal(c.label or c.key))
                    for n, c in enumerate(choices, 1)], [c.key for c in choices])
        keys = [c.key for c in choices]
        safe = default if default in keys else next((c.key for c in choices if not c.cause),
                                                   None)
        if safe is not None:
            self.highlighted = keys.index(safe)
