"""When the walk ends: causes most likely first, what was fixed, what is left, and where
the transcript is. `e` writes the Markdown report next to the transcript."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from wizard.engine.report import evidence_source
from wizard.tui.fix_gate import FixBlocked
from wizard.tui.plain import literal

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp
    from wizard.tui.walk_state import WalkState


def causes_text(report: dict[str, Any], fixed: set[str]) -> list[Text]:
    """Each cause by its title; its id stays in the saved report for scripts."""
    if not report["causes"]:
        return [Text("No cause of a 502 was found.")]
    lines = [Text("Most likely causes, strongest evidence first:", style="bold")]
    for number, cause in enumerate(report["causes"], 1):
        mark = "  [fixed]" if cause["id"] in fixed else ""
        lines.append(Text.assemble(f"{number}. ", literal(cause["title"], "bold"), mark))
        lines.append(Text.assemble("   ", literal(cause["explanation"])))
        lines += [Text.assemble(f"   - {evidence_source(ev['source'])}: ", literal(ev["detail"]))
                  for ev in cause["evidence"][:3]]
    return lines


def fixed_text(state: WalkState) -> list[Text]:
    if not state.fixes:
        return [Text("Fixed: nothing was changed on this host.")]
    lines = [Text("Fixes run:", style="bold")]
    lines += [Text.assemble("- ", literal(f.title), ": ", literal(f.verdict))
              for f in state.fixes]
    return lines


def left_text(report: dict[str, Any], fixed: set[str],
              blocked: FixBlocked | None = None) -> list[Text]:
    left = [c for c in report["causes"] if c["id"] not in fixed]
    if not left:
        return [Text("Left to do: nothing found that is still wrong.")]
    lines = [Text("Left to do:", style="bold")]
    how = "select its step, press f" if blocked is None else "select its step, f shows it"
    for cause in left:
        fixes = ", ".join(f["title"] for f in cause["fixes"])
        hint = f"fix offered: {fixes} ({how})" if fixes else \
            "no automatic fix; follow the explanation above"
        lines.append(Text.assemble("- ", literal(cause["title"]), ": ", literal(hint)))
    if blocked is not None and any(cause["fixes"] for cause in left):
        lines.append(Text(blocked.hint))
    return lines


class SummaryScreen(Screen[None]):
    CSS_PATH = "summary.tcss"
    BINDINGS = [
        Binding("e", "app.export", "Export Markdown"),
        Binding("escape", "back", "Back to steps", key_display="Esc"),
    ]

    @dataclass
    class Ready(Message):
        """The report is built and the transcript saved (or why it was not)."""

        report: dict[str, Any]
        error: str | None

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="summary-body"):
            yield Static(Text("Preparing the summary..."), id="summary")
            yield Static(id="summary-files")
        yield Footer(show_command_palette=not cast("WizardApp", self.app).ascii_only)

    def on_mount(self) -> None:
        self.query_one("#summary-body").border_title = "Summary"
        self.wizard.prepare_report()

    def show_report(self, report: dict[str, Any], error: str | None) -> None:
        state = self.wizard.state
        fixed = state.fixed_causes()
        done = "finished" if self.wizard.session.finished else "not finished yet"
        count = len(report["steps"])
        plural = "" if count == 1 else "s"
        lines = [Text(f"The walk is {done}: {count} step{plural}.", style="bold")]
        if report.get("error"):
            lines.append(literal(f"The diagnosis did not finish: {report['error']}"))
        left = left_text(report, fixed, self.wizard.fix_blocked)
        for block in (causes_text(report, fixed), fixed_text(state), left):
            lines += [Text(""), *block]
        self.query_one("#summary", Static).update(Text("\n").join(lines))
        self._show_files(error)

    def _show_files(self, error: str | None) -> None:
        path = self.wizard.transcript_path
        lines = [literal(error) if error else literal(f"Transcript: {path}")]
        markdown = self.wizard.markdown_path
        lines.append(literal(f"Markdown: {markdown}") if markdown else
                     Text("Markdown: press e to write it next to the transcript"))
        self.query_one("#summary-files", Static).update(Text("\n").join(lines))

    def show_markdown_path(self, path: Path) -> None:
        self._show_files(None)

    def action_back(self) -> None:
        self.dismiss()
