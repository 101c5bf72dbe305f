"""Confirm a fix: the exact commands, root or not, how to undo, what proves it worked.
Nothing runs before `y`; the output streams below as plain text. The questions the fix
asked the host (guards, checksums) show as question and answer; `v` shows every command
that ran with its raw output and exit code, as the transcript keeps them.

Once the fix starts, the plan gives up most of its room to the output: the output pane
takes the keys (it scrolls, and wraps long lines), and the verdict sits below it, so it is
on screen at 80x24 however long the plan or the output."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from wizard.engine.transcript import FixOffer
from wizard.fixes.result import AppliedFix
from wizard.tui.fix_gate import FixBlocked
from wizard.tui.fix_words import offer_title
from wizard.tui.plain import literal
from wizard.tui.widgets.output_pane import SCROLL_KEYS, OutputPane

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


def plan_text(offer: FixOffer, blocked: FixBlocked | None) -> Text:
    """The plan in plain words; every command one argv per line, as a shell would read it.
    The last line asks to run it, or says why it cannot run here (`blocked`)."""
    plan = offer.plan or {}
    lines = [literal(f"Fix: {offer_title(offer)}", "bold"),
             Text("Needs root: " + ("yes" if plan.get("needs_root") else "no")),
             Text("Commands that will run:" if blocked is None else "Commands it would run:")]
    lines += [literal(f"  $ {shlex.join(argv)}") for argv in plan.get("commands", [])]
    if plan.get("diff"):
        lines += [Text("Change to the file:"), literal(plan["diff"])]
    undo = plan.get("undo") or []
    lines.append(Text("Undo:" if undo else "Undo: nothing recorded; note the state first."))
    lines += [literal(f"  $ {shlex.join(argv)}") for argv in undo]
    if plan.get("verify"):
        lines.append(literal(f"It worked when: {plan['verify']}"))
    lines += [literal(f"Note: {note}") for note in plan.get("notes") or []]
    lines.append(Text(""))
    lines.append(Text("Run it? y = yes, n or Escape = no" if blocked is None else
                      blocked.closing, style="bold"))
    return Text("\n").join(lines)


def raw_lines(records: list[dict[str, Any]]) -> list[str]:
    """The transcript's record of each command as plain lines."""
    lines = ["Every command that ran, with its output:"]
    for record in records:
        code = record.get("returncode")
        end = f"exit {code}" if code is not None else (record.get("error") or "did not finish")
        # the exit code first, where the eye starts: a long command wraps after it
        lines.append(f"[{record.get('role')}: {end}] $ {shlex.join(record.get('argv') or [])}")
        output = (record.get("stdout") or "") + (record.get("stderr") or "")
        lines += [f"    {line}" for line in output.splitlines()]
    return lines


class PlanPane(VerticalScroll):
    """The plan, scrolled with the keys when it is longer than its room; the footer then
    says so."""

    BINDINGS = [SCROLL_KEYS]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "scroll_down":
            return self.max_scroll_y > 0
        return True

    def on_resize(self, event: events.Resize) -> None:
        self.screen.refresh_bindings()  # whether it overflows may have changed


class FixConfirmScreen(ModalScreen[None]):
    CSS_PATH = "fix_confirm.tcss"
    BINDINGS = [
        Binding("y", "run", "Run it"),
        Binding("n", "cancel", "No"),
        Binding("escape", "back", "Back", key_display="Esc"),
        Binding("v", "raw", "Raw output"),
        # A modal screen hides the app's keys, so quitting and help are bound here too.
        Binding("q", "app.request_quit", "Quit"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(self, index: int, offer: FixOffer, blocked: FixBlocked | None) -> None:
        super().__init__()
        self.index = index
        self.offer = offer
        self.blocked = blocked  # why `y` cannot run it here; None when it can
        self.started = False
        self.done = False
        self.records: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with PlanPane(id="fix-plan-pane"):
                yield Static(plan_text(self.offer, self.blocked), id="fix-plan")
            yield OutputPane(id="fix-log")
            yield OutputPane(id="fix-raw", follow=False)  # read from the first command
            yield Static(id="fix-verdict")
        yield Footer(show_command_palette=not cast("WizardApp", self.app).ascii_only)

    def on_mount(self) -> None:
        self.query_one("#fix-log").display = False
        self.query_one("#fix-raw").display = False
        self.query_one("#fix-verdict").display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run":
            return self.blocked is None and not self.started
        if action == "cancel":
            return not self.started
        if action == "raw":  # hidden until a fix has run
            return self.done and bool(self.records)
        return True

    def action_run(self) -> None:
        if self.started or self.blocked is not None:
            return
        self.started = True
        self.add_class("-running")  # the plan shrinks; output and verdict share the room
        log = self.query_one("#fix-log", OutputPane)
        log.display = True
        log.focus()  # the scroll keys work at once, and the footer names them
        self.query_one("#fix-verdict", Static).update(Text("Running..."))
        self.query_one("#fix-verdict").display = True
        self.refresh_bindings()
        cast("WizardApp", self.app).start_fix(self.index, self.offer)

    def add_output(self, line: str) -> None:
        self.query_one("#fix-log", OutputPane).add_line(line)

    def finish(self, verdict: str, fixed: bool, applied: AppliedFix | None = None) -> None:
        self.done = True
        self.records = list(applied.commands) if applied else []
        style = "bold green" if fixed else (
            "bold yellow" if applied and applied.proof == "unproven" else "bold red")
        keys = "v shows every command's raw output. " if self.records else ""
        self.query_one("#fix-verdict", Static).update(Text.assemble(
            literal(verdict, style), f"\n{keys}Escape goes back to the steps."))
        self.refresh_bindings()

    def action_raw(self) -> None:
        """Show what ran, exactly (each command, its role, exit code and output) in the
        output's place, or the output again."""
        raw = self.query_one("#fix-raw", OutputPane)
        if not raw.display and not raw.line_total:
            for line in raw_lines(self.records):
                raw.add_line(line)
        raw.display = not raw.display
        log = self.query_one("#fix-log", OutputPane)
        log.display = not raw.display
        (raw if raw.display else log).focus()

    def action_cancel(self) -> None:
        if not self.started:
            self.dismiss()

    def action_back(self) -> None:
        if self.started and not self.done:
            self.notify("The fix keeps running; its verdict will show on the step.")
        self.dismiss()
