"""Confirm a fix: the exact commands, root or not, how to undo, what proves it worked.
Nothing runs before `y`; the output streams below as plain text. The questions the fix
asked the host (guards, checksums) show as question and answer; `v` shows every command
that ran with its raw output and exit code, as the transcript keeps them."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Log, Static

from wizard.engine.transcript import FixOffer
from wizard.fixes.result import AppliedFix
from wizard.tui.fix_gate import FixBlocked
from wizard.tui.fix_words import offer_title
from wizard.tui.plain import literal, visible

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
        # the exit code first: a long command is cut at the dialog's edge, not its result
        lines.append(f"[{record.get('role')}: {end}] $ {shlex.join(record.get('argv') or [])}")
        output = (record.get("stdout") or "") + (record.get("stderr") or "")
        lines += [f"    {line}" for line in output.splitlines()]
    return lines


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
        with VerticalScroll(classes="dialog"):
            yield Static(plan_text(self.offer, self.blocked), id="fix-plan")
            yield Log(id="fix-log", highlight=False, auto_scroll=True)
            yield Log(id="fix-raw", highlight=False, auto_scroll=False)
            yield Static(id="fix-verdict")
        yield Footer(show_command_palette=not cast("WizardApp", self.app).ascii_only)

    def on_mount(self) -> None:
        self.query_one("#fix-log", Log).display = False
        self.query_one("#fix-raw", Log).display = False
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
        log = self.query_one("#fix-log", Log)
        log.display = True
        self.query_one("#fix-verdict", Static).update(Text("Running..."))
        self.query_one("#fix-verdict").display = True
        self.call_after_refresh(log.scroll_visible, animate=False)
        self.refresh_bindings()
        cast("WizardApp", self.app).start_fix(self.index, self.offer)

    def add_output(self, line: str) -> None:
        # Log never parses markup; visible() also shows escape sequences as \x1b.
        self.query_one("#fix-log", Log).write_line(visible(line))

    def finish(self, verdict: str, fixed: bool, applied: AppliedFix | None = None) -> None:
        self.done = True
        self.records = list(applied.commands) if applied else []
        style = "bold green" if fixed else (
            "bold yellow" if applied and applied.proof == "unproven" else "bold red")
        keys = "v shows every command's raw output. " if self.records else ""
        widget = self.query_one("#fix-verdict", Static)
        widget.update(Text.assemble(literal(verdict, style),
                                    f"\n{keys}Escape goes back to the steps."))
        self.refresh_bindings()
        # At 80x24 the plan fills the dialog: bring the verdict into view, or it is missed.
        self.call_after_refresh(widget.scroll_visible, animate=False)

    def action_raw(self) -> None:
        """Show or hide what ran, exactly: each command, its role, exit code and output."""
        raw = self.query_one("#fix-raw", Log)
        if not raw.display and not raw.line_count:
            for line in raw_lines(self.records):
                raw.write_line(visible(line))
        raw.display = not raw.display
        if raw.display:
            self.call_after_refresh(raw.scroll_visible, animate=False)

    def action_cancel(self) -> None:
        if not self.started:
            self.dismiss()

    def action_back(self) -> None:
        if self.started and not self.done:
            self.notify("The fix keeps running; its verdict will show on the step.")
        self.dismiss()
