"""The first screen, up while the flow and its checks load behind it (tui/opening.py):
the wizard's name and what it is doing, so the terminal answers at once. The walk screen
goes over it once the session is made, a fraction of a second later."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from wizard import TOOL_NAME, __version__

READING = "Reading the flow and getting its checks ready..."


class OpeningScreen(Screen[None]):
    CSS_PATH = "opening.tcss"

    def compose(self) -> ComposeResult:
        yield Static(f"{TOOL_NAME} {__version__}", id="title-bar", markup=False)
        yield Static(READING, id="reading", markup=False)
        # Only q works until the session is made (WizardApp.check_action): no palette yet.
        yield Footer(show_command_palette=False)
