"""A fix offer in words for the screen: its plan's title, or what the fix would do and why
no plan could be made here.

Action ids such as `nginx.set_buffer_size` are for flows, the transcript and the JSON
report; a person reads what the fix does (the action's one-line description) instead.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

from wizard.engine.placeholders import unresolved
from wizard.engine.transcript import FixOffer
from wizard.fixes import ACTIONS
from wizard.words import lower_first

UNKNOWN_ACTION = ("the flow names a fix this wizard does not have "
                  "(`nginx-502-wizard flows lint` finds it)")
MISSING_VALUE = "a value it needs was not found on this host"


def action_words(action: str) -> str:
    """The first sentence of the action's description (fixes.base.FixAction.doc: 'Start a
    stopped service'), or 'A fix' when the action is unknown or undocumented."""
    spec = ACTIONS.get(action)
    doc = " ".join(spec.doc.split()) if spec else ""
    first = re.split(r"(?<=\.)\s", doc, maxsplit=1)[0].rstrip(".")
    return first or "A fix"


def offer_title(offer: FixOffer) -> str:
    title = (offer.plan or {}).get("title")
    return str(title) if title else action_words(offer.action)


def why_unavailable(offer: FixOffer) -> str:
    """Why no plan: decided from the offer itself, as the engine decided it, so the
    engine's own sentence (which names the action or its placeholders) is not shown."""
    if offer.action not in ACTIONS:
        return UNKNOWN_ACTION
    if any(unresolved(value) for value in offer.args.values()):
        return MISSING_VALUE
    return offer.unavailable or "no plan could be made here"


def unavailable_line(offer: FixOffer) -> str:
    """'No fix here to start a stopped service: no service manager was found ...'."""
    what = action_words(offer.action)
    if what == "A fix":  # unknown or undocumented: nothing more to say about it
        return f"No fix here: {why_unavailable(offer)}"
    return f"No fix here to {lower_first(what)}: {why_unavailable(offer)}"


ELLIPSIS = "..."  # ASCII: the Linux console's font has no single-glyph ellipsis


def footer_label(title: str, room: int) -> str:
    """`title` as it fits in `room` columns: whole, or cut after a whole word and ended
    with '...' ('Set request_terminate_timeout = 30s...'); '' when not even one word fits.
    A footer cut mid-word by the terminal's edge reads as a different fix."""
    title = " ".join(title.split())
    if cell_len(title) <= room:
        return title
    words = title.split(" ")
    for count in range(len(words) - 1, 0, -1):
        shown = " ".join(words[:count]).rstrip(",;:=- ") + ELLIPSIS
        if cell_len(shown) <= room:
            return shown
    return ""
