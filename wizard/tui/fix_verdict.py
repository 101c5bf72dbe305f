"""The one plain sentence said after a fix ran."""

from __future__ import annotations

from wizard.engine.transcript import Step
from wizard.fixes.result import AppliedFix

_HEADS = {"fixed": "Fixed", "failing": "Not fixed", "unproven": "Applied, not yet proven"}


def verdict(step: Step, applied: AppliedFix) -> str:
    """What fresh evidence said after the fix (Session.apply_fix judged it): the address
    answering now, or why it is not proven yet, or why nothing ran."""
    text = applied.after or "a command failed (see the output)"
    head = _HEADS.get(applied.proof)
    if head is None:  # the commands did not run to the end, or were refused
        return f"Not fixed: {text}"
    if text.lower().startswith(head.lower()):
        return head + text[len(head):]
    if applied.proof == "fixed" and text.endswith(": fixed"):
        return text  # "http://... now answers 200: fixed" says it already
    return f"{head}: {text}"
