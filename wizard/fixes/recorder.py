"""Running a fix's commands: each with the fix's privilege, shown as it runs, and kept for
the transcript with its role (guard, command, edit, validate, rollback...)."""

from __future__ import annotations

import shlex
import time
from typing import Any

from wizard.fixes.privilege import RootAccess
from wizard.host.commands import CommandResult, Output

COMMAND_TIMEOUT = 120.0


class CommandRecorder:
    """Runs commands with the fix's privilege, shows each, keeps each for the transcript."""

    def __init__(self, root: RootAccess, on_output: Output,
                 records: list[dict[str, Any]] | None = None) -> None:
        self.root = root
        self.on_output = on_output
        self.records: list[dict[str, Any]] = records if records is not None else []

    def run(self, argv: list[str], role: str) -> CommandResult:
        self.on_output("$ " + shlex.join([*self.root.prefix(), *argv]))
        started = time.time()
        result = self.root.run(argv, self.on_output, COMMAND_TIMEOUT)
        if not result.ok:
            self.on_output(result.error or f"exit code {result.returncode}")
        self.records.append({**result.to_json(), "role": role, "started": started})
        return result


def run_commands(rec: CommandRecorder, plan: dict[str, Any]) -> bool:
    """Each command unless its guard exits 0 (already in place); stops at a failure."""
    guards = plan.get("guards") or []
    for index, argv in enumerate(plan.get("commands") or []):
        guard = guards[index] if index < len(guards) else None
        if guard and rec.run(guard, "guard").ok:
            rec.on_output(f"Already in place, skipped: {shlex.join(argv)}")
            continue
        if not rec.run(argv, "command").ok:
            return False
    return True
