"""The one plain sentence said after a fix ran."""

from __future__ import annotations

from wizard.engine.transcript import Step
from wizard.fixes.result import AppliedFix


def verdict(step: Step, applied: AppliedFix) -> str:
    """Did the check that found the problem pass now? (Session.apply_fix re-ran it.)"""
    if step.kind != "check":
        return ("Applied: the commands succeeded; this step has no check to run again."
                if applied.succeeded else "Not fixed: a command failed (see the output).")
    if applied.succeeded:
        return "Fixed: the check now passes."
    return f"Not fixed: {applied.after.split(': ', 1)[-1] or 'a command failed'}"
