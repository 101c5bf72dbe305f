"""No --url, and the logs named no failing address the wizard may request (or the person
wants another one): the person types the address that answers 502. Enter uses it; an
address that cannot be requested keeps the screen open with the reason under the input;
Escape walks on without an address (or, opened from the pick list, goes back to it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from wizard.tui.plain import literal

EXAMPLE = "https://shop.example/cart"
WHY = ("Type the address that answers 502, as a visitor would type it. The wizard requests "
       "it itself and reads the log lines that request causes: they name the cause.")
WALK_ON = "walk on without an address"
EMPTY = "Type an address first, or press Escape."


class AskAddressScreen(ModalScreen[Optional[str]]):
    """Dismisses with the address once `use` took it (it raises ValueError with the reason
    when the address cannot be requested), or None when the person walks on without one."""

    CSS_PATH = "ask_address.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Leave", key_display="Esc")]

    def __init__(self, use: Callable[[str], None], why_asked: str = "",
                 escape_does: str = WALK_ON) -> None:
        super().__init__()
        self.use = use
        self.why_asked = why_asked  # a sentence on why the wizard asks now, if any
        self.escape_does = escape_does

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Which address answers 502?", id="ask-title")
            yield Static(" ".join(filter(None, [self.why_asked, WHY])), id="ask-why")
            yield Input(placeholder=f"for example {EXAMPLE}", id="address")
            yield Static("", id="ask-reason")
            yield Static(f"Enter: use this address.  Escape: {self.escape_does}.")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        if not typed:
            self._show_reason(EMPTY)
            return
        try:
            self.use(typed)
        except ValueError as exc:
            self._show_reason(f"That address will not do: {exc}")
            return
        self.dismiss(typed)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show_reason("")  # the old reason is about what was typed before

    def _show_reason(self, text: str) -> None:
        self.query_one("#ask-reason", Static).update(literal(text))  # typed text: no markup
