"""Commands run (key w): every command the wizard ran for this session, oldest first,
each with what it was for, its exit code, how long it took and its output.

A junior admin learns the manual steps from it; a senior checks them. The list comes
from the engine (engine/commands_run.py): the TUI runs nothing itself. Command lines and
output are host text, shown literally; long lines wrap, and the keys scroll."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from wizard.engine.commands_run import CommandRun, replayed, session_commands
from wizard.tui.plain import literal

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp

OUTPUT_LINES = 20  # per command on screen; `sessions export` keeps the rest
REFRESH_SECONDS = 1.0  # commands keep coming while the checks run ahead


class CommandsList(VerticalScroll):
    """The list; it takes the scrolling keys, and the footer names them."""

    BINDINGS = [Binding("down", "scroll_down", "Scroll", key_display="Up/Dn PgUp/PgDn")]


def intro_text(runs: list[CommandRun], from_snapshot: bool) -> Text:
    if from_snapshot and not runs:
        return Text("The facts come from a snapshot that kept no commands (it was saved "
                    "by an older version), and nothing ran on this host.")
    if from_snapshot:
        where = ("The facts come from a snapshot: these commands read the host when it "
                 "was recorded, not now.")
    else:
        where = "Reading the host changes nothing; a fix's commands may change it."
    count = f"{len(runs)} command{'' if len(runs) == 1 else 's'}, oldest first. "
    return Text.assemble((count, "bold"), where)


def run_text(run: CommandRun) -> Text:
    """One command: its line, what it was for and how it ended, then its output."""
    lines = [Text.assemble(("$ ", "bold"), literal(run.command_line, "bold")),
             literal(f"  {run.part} - {run.outcome} - {run.took}", "italic")]
    output = run.output.splitlines()
    lines += [literal(f"  {line}") for line in output[:OUTPUT_LINES]]
    if len(output) > OUTPUT_LINES:
        lines.append(Text(f"  ... {len(output) - OUTPUT_LINES} more lines (sessions export "
                          "has them all)", style="italic"))
    return Text("\n").join(lines)


def commands_text(runs: list[CommandRun]) -> Text:
    if not runs:
        return Text("No command has run yet.")
    return Text("\n\n").join(run_text(run) for run in runs)


class CommandsRunScreen(Screen[None]):
    CSS_PATH = "commands_run.tcss"
    BINDINGS = [
        Binding("escape,w", "back", "Back", key_display="Esc"),
        Binding("j", "scroll(1)", show=False),
        Binding("k", "scroll(-1)", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown = -1  # how many commands are on screen

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(id="commands-intro")
        with CommandsList(id="commands-body"):
            yield Static(id="commands-list")
        yield Footer(show_command_palette=not self.wizard.ascii_only)

    def on_mount(self) -> None:
        body = self.query_one("#commands-body", VerticalScroll)
        body.border_title = "Commands run"
        body.focus()  # the arrows, PgUp/PgDn, Home and End scroll it
        self.show()
        self.set_interval(REFRESH_SECONDS, self.show)

    def show(self) -> None:
        """Redraw when commands were added since (the view keeps its place)."""
        runs = session_commands(self.wizard.session)
        if len(runs) == self.shown:
            return
        self.shown = len(runs)
        from_snapshot = replayed(self.wizard.session)
        self.query_one("#commands-intro", Static).update(intro_text(runs, from_snapshot))
        self.query_one("#commands-list", Static).update(commands_text(runs))

    def action_scroll(self, lines: int) -> None:
        self.query_one("#commands-body", VerticalScroll).scroll_relative(y=lines,
                                                                           animate=False)

    def action_back(self) -> None:
        self.dismiss()
