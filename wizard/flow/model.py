"""The flow file format: a decision tree as data.

These dataclasses are the single source of truth: the loader binds YAML to them,
and the JSON Schema shipped for editors is generated from them. Each field's
`doc` metadata becomes the schema description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NodeKind = Literal["check", "ask", "info", "end"]


def doc(text: str, default: Any = None, factory: Any = None) -> Any:
    """A dataclass field with a description (and an optional default)."""
    meta = {"doc": text}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class FixRef:
    """A fix to offer: a fix action and its arguments."""

    action: str = doc("Fix action name, e.g. service.start (see `flows lint`).")
    args: dict[str, str] = doc(
        "Arguments; values may use {placeholders} from the check's facts.", factory=dict)
    line: int = 0


@dataclass
class Outcome:
    """What happens after a check ends with one result."""

    text: str = doc("Plain-language explanation; {placeholders} are filled from the check.", "")
    cause: str | None = doc("Cause id this outcome establishes (see CONTRACTS.md).")
    rules_out: list[str] = doc(
        "Cause ids this outcome disproves (e.g. PHP-FPM answers now): a log line that "
        "suggests them ranks below causes nothing disproves.", factory=list)
    explains: list[str] = doc(
        "Cause ids this outcome's cause brings about (a wrong server block sends the request "
        "to a dead backend): when found too, they rank right after it.", factory=list)
    fixes: list[FixRef] = doc("Fixes to offer.", factory=list)
    next: str | None = doc("Id of the next node; omit to end the walk here.")
    line: int = 0


@dataclass
class Choice:
    """One answer to an `ask` node."""

    key: str = doc("Short id of the answer, used by --answer NODE=KEY.", "")
    label: str = doc("What the person reads on the button or list.", "")
    text: str = doc("Explanation recorded when this answer is picked.", "")
    cause: str | None = doc("Cause id this answer establishes.")
    fixes: list[FixRef] = doc("Fixes to offer for this answer.", factory=list)
    next: str | None = doc("Id of the next node; omit to end the walk here.")
    line: int = 0


@dataclass
class Node:
    """One step of the walk."""

    id: str = doc("Unique id of the node within its flow.", "")
    kind: NodeKind = doc("check: run a check; ask: ask the person; info: say something; "
                         "end: a conclusion.", "check")
    title: str = doc("Short title shown in the list of steps.", "")
    question: str = doc("The question this step answers, in plain words.", "")
    check: str | None = doc("Check name (kind: check).")
    on: dict[str, Outcome] = doc(
        "Outcome per check result (ok, problem names the check declares, unknown, skipped).",
        factory=dict)
    default: Outcome | None = doc("Outcome for results not listed under `on` (kind: check).")
    choices: list[Choice] = doc("Answers (kind: ask).", factory=list)
    default_choice: str | None = doc(
        "Key of the answer taken until the person answers (headless, and while the checks "
        "run ahead in the TUI). Make it the safe one: 'No, or I do not know'.")
    ask_if: dict[str, list[str]] = doc(
        "Ask only when an earlier check found a reason to: check node id -> its results "
        "(e.g. {phpfpm_capacity: [low]}). When none matched, the question is not asked and "
        "the walk goes on as if default_choice was picked.", factory=dict)
    text: str = doc("What to tell the person (kind: info and end).", "")
    cause: str | None = doc("Cause id this node establishes (kind: end).")
    fixes: list[FixRef] = doc("Fixes to offer (kind: info and end).", factory=list)
    next: str | None = doc("Id of the next node (kind: info).")
    line: int = 0


@dataclass
class Flow:
    """A whole decision tree."""

    flow: str = doc("Name of the flow, used with --flow.", "")
    title: str = doc("Human title of the flow.", "")
    description: str = doc("What the flow diagnoses.", "")
    symptom: str = doc("What the person sees, as the reports say it: \"No cause of a "
                       "{symptom} was found\" (502, 504...).", "502")
    start: str = doc("Id of the first node.", "")
    nodes: list[Node] = doc("The nodes of the tree.", factory=list)
    path: str = ""
    line: int = 0

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    @property
    def by_id(self) -> dict[str, Node]:
        return {node.id: node for node in self.nodes}


# Fields filled by the loader, not by authors.
INTERNAL_FIELDS = frozenset({"line", "path"})
