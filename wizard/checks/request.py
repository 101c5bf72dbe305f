"""The check on the address the person gave (--url): what it answers right now, and the
error-log lines that this very request caused, the freshest evidence there is."""

from __future__ import annotations

from typing import Any

from wizard.checks.base import check
from wizard.checks.program_name import program_in_log
from wizard.host.facts import Facts
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, CheckResult, Evidence, Status
from wizard.signatures import BY_NAME

GATEWAY_ERRORS = (502, 503, 504)
MAX_EVIDENCE = 5


def _fresh_causes(events: list[dict[str, Any]]) -> list[str]:
    """Cause ids of the recognised fresh lines, each line's own order kept, first line first."""
    ordered: list[str] = []
    for ev in events:
        for cause_id in ev.get("causes") or []:
            if cause_id not in ordered:
                ordered.append(cause_id)
    return ordered


def _evidence(record: dict[str, Any], events: list[dict[str, Any]]) -> list[Evidence]:
    answer = (f"GET {record['url']} -> {record['status']} {record['reason'] or ''}".strip()
              if record["status"] is not None else f"GET {record['url']} -> {record['error']}")
    lines = [Evidence("error_log", f"{ev['source']}: {ev['line']}") for ev in events
             if ev.get("signature")][:MAX_EVIDENCE]
    return [Evidence("probe", answer), *lines]


@check("request.url",
       results={"ok": Status.OK, "bad_gateway": Status.PROBLEM,
                "server_error": Status.WARNING, "unreachable": Status.PROBLEM},
       facts=("url_request", "listening", "processes", "phpfpm"))
def request_url(facts: Facts) -> CheckResult:
    """What does --url answer now, and what did nginx log while answering it?"""
    if not facts.options.url:
        return CheckResult("skipped", "no --url was given, so no request was made")
    record = facts.get("url_request")
    events = [ev for ev in record.get("log_events") or [] if ev.get("signature")]
    first = events[0] if events else {}
    signature = BY_NAME.get(first.get("signature") or "")
    program = program_in_log(facts, first.get("fields") or {}) if first else None
    variables = {
        "url": record["url"], "status": record["status"], "error": record["error"],
        "duration": record["duration"], "fresh_count": len(events),
        "message": first.get("line", ""),
        "explanation": signature.explained(program) if signature else "",
        "program": program or "",
        "log_file": first.get("source", ""),
        "signature": first.get("signature") or "",
        "upstream": (first.get("fields") or {}).get("upstream") or "",
    }
    evidence = _evidence(record, events)
    if record["error"] is not None:
        return CheckResult("unreachable", f"{record['url']} could not be reached: "
                           f"{record['error']}", vars=variables, evidence=evidence,
                           confidence=CIRCUMSTANTIAL)
    status = int(record["status"])
    if status in GATEWAY_ERRORS:
        if not events:
            return CheckResult("bad_gateway", f"{record['url']} answers {status}; nginx wrote "
                               "no error-log line for it that the wizard could read",
                               vars=variables, evidence=evidence, confidence=CIRCUMSTANTIAL)
        said = signature.says(program) if signature else first["line"]
        return CheckResult("bad_gateway", f"{record['url']} answers {status}; nginx logged "
                           f"for it: {said}",
                           vars=variables, evidence=evidence, confidence=DIRECT,
                           causes=_fresh_causes(events))
    if status >= 500:
        return CheckResult("server_error", f"{record['url']} answers {status}, an error of the "
                           "application itself rather than a gateway error",
                           vars=variables, evidence=evidence, confidence=CIRCUMSTANTIAL,
                           causes=_fresh_causes(events))
    return CheckResult("ok", f"{record['url']} answers {status}", vars=variables,
                       evidence=evidence)
