"""A practice run without the TUI: the same walk `diagnose` makes on the sandbox, and on
request the first fix offered for the first cause, applied inside the sandbox. For
scripts, demos and the tests that prove every scenario is found and fixed."""

from __future__ import annotations

from typing import Any

from wizard.engine.facts_source import open_facts
from wizard.engine.report import build_report, exit_code
from wizard.engine.runner import Session
from wizard.engine.transcript import FixOffer, Step
from wizard.flow.library import find_flow
from wizard.options import Options


def diagnose(options: Options, check_timeout: float | None = None) -> tuple[Session,
                                                                              dict[str, Any]]:
    """Walk the flow on the sandbox's live facts; the session and its report."""
    facts = open_facts(options)
    session = Session(find_flow(options.flow, options.flow_dirs), facts,
                      check_timeout=check_timeout)
    session.prefetch()
    session.run()
    return session, build_report(session.transcript, facts)


def first_offer(session: Session, report: dict[str, Any]) -> tuple[Step, FixOffer] | None:
    """The step and offer of the first fix the report gives its first cause."""
    causes = report.get("causes") or []
    wanted = [fix["id"] for fix in causes[0].get("fixes") or []] if causes else []
    for fix_id in wanted:
        for step in session.transcript.steps:
            for offer in step.fixes:
                if offer.plan and offer.plan.get("id") == fix_id:
                    return step, offer
    return None


def apply_first_fix(session: Session, report: dict[str, Any]) -> dict[str, Any] | None:
    """Run the first cause's first fix (the person's "yes" is the --fix option); what it
    did, or None when no fix is offered for that cause."""
    found = first_offer(session, report)
    if found is None:
        return None
    step, offer = found
    lines: list[str] = []
    applied = session.apply_fix(step, offer, on_output=lines.append)
    plan = offer.plan or {}
    return {"id": plan.get("id"), "title": plan.get("title"), "commands": plan.get("commands"),
            "succeeded": applied.succeeded, "proof": applied.proof, "before": applied.before,
            "after": applied.after, "output": lines}


def run_headless(options: Options, fix: bool,
                 check_timeout: float | None = None) -> tuple[int, dict[str, Any]]:
    """(exit code, result): the report, and the fix when asked for. The exit code is the
    diagnosis's (0 nothing found, 1 a problem), or after a fix 0 when it worked, else 1."""
    session, report = diagnose(options, check_timeout)
    result: dict[str, Any] = {"report": report}
    code = exit_code(report)
    if fix:
        result["fix"] = apply_first_fix(session, report)
        if result["fix"] is not None:
            code = 0 if result["fix"]["succeeded"] else 1
    return code, result
