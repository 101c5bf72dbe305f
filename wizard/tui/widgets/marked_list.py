"""An OptionList that marks the highlighted line with '>' as well as with colour, because
NO_COLOR and the Linux console drop the highlight colour. Prompts are never markup."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from wizard.tui.glyphs import SELECTED


class MarkedList(OptionList):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(markup=False, **kwargs)  # type: ignore[arg-type]
        self._rows: list[Text] = []
        self._marked: int | None = None  # the line that carries the '>' now

    def sync(self, rows: list[Text], ids: list[str] | None = None) -> None:
        """Show exactly these rows, changing only the lines that differ (keeps the highlight).

        Idempotent: the list is compared with the options it really holds, not with what an
        earlier call meant to show, so calls arriving back to back (keys pressed faster than
        the screen redraws) can never add a row twice."""
        old = self._rows
        self._rows = list(rows)
        for index, text in enumerate(self._rows):
            if index >= self.option_count:
                self.add_option(Option(self._prompt(index), id=ids[index] if ids else None))
            elif index >= len(old) or text != old[index]:
                self.replace_option_prompt_at_index(index, self._prompt(index))
        while self.option_count > len(self._rows):
            self.remove_option_at_index(self.option_count - 1)

    def reset(self, rows: list[Text], ids: list[str] | None = None) -> None:
        self._rows = []
        self._marked = None
        self.clear_options()
        self.sync(rows, ids)
        self.highlighted = 0 if rows else None

    def _prompt(self, index: int) -> Text:
        mark = SELECTED if index == self.highlighted else " "
        return Text.assemble(mark, " ", self._rows[index])

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        for index in (self._marked, highlighted):
            if index is not None and index < min(len(self._rows), self.option_count):
                self.replace_option_prompt_at_index(index, self._prompt(index))
        self._marked = highlighted
