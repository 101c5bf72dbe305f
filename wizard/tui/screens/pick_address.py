"""No --url was given, but nginx's logs show addresses that failed: the person picks the
one that answers 502 (a number, or the arrows and Enter), and the wizard requests it
itself. "Type another address" (t) opens the input for one the logs do not show; "None of
these" (0 or Escape) walks on without an address."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static

from wizard.engine.failing_addresses import FailingAddress
from wizard.tui.plain import literal
from wizard.tui.screens.ask_address import AskAddressScreen
from wizard.tui.widgets.marked_list import MarkedList

NONE_ID = "none"
TYPE_ID = "type"
MAX_DIALOG_WIDTH = 108
# Columns after the address: " 502 504  12 times  last 59 min ago"; around it: the
# dialog's border and padding, the list's padding and scrollbar, the mark and the number.
FIXED_COLUMNS = 1 + 7 + 2 + 9 + 2 + 15
AROUND_ADDRESS = 2 + 2 + 2 + 1 + 2 + 3


def ago(epoch: float, now: float) -> str:
    """'just now', '3 min ago', '2 h ago', else the day and time."""
    seconds = max(0.0, now - epoch)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return time.strftime("%d %b %H:%M", time.localtime(epoch))


def window_words(seconds: float) -> str:
    """3600 -> 'the last hour'; 900 -> 'the last 15 minutes'."""
    if seconds == 3600:
        return "the last hour"
    if seconds < 2 * 3600:
        return f"the last {max(1, round(seconds / 60))} minutes"
    if seconds < 2 * 86400:
        return f"the last {round(seconds / 3600)} hours"
    return f"the last {round(seconds / 86400)} days"


def _clipped(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 3, 1)] + "..."


def address_row(number: int, address: FailingAddress, now: float, width: int) -> Text:
    """'1. shop.example/cart.php      502   4 times  last 3 min ago' (+ a line for a POST)."""
    statuses = " ".join(str(s) for s in address.statuses)
    times = f"{address.count} time{'s' if address.count != 1 else ''}"
    row = (f"{number}. {_clipped(address.shown, width):<{width}} {statuses:>7}  {times:>9}  "
           f"last {ago(address.last_seen, now)}")
    if not address.can_request:
        row += f"\n     {address.method}: seen failing; not requested again"  # under the address
    return literal(row)


class PickAddressScreen(ModalScreen[Optional[str]]):
    """Dismisses with the chosen address (a URL), or None: none of these, or an address
    typed instead, which `type_address` already put to use (as AskAddressScreen's `use`)."""

    CSS_PATH = "pick_address.tcss"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "None of these", key_display="Esc"),
        Binding("t", "type_address", "Type another address", show=False),
        *(Binding(str(n), f"pick({n})", show=False) for n in range(10)),
    ]

    def __init__(self, addresses: list[FailingAddress], since_seconds: float,
                 now: float | None = None, *,
                 type_address: Callable[[str], None]) -> None:
        super().__init__()
        self.addresses = addresses
        self.since_seconds = since_seconds
        self.now = time.time() if now is None else now
        self.type_address = type_address

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Which address answers 502?", id="pick-title")
            yield Static(f"nginx's logs show these addresses failing in "
                         f"{window_words(self.since_seconds)}. Pick the one that answers 502 "
                         "and the wizard requests it to watch the failure happen.")
            yield MarkedList(id="addresses")
            yield Static("1-9 or arrows + Enter: use it.  t: type another address.  "
                         "0 or Escape: none of these.")

    def on_mount(self) -> None:
        width = min(self.app.size.width - 4, MAX_DIALOG_WIDTH) - AROUND_ADDRESS - FIXED_COLUMNS
        rows = [address_row(n, a, self.now, max(width, 16))
                for n, a in enumerate(self.addresses, 1)]
        rows += [Text("t. Type another address"), Text("0. None of these / I don't know")]
        try:
            choices = self.query_one(MarkedList)
        except NoMatches:  # the app is closing (a stop signal) and its widgets went first
            return
        choices.reset(rows, [str(i) for i in range(len(self.addresses))] + [TYPE_ID, NONE_ID])
        for index, address in enumerate(self.addresses):
            if not address.can_request:
                choices.disable_option_at_index(index)
        # the most recent address that can be requested; "type another" when there is none
        choices.highlighted = next((i for i, a in enumerate(self.addresses) if a.can_request),
                                   len(self.addresses))
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == TYPE_ID:
            self.action_type_address()
            return
        self._choose(None if event.option.id == NONE_ID else int(event.option.id or 0))

    def action_type_address(self) -> None:
        """The input for an address the list lacks; Escape there comes back to this list."""
        def typed(url: str | None) -> None:
            if url:  # already in use: nothing more to choose here
                self.dismiss(None)

        asking = AskAddressScreen(self.type_address, escape_does="back to the list")
        self.app.push_screen(asking, typed)

    def action_pick(self, number: int) -> None:
        if number == 0:
            self.dismiss(None)
        elif number <= len(self.addresses):
            self._choose(number - 1)

    def _choose(self, index: int | None) -> None:
        if index is None:
            self.dismiss(None)
            return
        address = self.addresses[index]
        if not address.can_request:
            self.notify(f"That was a {address.method} request; the wizard never sends one "
                        "again. Pick a GET address, t to type one, or 0 for none.",
                        markup=False)
            return
        self.dismiss(address.url)
