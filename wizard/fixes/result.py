"""What became of a fix the person confirmed: the commands that ran and whether it worked.

It lives with the fixes (apply makes it, rollback reads it); the engine's transcript keeps
a list of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AppliedFix:
    """A fix the person confirmed: what ran, what it printed, and whether it worked."""

    id: str
    confirmed_at: float
    commands: list[dict[str, Any]]  # CommandResult.to_json() each
    succeeded: bool
    before: str = ""
    after: str = ""
    # What fresh evidence said afterwards (engine/fix_proof.py): fixed | failing | unproven;
    # empty when the commands did not run to the end.
    proof: str = ""
    # Config fixes: each file's backup ({path, backup, sha256, undo: cp argv}) and the
    # commands to run again after restoring them (the reload), so a rollback needs
    # nothing but this record.
    backups: list[dict[str, Any]] = field(default_factory=list)
    restore_commands: list[list[str]] = field(default_factory=list)
