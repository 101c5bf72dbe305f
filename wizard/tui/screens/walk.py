"""The main screen: steps on the left, the selected step on the right, keys in the footer.

The checks run ahead of the walk (see walk_state.py); a line under the host says how far
they got, then what they found. Enter reveals the next step's finding, and asks a
question when the walk reaches it."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from wizard import TOOL_NAME, __version__
from wizard.flow.model import Node
from wizard.tui.fix_words import footer_label, offer_title
from wizard.tui.footer_room import footer_room
from wizard.tui.messages import CheckRerun
from wizard.tui.plain import literal
from wizard.tui.screens.verdict import VerdictScreen
from wizard.tui.walk_state import Entry
from wizard.tui.widgets.choice_list import ChoiceList
from wizard.tui.widgets.host_summary import HostSummary
from wizard.tui.widgets.step_detail import StepDetail
from wizard.tui.widgets.step_list import StepList, row

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp
    from wizard.tui.walk_state import WalkState


def progress_line(state: WalkState, report: dict[str, Any] | None, finished: bool) -> Text:
    """'Checking: 7 checks done, now Firewall...', then the lead cause and where to see it."""
    if state.ahead:
        again = " again after the fix" if state.checking_again else ""
        now = f", now {state.now_checking}" if state.now_checking else ""
        return literal(f"Checking{again}: {state.checks_done} checks done{now}...")
    if report is None:
        return Text("")
    causes = report.get("causes") or []
    if causes:
        found = Text.assemble("Most likely: ", literal(causes[0]["title"], "bold"))
    else:
        found = Text(f"No cause of a {report.get('symptom', '502')} found.")
    if not finished:
        found = Text("The checks wait for your answer to a question.")
    return Text.assemble(found, "  a: the answer, s: summary")

TICK_SECONDS = 1 / 8
NOTICE_SECONDS = 4.0


class WalkScreen(Screen[None]):
    CSS_PATH = "walk.tcss"
    BINDINGS = [
        Binding("enter,space", "next", "Next", key_display="Enter"),
        Binding("r", "rerun", "Re-run"),
        Binding("f", "fix", "Fix"),
        Binding("v", "evidence", "Evidence", show=False),
        Binding("s", "summary", "Summary", show=False),
        Binding("a", "verdict", "The answer", show=False),
        Binding("j", "move(1)", show=False),
        Binding("k", "move(-1)", show=False),
        Binding("c", "cancel", "Cancel"),
        Binding("escape", "back", show=False),
        *(Binding(str(n), f"answer({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.evidence_open = False
        self._last_notice: tuple[str, float] = ("", 0.0)
        self.ready = False  # mounted: the engine's events may arrive before
        self._held: int | None = None  # the highlight to keep while the steps run again

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        flow = self.wizard.session.flow
        mode = "practice - " if self.wizard.session.facts.options.practice else ""
        yield Static(literal(f"{TOOL_NAME} {__version__} - {mode}{flow.title or flow.flow}"),
                     id="title-bar")
        yield HostSummary(self.wizard.session.facts.options.url)
        yield Static(id="progress")
        with Horizontal(id="walk-body"):
            step_list = StepList(id="steps")
            step_list.border_title = "Steps"
            yield step_list
            yield StepDetail(id="detail")
        # The palette's footer entry starts with a block glyph the Linux console lacks.
        yield Footer(show_command_palette=not self.wizard.ascii_only)

    def on_mount(self) -> None:
        self.ready = True
        self.show_progress()
        self.refresh_view(follow=True)
        self.query_one(StepList).focus()
        self.set_interval(TICK_SECONDS, self._tick)

    # -- showing ---------------------------------------------------------------------------

    def hold_place(self) -> None:
        """The steps are about to be checked again: the highlight stays where it is."""
        self._held = self.query_one(StepList).highlighted

    def show_progress(self) -> None:
        """One line: how far the checks got, or what they found and the key to see it."""
        if not self.ready:
            return
        self.query_one("#progress", Static).update(progress_line(
            self.wizard.state, self.wizard.report, self.wizard.session.finished))

    def say_once(self, text: str) -> None:
        """A notice, unless the same one is still on screen (keys pressed in a hurry)."""
        now = time.monotonic()
        if self._last_notice[0] == text and now - self._last_notice[1] < NOTICE_SECONDS:
            return
        self._last_notice = (text, now)
        self.notify(text, timeout=NOTICE_SECONDS, markup=False)

    def selected(self) -> Entry | None:
        entries = self.wizard.state.entries()
        index = self.query_one(StepList).highlighted
        return entries[index] if index is not None and index < len(entries) else None

    def refresh_view(self, follow: bool = False) -> None:
        """Redraw from the state; `follow` moves the highlight to the newest step."""
        if not self.ready:
            return
        state = self.wizard.state
        entries = state.entries()
        step_list = self.query_one(StepList)
        was_at_head = step_list.highlighted in (None, step_list.option_count - 1)
        step_list.sync([row(entry, state) for entry in entries])
        head = entries[-1] if entries else None
        if self._held is not None:  # checked again after a fix: keep the person's place
            if self._held < len(entries):
                step_list.highlighted = self._held
            if not state.ahead:
                self._held = None
        elif entries and (follow or was_at_head):
            step_list.highlighted = self._follow_index(entries)
        self._show_selected()
        asking = head is not None and head.step is None and self._asking() is head.node
        if asking and self._at_head():
            self.query_one(ChoiceList).focus()
        elif self.focused is None or isinstance(self.focused, ChoiceList):
            step_list.focus()  # the answers are gone; the details keep focus if they had it

    def _follow_index(self, entries: list[Entry]) -> int:
        """Where the highlight goes as the walk moves: the running check (its spinner), a
        question waiting for its answer, else the step that just finished, so its finding
        is on screen until Enter moves on; never a check that has not run yet."""
        head = entries[-1]
        waiting_check = head.step is None and head.node.kind == "check"
        if waiting_check and not self.wizard.state.running and len(entries) > 1:
            return len(entries) - 2
        return len(entries) - 1

    def _at_head(self) -> bool:
        step_list = self.query_one(StepList)
        return step_list.highlighted == step_list.option_count - 1

    def _show_selected(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.query_one(StepDetail).show(entry, self.wizard.state, self.evidence_open,
                                            self.wizard.fix_blocked)
        self.refresh_bindings()

    def _tick(self) -> None:
        state = self.wizard.state
        if not state.running:
            return
        entries = state.entries()
        index = state.running_index
        if index is not None and index < len(entries):
            self.query_one(StepList).sync([row(e, state) for e in entries])
            entry = self.selected()
            if entry is not None and entry.index == index:
                self.query_one(StepDetail).tick(entry, state)

    @on(OptionList.OptionHighlighted, "#steps")
    def _highlighted(self) -> None:
        self._show_selected()

    @on(OptionList.OptionSelected, "#steps")
    def _step_chosen(self) -> None:
        self.action_next()

    @on(OptionList.OptionSelected, "#choices")
    def _choice_chosen(self, event: OptionList.OptionSelected) -> None:
        self._answer_key(event.option.id)

    # -- footer ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        entry = self.selected()
        state = self.wizard.state
        if action == "fix":
            return True  # with no fix here, `f` says so (the footer hides it then)
        if action == "rerun":
            return bool(entry and entry.step and entry.node.kind == "check")
        if action == "evidence":
            return bool(entry and entry.step and entry.step.evidence)
        if action == "cancel":
            return state.running
        return True

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The footer names the fix: 'f Fix: Start nginx'; 'f Plan: ...' where fixes
        cannot run (from a snapshot), since f then only shows the plan."""
        bindings = super().active_bindings
        entry = self.selected()
        if "f" in bindings and not (entry and entry.plans):
            del bindings["f"]
        if "f" in bindings and entry and entry.plans:
            node, binding, enabled, tooltip = bindings["f"]
            verb = "Fix" if self.wizard.fix_blocked is None else "Plan"
            # Shortened after a whole word to the room the other keys leave: a title cut
            # by the terminal's edge reads as another fix, and pushes Help and Quit off.
            room = footer_room(self, bindings, "f") - len(f"{verb}: ")
            title = footer_label(offer_title(entry.plans[0]), room)
            description = f"{verb}: {title}" if title else verb
            bindings["f"] = ActiveBinding(
                node, replace(binding, description=description), enabled, tooltip)
        return bindings

    # -- actions ---------------------------------------------------------------------------

    def action_next(self) -> None:
        """Reveal the next step's finding; ask a question when the walk reaches it."""
        wizard = self.wizard
        state, session = wizard.state, wizard.session
        if state.fix_running:
            self.say_once("Wait for the fix to finish.")
            return
        head = self._asking()
        if head is not None:
            self.refresh_view(follow=True)
            self.say_once(f"Choose an answer: 1-{len(head.choices)}, or the arrows and "
                          "Enter.")
            return
        if not state.all_shown:
            state.reveal_next()
            self.refresh_view(follow=True)
            if state.all_shown and session.finished:  # the walk's end: what it found
                wizard.show_summary()
            return
        if session.finished:
            wizard.show_summary()
        elif state.ahead or state.running:
            self.say_once("This check is still running; its finding shows here when it "
                          "ends (c cancels it).")
        else:
            self.say_once("The checks stopped; press s for the summary.")

    def _asking(self) -> Node | None:
        """The question at the walk's head, if the person must answer it there: one the
        run ahead took by default, or the one the run ahead stopped at."""
        state, session = self.wizard.state, self.wizard.session
        pending = state.pending_question()
        if pending is not None:
            return session.flow.by_id[pending.node]
        return state.stopped_at() if state.all_shown else None

    def action_answer(self, number: int) -> None:
        node = self._asking()
        if node is not None and 1 <= number <= len(node.choices):
            self._answer_key(node.choices[number - 1].key)

    def _answer_key(self, key: str | None) -> None:
        node = self._asking()
        if key is not None and node is not None:
            self.wizard.answer_question(node.id, key)

    def action_rerun(self) -> None:
        entry = self.selected()
        state = self.wizard.state
        if entry is None or state.running or state.fix_running:
            return
        if state.ahead:  # it would read the host afresh under the checks still running
            self.say_once("The checks are still running; r works once they are done.")
            return
        if entry.step is None:
            self.action_next()
            return
        if entry.node.kind != "check":
            self.notify("Only checks can run again; this step is not a check.")
            return
        state.start_running(entry.index)
        self.refresh_view()
        self._rerun(entry.index, entry.node.id)

    @work(thread=True, exclusive=True, group="walk", exit_on_error=False)
    def _rerun(self, index: int, node_id: str) -> None:
        session = self.wizard.session
        session.cancel_event.clear()  # a cancel of an earlier step must not stop this one
        self.wizard.post_safely(CheckRerun(index, session.rerun(node_id)))

    def action_cancel(self) -> None:
        if self.wizard.state.running:
            self.wizard.session.cancel()
            self.notify("Cancelling the check...")

    def action_back(self) -> None:
        """Escape: cancel a running check, else jump back to the newest step."""
        step_list = self.query_one(StepList)
        newest = self._follow_index(self.wizard.state.entries())
        if self.wizard.state.running:
            self.action_cancel()
        elif step_list.highlighted != newest:
            step_list.highlighted = newest
        elif not isinstance(self.focused, StepList):
            step_list.focus()

    def action_move(self, delta: int) -> None:
        step_list = self.query_one(StepList)
        if delta > 0:
            step_list.action_cursor_down()
        else:
            step_list.action_cursor_up()

    def action_evidence(self) -> None:
        self.evidence_open = not self.evidence_open
        self._show_selected()

    def action_fix(self) -> None:
        entry = self.selected()
        if entry is None or not entry.plans:
            self.say_once("No fix is offered for this step.")
            return
        self.wizard.open_offers([(entry.index, offer) for offer in entry.plans])

    def action_summary(self) -> None:
        self.wizard.show_summary()

    def action_verdict(self) -> None:
        wizard = self.wizard
        if wizard.state.ahead or wizard.report is None:
            self.say_once("The checks are still running; the answer opens when they end.")
            return
        wizard.open_dialog(VerdictScreen(wizard.report))

    def show_stalled(self, reason: str) -> None:
        self.notify(reason, severity="warning", markup=False)
