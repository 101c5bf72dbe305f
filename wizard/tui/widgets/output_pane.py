"""Command output in a pane that wraps long lines and scrolls with the keys.

Textual's Log cuts a line at the pane's edge; RichLog wraps, but only once, when a line
is written: this pane keeps what it was given and wraps it again when its width changes,
so a 300-character line stays whole at any size. Text is shown literally (no markup,
control characters as \\xNN)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import RichLog

from wizard.tui.plain import literal

# Shown in the footer while the pane has focus: these keys then scroll it (Home and End
# too; the footer has no room to list them at 80 columns).
SCROLL_KEYS = Binding("down", "scroll_down", "Scroll", key_display="Up/Dn PgUp/PgDn")


class OutputPane(RichLog):
    BINDINGS = [SCROLL_KEYS]

    def __init__(self, *, id: str, follow: bool = True) -> None:
        super().__init__(id=id, wrap=True, markup=False, highlight=False, min_width=1,
                         auto_scroll=False)
        self.follow = follow  # keep the newest line in sight while lines arrive
        self._texts: list[str] = []
        self._width = 0  # the width the lines were wrapped at

    def on_mount(self) -> None:
        if self.follow:
            # Textual's anchor: stay at the end as lines arrive or the pane shrinks, until
            # the person scrolls up to read; End (or scrolling down to the end) follows again.
            self.anchor()

    def add_line(self, line: str) -> None:
        self._texts.append(line)
        self.write(literal(line))

    @property
    def line_total(self) -> int:
        """Lines given (not the wrapped rows on screen)."""
        return len(self._texts)

    def on_resize(self, event: events.Resize) -> None:
        width, self._width = self._width, event.size.width
        if not self._size_known or width in (0, event.size.width):
            return  # RichLog writes the first lines itself once its size is known
        self.clear()
        for line in self._texts:
            self.write(literal(line))
