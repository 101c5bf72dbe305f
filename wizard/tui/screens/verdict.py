"""The answer first: once the checks have run, the most likely cause in plain words, one
line of its evidence, and its fix one key away (`f` or the cause's number). Enter walks
through the checks one by one; `s` opens the summary; `a` asks a question whose answer
could change the verdict. After a fix it leads with what the site answers now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from wizard.engine.report import evidence_source
from wizard.engine.transcript import Step
from wizard.flow.model import Node
from wizard.tui.fix_gate import FixBlocked
from wizard.tui.plain import literal

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp
    from wizard.tui.walk_state import FixRecord

MAX_OTHER_CAUSES = 4  # the rest are on the summary


def fix_hint(cause: dict[str, Any], number: int, blocked: FixBlocked | None) -> Text:
    fixes = cause.get("fixes") or []
    if not fixes:
        return Text("   No automatic fix: the explanation above says what to do.")
    root = " (needs root)" if fixes[0].get("needs_root") else ""
    keys = "f or 1" if number == 1 else str(number)
    what = "press" if blocked is None else "its plan:"
    more = f" ({len(fixes)} ways)" if len(fixes) > 1 else ""
    return Text.assemble("   Fix: ", literal(fixes[0]["title"], "bold"), root, more,
                         f" - {what} {keys}")


def lead_cause(cause: dict[str, Any], blocked: FixBlocked | None) -> list[Text]:
    lines = [Text.assemble("1. ", literal(cause["title"], "bold")),
             Text.assemble("   ", literal(cause["explanation"]))]
    evidence = cause.get("evidence") or []
    if evidence:
        first = evidence[0]
        lines.append(Text.assemble(f"   Evidence ({evidence_source(first['source'])}): ",
                                   literal(first["detail"])))
    lines.append(fix_hint(cause, 1, blocked))
    return lines


def other_causes(causes: list[dict[str, Any]], blocked: FixBlocked | None) -> list[Text]:
    if not causes:
        return []
    lines = [Text(""), Text("Also found, less likely:", style="bold")]
    for number, cause in enumerate(causes[:MAX_OTHER_CAUSES], 2):
        fixes = cause.get("fixes") or []
        hint = f" - fix: press {number}" if fixes else " - no automatic fix"
        if fixes and blocked is not None:
            hint = f" - plan: press {number}"
        lines.append(Text.assemble(f"{number}. ", literal(cause["title"]), hint))
    if len(causes) > MAX_OTHER_CAUSES:
        lines.append(Text(f"   ... and {len(causes) - MAX_OTHER_CAUSES} more on the summary (s)"))
    return lines


def fix_headline(fix: FixRecord) -> Text:
    style = "bold green" if fix.fixed else "bold yellow"
    return Text.assemble(literal(f"{fix.title}: ", "bold"), literal(fix.verdict, style))


def verdict_text(report: dict[str, Any], *, checks: int, questions: list[Step],
                 waiting: Node | None, last_fix: FixRecord | None,
                 blocked: FixBlocked | None) -> Text:
    """Everything the verdict says, top to bottom, from the report of the walk so far."""
    causes = report.get("causes") or []
    lines: list[Text] = []
    if last_fix is not None:
        lines += [fix_headline(last_fix), Text("")]
    if report.get("error"):
        lines.append(literal(f"The checks did not finish: {report['error']}", "bold red"))
    if waiting is not None:
        lines.append(Text("The checks stopped at a question only you can answer "
                          "(press a):", style="bold"))
        lines += [Text.assemble("   ", literal(waiting.question or waiting.title)), Text("")]
    after = "after the fix, " if last_fix is not None else ""
    checked = f"{checks} check" + ("" if checks == 1 else "s")
    if causes:
        head = "Still found" if last_fix is not None else "The most likely cause"
        lines.append(Text(f"{head}, {after}from {checked}:", style="bold"))
        lines += lead_cause(causes[0], blocked)
        lines += other_causes(causes[1:], blocked)
    else:
        symptom = report.get("symptom", "502")
        lines.append(Text(f"No cause of a {symptom} was found {after}in {checked}.",
                          style="bold"))
        if report.get("history"):
            lines.append(Text("Older failures in the logs are not a cause now; the summary "
                              "(s) shows them."))
    unknown = [s for s in report.get("steps") or [] if s["status"] == "unknown"]
    if unknown:
        names = ", ".join(s["title"] or "a step" for s in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        lines += [Text(""), literal(f"Could not tell: {names}{more} (see the walk).")]
    for step in questions[:1]:
        lines += [Text(""), Text("A question could change this (press a):", style="bold"),
                  Text.assemble("   ", literal(step.question or step.title))]
    if blocked is not None and any(c.get("fixes") for c in causes):
        lines += [Text(""), Text(blocked.hint)]
    lines += [Text(""), Text("Enter: walk through the checks one by one.  s: summary.",
                             style="italic")]
    return Text("\n").join(lines)


class VerdictScreen(Screen[None]):
    CSS_PATH = "verdict.tcss"
    BINDINGS = [
        Binding("f", "fix(1)", "Fix"),
        Binding("enter,escape", "walk", "Walk", key_display="Enter"),
        Binding("s", "app.show_summary", "Summary"),
        Binding("a", "ask", "Question"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("q", "app.request_quit", "Quit"),
        *(Binding(str(n), f"fix({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__()
        self.report = report

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="verdict-body"):
            yield Static(id="verdict")
        yield Footer(show_command_palette=not self.wizard.ascii_only)

    def on_mount(self) -> None:
        self.query_one("#verdict-body").border_title = "The answer" + (
            " (practice)" if self.wizard.session.facts.options.practice else "")
        if self.wizard.state.ahead:
            self.show_progress()
        else:
            self.show_report(self.report)

    def show_progress(self) -> None:
        """A fresh walk runs (after a fix): say so until its report arrives."""
        state = self.wizard.state
        lines = [fix_headline(state.fixes[-1]), Text("")] if state.fixes else []
        again = "again after the fix" if state.checking_again else "again"
        lines.append(Text(f"Checking everything {again}: {state.checks_done} checks done...",
                          style="bold"))
        self.query_one("#verdict", Static).update(Text("\n").join(lines))

    def show_report(self, report: dict[str, Any], error: str | None = None) -> None:
        self.report = report
        state = self.wizard.state
        text = verdict_text(report, checks=state.checks_done,
                            questions=state.questions_to_ask(), waiting=state.stopped_at(),
                            last_fix=state.fixes[-1] if state.fixes else None,
                            blocked=self.wizard.fix_blocked)
        self.query_one("#verdict", Static).update(text)
        self.query_one("#verdict-body").scroll_home(animate=False)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "ask":
            state = self.wizard.state
            return bool(state.questions_to_ask() or state.stopped_at())
        return True

    def action_fix(self, number: int) -> None:
        if self.wizard.state.ahead:
            self.notify("The checks are running again; wait for the new verdict.")
            return
        self.wizard.open_cause_fix(self.report, number)

    def action_walk(self) -> None:
        self.dismiss()

    def action_ask(self) -> None:
        self.wizard.ask_from_verdict()
