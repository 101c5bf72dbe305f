"""The main screen: steps on the left, the selected step on the right, keys in the footer."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from wizard import TOOL_NAME, __version__
from wizard.engine.runner import AnswerRequired
from wizard.tui.fix_words import offer_title
from wizard.tui.messages import CheckRerun, WalkStalled
from wizard.tui.plain import literal
from wizard.tui.walk_state import Entry
from wizard.tui.widgets.choice_list import ChoiceList
from wizard.tui.widgets.host_summary import HostSummary
from wizard.tui.widgets.step_detail import StepDetail
from wizard.tui.widgets.step_list import StepList, row

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp

TICK_SECONDS = 1 / 8
# The engine's own sentence names the node and `--answer NODE=KEY`, words for the CLI.
ANSWER_WANTED = "This question needs your answer: its number, or the arrows and Enter."


class WalkScreen(Screen[None]):
    CSS_PATH = "walk.tcss"
    BINDINGS = [
        Binding("enter,space", "next", "Next", key_display="Enter"),
        Binding("r", "rerun", "Re-run"),
        Binding("f", "fix", "Fix"),
        Binding("v", "evidence", "Evidence", show=False),
        Binding("s", "summary", "Summary", show=False),
        Binding("j", "move(1)", show=False),
        Binding("k", "move(-1)", show=False),
        Binding("c", "cancel", "Cancel"),
        Binding("escape", "back", show=False),
        *(Binding(str(n), f"answer({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.evidence_open = False

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        flow = self.wizard.session.flow
        yield Static(literal(f"{TOOL_NAME} {__version__} - {flow.title or flow.flow}"),
                     id="title-bar")
        yield HostSummary(self.wizard.session.facts.options.url)
        with Horizontal(id="walk-body"):
            step_list = StepList(id="steps")
            step_list.border_title = "Steps"
            yield step_list
            yield StepDetail(id="detail")
        # The palette's footer entry starts with a block glyph the Linux console lacks.
        yield Footer(show_command_palette=not self.wizard.ascii_only)

    def on_mount(self) -> None:
        self.refresh_view(follow=True)
        self.query_one(StepList).focus()
        self.set_interval(TICK_SECONDS, self._tick)

    # -- showing ---------------------------------------------------------------------------

    def selected(self) -> Entry | None:
        entries = self.wizard.state.entries()
        index = self.query_one(StepList).highlighted
        return entries[index] if index is not None and index < len(entries) else None

    def refresh_view(self, follow: bool = False) -> None:
        """Redraw from the state; `follow` moves the highlight to the newest step."""
        state = self.wizard.state
        entries = state.entries()
        step_list = self.query_one(StepList)
        was_at_head = step_list.highlighted in (None, step_list.option_count - 1)
        step_list.sync([row(entry, state) for entry in entries])
        head = entries[-1] if entries else None
        if entries and (follow or was_at_head):
            step_list.highlighted = self._follow_index(entries)
        self._show_selected()
        asking = head is not None and head.step is None and head.node.kind == "ask"
        if (state.waiting or asking) and self._at_head():
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
            return bool(entry and entry.plans)
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
        if "f" in bindings and entry and entry.plans:
            node, binding, enabled, tooltip = bindings["f"]
            title = offer_title(entry.plans[0])
            verb = "Fix" if self.wizard.fix_blocked is None else "Plan"
            bindings["f"] = ActiveBinding(
                node, replace(binding, description=f"{verb}: {title}"), enabled, tooltip)
        return bindings

    # -- actions ---------------------------------------------------------------------------

    def action_next(self) -> None:
        wizard = self.wizard
        state, session = wizard.state, wizard.session
        if state.running or state.fix_running:
            self.notify("Wait for the running step, or press c to cancel it.")
            return
        if session.finished:
            wizard.show_summary()
            return
        node = session.flow.by_id[session.current or ""]
        if node.kind == "ask" and node.id not in session.facts.options.answers:
            state.waiting = True
            self.refresh_view(follow=True)
            self.notify(f"Choose an answer: 1-{len(node.choices)}, or the arrows and Enter.")
            return
        self._advance(None)

    def action_answer(self, number: int) -> None:
        session = self.wizard.session
        node = session.flow.by_id.get(session.current or "")
        if node is None or node.kind != "ask" or self.wizard.state.running:
            return
        if 1 <= number <= len(node.choices):
            self._answer_key(node.choices[number - 1].key)

    def _answer_key(self, key: str | None) -> None:
        if key is not None and not self.wizard.state.running:
            self.wizard.state.waiting = False
            self._advance(key)

    @work(thread=True, exclusive=True, group="walk", exit_on_error=False)
    def _advance(self, answer: str | None) -> None:
        try:
            self.wizard.session.advance(answer)
        except AnswerRequired:
            self.wizard.post_safely(WalkStalled(ANSWER_WANTED))
        except Exception as exc:  # an engine bug must not kill the screen
            self.wizard.post_safely(WalkStalled(f"the step failed: {type(exc).__name__}: "
                                                f"{exc}"))

    def action_rerun(self) -> None:
        entry = self.selected()
        state = self.wizard.state
        if entry is None or state.running or state.fix_running:
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
            self.notify("No fix is offered for this step.")
            return
        self.wizard.open_fix(entry)

    def action_summary(self) -> None:
        self.wizard.show_summary()

    def show_stalled(self, reason: str) -> None:
        self.notify(reason, severity="warning", markup=False)
