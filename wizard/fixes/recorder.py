"""Running a fix's commands: each with the fix's privilege, shown as it runs, and kept for
the transcript with its role (guard, command, edit, validate, rollback...).

What the person reads is the fix itself: the commands that change the host, with their
output. The questions the fix asks the host first (guards, checksums, listings) are shown
as a question and its answer ("Is php8.2-fpm already running? no"), never as the raw
output of the probe, which reads like a failure ("... is not running ... failed!"); that
output stays in the transcript, where `v` and a senior's review find it."""

from __future__ import annotations

import shlex
import time
from typing import Any

from wizard.fixes.base import listing_digest
from wizard.fixes.privilege import RootAccess
from wizard.host.commands import CommandResult, Output

COMMAND_TIMEOUT = 120.0
QUIET_ROLES = ("guard", "check", "precondition")  # questions, not changes


def _drop(line: str) -> None:
    """Where a quiet command's output goes on screen: nowhere (the record keeps it)."""


class CommandRecorder:
    """Runs commands with the fix's privilege, shows each, keeps each for the transcript."""

    def __init__(self, root: RootAccess, on_output: Output,
                 records: list[dict[str, Any]] | None = None) -> None:
        self.root = root
        self.on_output = on_output
        self.records: list[dict[str, Any]] = records if records is not None else []

    def run(self, argv: list[str], role: str, quiet: bool | None = None) -> CommandResult:
        """Run argv as the fix's user. Changes are shown with their output; questions
        (QUIET_ROLES) and file copies run silently and the caller says in words what they
        found or did."""
        quiet = role in QUIET_ROLES if quiet is None else quiet
        if not quiet:
            self.on_output("$ " + shlex.join([*self.root.prefix(), *argv]))
        started = time.time()
        result = self.root.run(argv, _drop if quiet else self.on_output, COMMAND_TIMEOUT)
        if not result.ok and not quiet:
            self.on_output(result.error or f"exit code {result.returncode}")
        self.records.append({**result.to_json(), "role": role, "started": started})
        return result


def guard_question(plan: dict[str, Any], index: int) -> str:
    asks = plan.get("asks") or []
    ask = asks[index] if index < len(asks) else None
    return ask or "Is this already in place?"


def run_commands(rec: CommandRecorder, plan: dict[str, Any]) -> bool:
    """Each command unless its guard exits 0 (already in place); stops at a failure."""
    guards = plan.get("guards") or []
    for index, argv in enumerate(plan.get("commands") or []):
        guard = guards[index] if index < len(guards) else None
        if guard:
            question = guard_question(plan, index)
            answer = rec.run(guard, "guard")
            if answer.ok:
                rec.on_output(f"{question} yes, so this is skipped: {shlex.join(argv)}")
                continue
            if answer.returncode is None:  # the question itself could not be asked
                rec.on_output(f"{question} could not tell ({answer.error}), so:")
            else:
                rec.on_output(f"{question} no, so:")
        if not rec.run(argv, "command").ok:
            return False
    return True


def unchanged_since_plan(rec: CommandRecorder, plan: dict[str, Any]) -> str | None:
    """None when every precondition's listing reads as at plan time, else why not."""
    for item in plan.get("preconditions") or []:
        result = rec.run(list(item["argv"]), "precondition")
        if not result.ok:
            return f"could not read {item['what']} again ({result.error or result.output})"
        if listing_digest(result.stdout + result.stderr) != item["sha256"]:
            return (f"{item['what']} changed since the plan was made, so nothing was run; "
                    "look at the fix again to see the current plan")
    return None
