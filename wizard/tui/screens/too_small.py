"""Shown instead of the wizard while the terminal is smaller than 80x24."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_SIZE = Size(80, 24)


def too_small_text(size: Size) -> Text:
    return Text(f"terminal too small: need {MIN_SIZE.width}x{MIN_SIZE.height}, "
                f"have {size.width}x{size.height}\n\nMake the window larger, "
                "or press q to quit.")


class TooSmallScreen(ModalScreen[None]):
    CSS_PATH = "too_small.tcss"
    BINDINGS = [
        Binding("escape", "dismiss", show=False),
        Binding("q", "app.request_quit", show=False),  # modal: the app's own q is hidden
    ]

    def compose(self) -> ComposeResult:
        yield Static(too_small_text(self.app.size), id="too-small")

    def show_size(self, size: Size) -> None:
        self.query_one("#too-small", Static).update(too_small_text(size))
