"""The summary: causes most likely first (each numbered: its number or `f` opens its fix),
what was fixed, what is left, and where the transcript is. `e` writes the Markdown report
next to the transcript; `x` copies the summary to the clipboard. Until the checks have all
run it says so, with their progress, and never that nothing was found."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from wizard.causes import CAUSES
from wizard.engine.report import evidence_source
from wizard.engine.session_export import clipboard_text
from wizard.tui.fix_gate import FixBlocked
from wizard.tui.plain import literal

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp
    from wizard.tui.walk_state import WalkState


def causes_text(report: dict[str, Any], fixed: set[str]) -> list[Text]:
    """Each cause by its title; its id stays in the saved report for scripts."""
    if not report["causes"]:
        return [Text(f"No cause of a {report.get('symptom', '502')} was found.")]
    lines = [Text("Most likely causes, strongest evidence first:", style="bold")]
    for number, cause in enumerate(report["causes"], 1):
        mark = "  [fixed]" if cause["id"] in fixed else ""
        keys = "f or 1" if number == 1 else str(number)
        fix = f"  - fix: press {keys}" if cause["fixes"] and not mark else ""
        lines.append(Text.assemble(f"{number}. ", literal(cause["title"], "bold"), mark, fix))
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
    gone = [CAUSES[cause].title for cause in sorted(state.fixed_causes()) if cause in CAUSES]
    if gone:
        lines.append(literal(f"Fixed in this session: {', '.join(gone)}"))
    return lines


def left_text(report: dict[str, Any], fixed: set[str],
              blocked: FixBlocked | None = None) -> list[Text]:
    left = [c for c in report["causes"] if c["id"] not in fixed]
    if not left:
        return [Text("Left to do: nothing found that is still wrong.")]
    lines = [Text("Left to do:", style="bold")]
    how = "press" if blocked is None else "its plan: press"
    numbers = {cause["id"]: number for number, cause in enumerate(report["causes"], 1)}
    for cause in left:
        fixes = ", ".join(f["title"] for f in cause["fixes"])
        hint = f"fix offered: {fixes} ({how} {numbers[cause['id']]})" if fixes else \
            "no automatic fix; follow the explanation above"
        lines.append(Text.assemble("- ", literal(cause["title"]), ": ", literal(hint)))
    if blocked is not None and any(cause["fixes"] for cause in left):
        lines.append(Text(blocked.hint))
    return lines


def progress_text(state: WalkState) -> Text:
    """While the checks run: how far they got, and that no verdict exists yet."""
    again = " again after the fix" if state.checking_again else ""
    now = f" Now: {state.now_checking}." if state.now_checking else ""
    return Text.assemble(
        (f"The checks are still running{again}: {state.checks_done} done.{now}", "bold"),
        "\nNothing can be said about the cause until they finish; this summary fills in "
        "then.")


class SummaryScreen(Screen[None]):
    CSS_PATH = "summary.tcss"
    BINDINGS = [
        Binding("f", "fix(1)", "Fix"),
        Binding("e", "app.export", "Markdown"),
        Binding("x", "copy", "Copy"),
        Binding("escape", "back", "Back", key_display="Esc"),
        *(Binding(str(n), f"fix({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: dict[str, Any] | None = None

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
        if self.wizard.state.ahead:
            self.show_progress()
        else:
            self.wizard.prepare_report()

    def show_progress(self) -> None:
        self.report = None
        self.query_one("#summary", Static).update(progress_text(self.wizard.state))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "fix":
            return self.report is not None
        return True

    def action_fix(self, number: int) -> None:
        if self.report is not None:
            self.wizard.open_cause_fix(self.report, number)

    def show_report(self, report: dict[str, Any], error: str | None) -> None:
        state = self.wizard.state
        if state.ahead:  # a fresh walk began since this report was made
            self.show_progress()
            return
        self.report = report
        self.refresh_bindings()
        fixed = state.fixed_causes()
        session = self.wizard.session
        count = len(report["steps"])
        plural = "" if count == 1 else "s"
        done = (f"All checks ran: {count} step{plural}." if session.finished else
                f"The checks stopped at a question ({count} step{plural} so far); "
                "answer it in the walk.")
        lines = [Text(done, style="bold")]
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

    def action_copy(self) -> None:
        """The summary to the local clipboard through the terminal (OSC 52): over SSH,
        selecting text in a full-screen program is hard."""
        if self.report is None:
            self.notify("The checks are still running; copy the summary once they end.")
            return
        self.app.copy_to_clipboard(clipboard_text(self.report))
        self.notify("Copied the summary (OSC 52)")

    def action_back(self) -> None:
        self.dismiss()
