"""Running a confirmed fix plan: each command in turn, output streamed, stopped at the
first failure. The caller (TUI or headless) re-runs the check afterwards to prove it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from wizard.engine.transcript import AppliedFix
from wizard.host.commands import CommandResult, run, which
from wizard.host.facts import Facts

COMMAND_TIMEOUT = 120.0


def privilege_prefix(needs_root: bool) -> list[str] | None:
    """[] when we may run as we are, ["sudo", "-n"] when sudo works without a password,
    None when root is needed and cannot be had without asking."""
    if not needs_root or os.geteuid() == 0:
        return []
    if which("sudo") and run(["sudo", "-n", "true"], timeout=10).ok:
        return ["sudo", "-n"]
    return None


def _stream(argv: list[str], on_output: Callable[[str], None]) -> CommandResult:
    started = time.monotonic()
    program = which(argv[0])
    if program is None:
        return CommandResult(argv, None, error=f"{argv[0]} is not installed")
    try:
        proc = subprocess.Popen(  # argv list from a plan, no shell
            [program, *argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace",
        )
    except OSError as exc:
        return CommandResult(argv, None, error=f"could not run {argv[0]}: {exc.strerror}")
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:  # a command that hangs without output is ended by wait() below
        lines.append(line)
        on_output(line.rstrip("\n"))
        if time.monotonic() - started > COMMAND_TIMEOUT:
            break
    try:
        left = COMMAND_TIMEOUT - (time.monotonic() - started)
        code: int | None = proc.wait(timeout=max(1.0, left))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return CommandResult(argv, None, "".join(lines),
                             error=f"timed out after {COMMAND_TIMEOUT:g}s",
                             duration=time.monotonic() - started)
    return CommandResult(argv, code, "".join(lines), duration=time.monotonic() - started)


def apply_fix(plan: dict[str, Any], facts: Facts,
              on_output: Callable[[str], None] = lambda line: None) -> AppliedFix:
    """Run the plan's commands (the person has confirmed it). Facts are invalidated after."""
    confirmed = time.time()
    prefix = privilege_prefix(bool(plan.get("needs_root")))
    if prefix is None:
        on_output("Root is needed and sudo asks for a password; run these yourself:")
        for argv in plan["commands"]:
            on_output("  sudo " + " ".join(argv))
        return AppliedFix(plan["id"], confirmed, [], succeeded=False,
                          after="not run: root needed")
    results: list[dict[str, Any]] = []
    succeeded = True
    for argv in plan["commands"]:
        full = [*prefix, *argv]
        on_output("$ " + " ".join(full))
        result = _stream(full, on_output)
        results.append(result.to_json())
        if not result.ok:
            on_output(result.error or f"exit code {result.returncode}")
            succeeded = False
            break
    facts.invalidate()
    return AppliedFix(plan["id"], confirmed, results, succeeded=succeeded)
