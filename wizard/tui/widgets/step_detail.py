"""The selected step in full: question, finding, folded evidence, fixes, or the answers."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from wizard.engine.report import evidence_source
from wizard.tui.css import sibling_css
from wizard.tui.fix_gate import FixBlocked
from wizard.tui.fix_words import unavailable_line
from wizard.tui.glyphs import ASKING, PENDING, STATUS_STYLE, STATUS_WORD, glyph, spinner
from wizard.tui.plain import literal
from wizard.tui.walk_state import Entry, WalkState
from wizard.tui.widgets.choice_list import ChoiceList
from wizard.tui.widgets.step_list import StepList


def heading(entry: Entry) -> Text:
    title = literal(entry.label, "bold")
    status = entry.status
    if status is None:
        return Text.assemble(ASKING if entry.node.kind == "ask" else PENDING, " ", title)
    return Text.assemble((f"{glyph(status)} {STATUS_WORD[status]}", STATUS_STYLE[status]),
                         "  ", title)


def state_line(entry: Entry, state: WalkState) -> Text:
    """What is happening at this step now, and which key moves it on."""
    if state.running and state.running_index == entry.index:
        return Text(f"{spinner(state.elapsed())} Running the check... "
                    f"{state.elapsed():.1f}s   (c or Escape cancels)")
    if entry.step is not None:
        return Text("")
    if entry.node.kind == "ask":
        count = len(entry.node.choices)
        return Text(f"Answer with 1-{count}, or the arrows and Enter.")
    if entry.ready and entry.node.kind == "check":
        return Text("This check has run: press Enter to see what it found.")
    what = "run this check" if entry.node.kind == "check" else "go on"
    return Text(f"Press Enter to {what}.")


def evidence_block(entry: Entry, open_: bool) -> Text:
    evidence = entry.step.evidence if entry.step else []
    if not evidence:
        return Text("")
    if not open_:
        return Text(f"Evidence ({len(evidence)}): press v to show", style="italic")
    lines = [literal(f"Evidence ({len(evidence)}): press v to hide", "italic")]
    lines += [Text.assemble(f"  {evidence_source(ev.source)}: ", literal(ev.detail))
              for ev in evidence]
    return Text("\n").join(lines)


def fixes_block(entry: Entry, blocked: FixBlocked | None) -> Text:
    """Each fix offered, or why there is none here, in words (never an action id)."""
    lines: list[Text] = []
    offers = entry.step.fixes if entry.step else []
    for offer in offers:
        if offer.plan:
            root = " (needs root)" if offer.plan.get("needs_root") else ""
            hint = "press f" if blocked is None else "f shows its plan"
            lines.append(Text.assemble("Fix offered: ", literal(offer.plan["title"]), root,
                                       f" - {hint}"))
        else:
            lines.append(literal(unavailable_line(offer)))
    if blocked is not None and any(offer.plan for offer in offers):
        lines.append(Text(blocked.hint))
    if entry.recheck is not None:
        recheck = entry.recheck
        lines.append(Text.assemble(f"Checked again: {glyph(recheck.status)} ",
                                   literal(recheck.summary)))
    if entry.fix is not None:
        lines.append(literal(entry.fix.verdict, "bold"))
    return Text("\n").join(lines)


TITLE = "Details"
# The border title says where the keys go, since focus must show without colour
# (NO_COLOR, the Linux console): the border also changes kind, except in ASCII.
FOCUSED_TITLE = "Details - Up/Down scroll, Tab back"


class StepDetail(VerticalScroll):
    """Focusable (Tab) so long findings and evidence scroll with the arrow keys."""

    DEFAULT_CSS = sibling_css(__file__)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._asked: int | None = None  # the step index whose answers are listed
        self._evidence_open = False
        self.border_title = TITLE

    def on_focus(self) -> None:
        self.border_title = FOCUSED_TITLE

    def on_blur(self) -> None:
        self.border_title = TITLE

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        yield Static(id="detail-question")
        yield Static(id="detail-state")
        yield Static(id="detail-finding")
        yield Static(id="detail-evidence")
        yield Static(id="detail-fixes")
        yield ChoiceList(id="choices")

    def _set(self, widget_id: str, content: Text) -> None:
        widget = self.query_one(f"#{widget_id}", Static)
        widget.update(content)
        widget.display = bool(content.plain)

    def show(self, entry: Entry, state: WalkState, evidence_open: bool,
             blocked: FixBlocked | None) -> None:
        step = entry.step
        self._set("detail-title", heading(entry))
        question = entry.node.question
        # an untitled step is headed by its question already: say it once
        asked = question and question != entry.label
        self._set("detail-question", literal(question) if asked else Text(""))
        self._set("detail-state", state_line(entry, state))
        self._set("detail-finding", literal(step.text or step.summary) if step else Text(""))
        self._set("detail-evidence", evidence_block(entry, evidence_open))
        self._set("detail-fixes", fixes_block(entry, blocked))
        self._reveal_evidence(evidence_open)
        choices = self.query_one(ChoiceList)
        asking = step is None and entry.node.kind == "ask"
        if asking and self._asked != entry.index:  # a new question: fresh answers
            choices.show_choices(entry.node.choices)
            self._asked = entry.index
        if choices.has_focus and not asking:
            # The answers vanish under the cursor: the steps take the keys again, where
            # Textual would leave focus nowhere (and Tab would start from the first pane).
            self.screen.query_one(StepList).focus()
        choices.display = asking

    def _reveal_evidence(self, evidence_open: bool) -> None:
        """When `v` opens the evidence, scroll it into view: below a long finding it would
        open out of sight, and the steps list (not this pane) has the arrow keys."""
        opened = evidence_open and not self._evidence_open
        self._evidence_open = evidence_open
        evidence = self.query_one("#detail-evidence", Static)
        if opened and evidence.display:
            self.call_after_refresh(evidence.scroll_visible, animate=False)

    def tick(self, entry: Entry, state: WalkState) -> None:
        self._set("detail-state", state_line(entry, state))
