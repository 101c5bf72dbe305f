"""Confirm a fix: the exact commands, root or not, how to undo, what proves it worked.
Nothing runs before `y`; the output streams below as plain text."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Log, Static

from wizard.engine.transcript import FixOffer
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


class FixConfirmScreen(ModalScreen[None]):
    CSS_PATH = "fix_confirm.tcss"
    BINDINGS = [
        Binding("y", "run", "Run it"),
        Binding("n", "cancel", "No"),
        Binding("escape", "back", "Back", key_display="Esc"),
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

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(plan_text(self.offer, self.blocked), id="fix-plan")
            yield Log(id="fix-log", highlight=False, auto_scroll=True)
            yield Static(id="fix-verdict")
        yield Footer(show_command_palette=not cast("WizardApp", self.app).ascii_only)

    def on_mount(self) -> None:
        self.query_one(Log).display = False
        self.query_one("#fix-verdict").display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run":
            return self.blocked is None and not self.started
        if action == "cancel":
            return not self.started
        return True

    def action_run(self) -> None:
        if self.started or self.blocked is not None:
            return
        self.started = True
        self.query_one(Log).display = True
        self.query_one("#fix-verdict", Static).update(Text("Running..."))
        self.query_one("#fix-verdict").display = True
        self.call_after_refresh(self.query_one(Log).scroll_visible, animate=False)
        self.refresh_bindings()
        cast("WizardApp", self.app).start_fix(self.index, self.offer)

    def add_output(self, line: str) -> None:
        # Log never parses markup; visible() also shows escape sequences as \x1b.
        self.query_one(Log).write_line(visible(line))

    def finish(self, verdict: str, fixed: bool) -> None:
        self.done = True
        widget = self.query_one("#fix-verdict", Static)
        widget.update(Text.assemble(literal(verdict, "bold green" if fixed else "bold red"),
                                    "\nEscape goes back to the steps."))
        # At 80x24 the plan fills the dialog: bring the verdict into view, or it is missed.
        self.call_after_refresh(widget.scroll_visible, animate=False)

    def action_cancel(self) -> None:
        if not self.started:
            self.dismiss()

    def action_back(self) -> None:
        if self.started and not self.done:
            self.notify("The fix keeps running; its verdict will show on the step.")
        self.dismiss()
