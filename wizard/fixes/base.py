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
class FileEdit:
    """Replace a config file's text. `old_sha256` guards against a file changed since the
    plan was shown: then nothing is written."""

    path: str
    new_text: str
    old_sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "new_text": self.new_text, "old_sha256": self.old_sha256}


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
    # guards[i], when given, is a command that exits 0 when commands[i] is already in
    # effect (e.g. `iptables -C` for the rule `iptables -I` would add): then it is skipped,
    # so applying a fix twice never adds a duplicate.
    guards: list[list[str] | None] = field(default_factory=list)
    # Config edits are written (with a backup) before `commands` run, checked with
    # `validate` (e.g. nginx -t), and rolled back when validation or the re-check fails.
    edits: list[FileEdit] = field(default_factory=list)
    validate: list[list[str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "needs_root": self.needs_root,
            "commands": self.commands, "undo": self.undo, "diff": self.diff,
            "verify": self.verify, "notes": self.notes, "guards": self.guards,
            "edits": [e.to_json() for e in self.edits], "validate": self.validate,
        }


PlanFn = Callable[[dict[str, str], Facts], FixPlan]


@dataclass(frozen=True)
class FixAction:
    name: str
    params: tuple[str, ...]  # required arguments
    plan: PlanFn
    doc: str
    optional: tuple[str, ...] = ()  # arguments a flow may give, or leave out


ACTIONS: dict[str, FixAction] = {}


def fix_action(name: str, params: tuple[str, ...] = (),
               optional: tuple[str, ...] = ()) -> Callable[[PlanFn], PlanFn]:
    def register(fn: PlanFn) -> PlanFn:
        ACTIONS[name] = FixAction(name, params, fn, (fn.__doc__ or "").strip(), optional)
        return fn

    return register


def fix_id(action: str, args: dict[str, str]) -> str:
    """A stable id for `diagnose --fix ID`: the action and its argument values."""
    return ":".join([action, *(args[k] for k in sorted(args))])
