"""Did a fix work? Judged on fresh evidence only, never on the lines that found the problem.

The strongest proof is the failing path answering now (the address, or the very request
nginx logged as failing, sent again). Next comes a check that reads the live host (is the
pool running, does fastcgi_pass point at it). A check over the error log proves a failure
only with lines written after the fix; its silence proves nothing yet, because nobody may
have requested the page since. So a fix is:

- fixed: the failing path answers without a gateway error, or (no request possible) a
  live check passes;
- failing: the request still gets 502/503/504 or is refused, or (no answer) a live check
  still fails, or new log lines show the same failure;
- unproven: nothing fresh says either way; the person reloads the page to see.

Only `failing` may roll a config change back: a repair that answers now is never undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.checks.request import GATEWAY_ERRORS
from wizard.outcome import Status

FIXED, FAILING, UNPROVEN = "fixed", "failing", "unproven"


@dataclass
class Proof:
    verdict: str  # FIXED | FAILING | UNPROVEN
    text: str  # one plain sentence for the person
    evidence: list[str] = field(default_factory=list)


def judge_answer(record: dict[str, Any]) -> str:
    """What one request after the fix says."""
    if record.get("timed_out"):
        return UNPROVEN  # a slow page is not a 502; a longer timeout may be the very fix
    if record.get("error") is not None:
        return FAILING
    return FAILING if int(record.get("status") or 0) in GATEWAY_ERRORS else FIXED


def describe_answer(record: dict[str, Any]) -> Proof:
    verdict = judge_answer(record)
    url = record.get("url")
    lines = [str(ev.get("line")) for ev in record.get("log_events") or [] if ev.get("signature")]
    if verdict == FIXED:
        status = record["status"]
        extra = "" if status < 500 else " (an error of the application itself, not the 502)"
        return Proof(FIXED, f"{url} now answers {status}{extra}: fixed", lines)
    if verdict == UNPROVEN:
        return Proof(UNPROVEN, f"applied, not yet proven: {url} gave no answer within "
                     f"{record.get('duration') or 0:g}s; reload the page to see", lines)
    answer = (f"still answers {record['status']}" if record.get("error") is None
              else f"still fails: {record['error']}")
    why = f": {lines[0]}" if lines else ""
    return Proof(FAILING, f"{url} {answer}{why}", lines)


def judge_check(status: Status, summary: str, reads_logs: bool) -> Proof:
    """What the re-run check says, when no request could prove it."""
    if reads_logs:
        if status == Status.PROBLEM:
            return Proof(FAILING, f"not fixed: new log lines since the fix: {summary}")
        return Proof(UNPROVEN, "applied, not yet proven: no request has reached the failing "
                     "page since the fix; reload the page to see")
    if status == Status.OK:
        return Proof(FIXED, f"fixed: {summary}")
    if status in (Status.PROBLEM, Status.WARNING):
        return Proof(FAILING, f"not fixed: {summary}")
    return Proof(UNPROVEN, f"applied, not yet proven: {summary}")
