"""Every key of the wizard, and what the step marks mean."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from wizard.tui.glyphs import ASKING, PENDING, SPINNER, STATUS_GLYPH, STATUS_WORD

KEYS = [
    ("f, 1-9", "fix a cause on the answer or summary (commands first)"),
    ("a", "the answer; on it, a question that may change it"),
    ("Enter, space", "show the next step; at the end, the summary"),
    ("up/down, j/k", "move through the steps shown so far"),
    ("Tab", "steps <-> details (the arrows then scroll)"),
    ("1-9", "answer a question; or the arrows and Enter"),
    ("r", "run the selected step's check again"),
    ("v", "show or hide the evidence"),
    ("f", "fix the selected step (commands shown first)"),
    ("y / n", "on the fix screen: run it / do not"),
    ("s, e", "summary; on it, e writes the Markdown report"),
    ("x", "on the summary: copy it to your clipboard"),
    ("w", "every command the wizard ran, with its output"),
    ("Escape, c", "cancel a check, close a screen, go to the newest step"),
    ("ctrl+p", "command palette: every action by name"),
    ("q", "quit and save the transcript (asks during a fix)"),
]


def help_text() -> Text:
    lines = [Text("Keys", style="bold")]
    lines += [Text.assemble((f"  {key:<14}", "bold"), what) for key, what in KEYS]
    marks = [f"{STATUS_GLYPH[s]} {STATUS_WORD[s].lower()}" for s in STATUS_GLYPH]
    marks += [f"{PENDING} not run yet", f"{ASKING} waits for your answer",
              f"{SPINNER[0]} running"]
    lines += [Text(""), Text.assemble(("Marks: ", "bold"), "  ".join(marks)), Text(""),
              Text("Escape or ? closes this help.", style="italic")]
    return Text("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,question_mark", "dismiss", "Close", key_display="Esc"),
        Binding("q", "app.request_quit", "Quit"),  # modal: the app's own q is hidden
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(help_text())

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = "Help"
