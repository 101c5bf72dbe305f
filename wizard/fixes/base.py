"""Fix actions: each makes a plan first (exact commands, root or not, undo), runs only
after the person confirms it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizard.host.facts import Facts


class FixNotApplicable(Exception):
    """The fix cannot be planned on this host; str(exc) says why."""


@dataclass
class FixPlan:
    id: str
    title: str
    commands: list[list[str]]
    needs_root: bool
    undo: list[list[str]] = field(default_factory=list)
    diff: str | None = None  # for config edits: the unified diff shown before applying
    verify: str = ""  # what proves it worked, in plain words
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "needs_root": self.needs_root,
            "commands": self.commands, "undo": self.undo, "diff": self.diff,
            "verify": self.verify, "notes": self.notes,
        }


PlanFn = Callable[[dict[str, str], Facts], FixPlan]


@dataclass(frozen=True)
class FixAction:
    name: str
    params: tuple[str, ...]
    plan: PlanFn
    doc: str


ACTIONS: dict[str, FixAction] = {}


def fix_action(name: str, params: tuple[str, ...] = ()) -> Callable[[PlanFn], PlanFn]:
    def register(fn: PlanFn) -> PlanFn:
        ACTIONS[name] = FixAction(name, params, fn, (fn.__doc__ or "").strip())
        return fn

    return register


def fix_id(action: str, args: dict[str, str]) -> str:
    """A stable id for `diagnose --fix ID`: the action and its argument values."""
    return ":".join([action, *(args[k] for k in sorted(args))])
