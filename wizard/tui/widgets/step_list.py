"""The flow's steps so far, one line each with an ASCII status mark."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from wizard.tui.css import sibling_css
from wizard.tui.glyphs import ASKING, PENDING, STATUS_STYLE, glyph, spinner
from wizard.tui.plain import literal
from wizard.tui.walk_state import Entry, WalkState
from wizard.tui.widgets.marked_list import MarkedList


def row(entry: Entry, state: WalkState) -> Text:
    """'[!!] Is nginx running?' for a step; a spinner or '[ >]' for the current node."""
    title = entry.label
    if entry.step is None:
        if state.running and state.running_index == entry.index:
            mark = spinner(state.elapsed())
        else:
            mark = ASKING if entry.node.kind == "ask" else PENDING
        return Text.assemble((mark, "bold"), " ", literal(title))
    status = entry.status
    assert status is not None
    if state.running and state.running_index == entry.index:
        mark = spinner(state.elapsed())
    else:
        mark = glyph(status)
    suffix = " (fixed)" if entry.fix and entry.fix.fixed else ""
    return Text.assemble((mark, STATUS_STYLE[status]), " ", literal(title), suffix)


class StepList(MarkedList):
    """Steps walked so far; the highlighted one is shown on the right."""

    DEFAULT_CSS = sibling_css(__file__)
    BINDINGS = [
        Binding("j", "cursor_down", show=False),
        Binding("k", "cursor_up", show=False),
    ]
