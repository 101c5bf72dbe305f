"""Asked only when quitting while a fix runs: leaving then cannot stop its command."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

QUESTION = ("A fix is still running. Quit anyway?\n"
            "The wizard closes when the running command ends; its output is kept in the "
            "transcript.\n\ny = quit, n or Escape = stay")


class ConfirmQuitScreen(ModalScreen[bool]):
    CSS_PATH = "confirm_quit.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(Text(QUESTION), classes="dialog")

    def action_answer(self, quit_: bool) -> None:
        self.dismiss(quit_)
