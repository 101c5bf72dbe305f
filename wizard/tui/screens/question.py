"""A question asked from the verdict or the summary: the walk took its safe default while
the checks ran ahead, and the person's answer could change the diagnosis."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static

from wizard.flow.model import Node
from wizard.tui.plain import literal
from wizard.tui.widgets.choice_list import ChoiceList


class QuestionScreen(ModalScreen[Optional[str]]):
    """Dismisses with the chosen answer's key, or None (Escape)."""

    CSS_PATH = "question.tcss"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back", key_display="Esc"),
        *(Binding(str(n), f"pick({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(self, node: Node, current: str | None) -> None:
        super().__init__()
        self.node = node
        self.current = current  # the answer taken so far (the default), highlighted

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(literal(self.node.question or self.node.title, "bold"))
            yield ChoiceList(id="question-choices")
            yield Static("1-9 or arrows + Enter to answer; Escape keeps the answer "
                         "taken so far.")

    def on_mount(self) -> None:
        choices = self.query_one(ChoiceList)
        choices.show_choices(self.node.choices, self.current or self.node.default_choice)
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_pick(self, number: int) -> None:
        if 1 <= number <= len(self.node.choices):
            self.dismiss(self.node.choices[number - 1].key)
