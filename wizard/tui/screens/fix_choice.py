"""When a finding offers several fixes (allow the port, or turn the firewall off for two
minutes), the person picks one by number or arrows before its plan is shown."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from wizard.engine.transcript import FixOffer
from wizard.tui.fix_words import offer_title
from wizard.tui.plain import literal


class FixChoiceScreen(ModalScreen[Optional[int]]):
    """Dismisses with the index of the chosen fix among the step's plans, or None."""

    CSS_PATH = "fix_choice.tcss"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back", key_display="Esc"),
        *(Binding(str(n), f"pick({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(self, offers: list[FixOffer]) -> None:
        super().__init__()
        self.offers = offers

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Which fix? (the next screen shows its commands first)")
            yield OptionList(*(
                Option(literal(f"{n}. {offer_title(offer)}"),
                       id=str(n - 1))
                for n, offer in enumerate(self.offers, 1)), id="fix-choices")
            yield Static("1-9 or arrows + Enter to choose, Escape to go back.")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_pick(self, number: int) -> None:
        if 1 <= number <= len(self.offers):
            self.dismiss(number - 1)
