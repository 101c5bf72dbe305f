"""A flow whose one finding carries every kind of internal name: a dotted check id, node
ids, a cause id, a fix that has a plan and fixes that have none (the action refuses this
host, the action does not exist, an argument's placeholder is not known), and evidence
from the error log. Screens and reports over it must say all of these in words."""

from __future__ import annotations

from wizard.causes import CAUSES
from wizard.checks import REGISTRY
from wizard.checks import load_all as load_checks
from wizard.fixes import ACTIONS
from wizard.fixes import load_all as load_fixes
from wizard.flow.model import FixRef, Flow, Node, Outcome
from wizard.host.facts import Facts
from wizard.outcome import CheckResult, Evidence

CHECK = "test.header_size"
CAUSE = "header_too_big"
FIXES = [
    # refused by the action on these facts: "the error log does not show a too-big ..."
    FixRef("nginx.set_buffer_size", {"kind": "fastcgi", "size": "32k",
                                     "signature": "upstream_timeout"}),
    FixRef("nosuch.action", {}),  # no such action
    FixRef("service.restart", {"service": "{missing_service}"}),  # placeholder not known
    FixRef("service.start", {"service": "nginx"}),  # a plan: "Start nginx"
]


def header_check(facts: Facts) -> CheckResult:
    return CheckResult("bad", "the header is 20k, nginx allows 4k",
                       evidence=[Evidence("error_log", "upstream sent too big header")])


def words_flow() -> Flow:
    """The finding's node has no title: the screen must not fall back to its id."""
    return Flow(flow="words", title="Plain words", start="header_node", nodes=[
        Node(id="header_node", kind="check", check=CHECK,
             question="Does the response header fit nginx's buffer?", on={
                 "bad": Outcome(text="The response header is too big for nginx.",
                                cause=CAUSE, fixes=list(FIXES), next="end_node"),
                 "ok": Outcome(next="end_node")}),
        Node(id="end_node", kind="end", text="That is all."),
    ])


def internal_names(report: dict[str, object] | None = None) -> list[str]:
    """Every id a person must not read: this flow's, every fix action and check id,
    every cause id, and (given a report) every fix id it offers."""
    load_fixes()
    load_checks()
    names = [CHECK, "header_node", "end_node", "nosuch.action", "missing_service",
             "error_log", *ACTIONS, *REGISTRY, *CAUSES]
    for cause in (report or {}).get("causes", []):  # type: ignore[attr-defined]
        names += [fix["id"] for fix in cause["fixes"]]
    return names


def shown(text: str, names: list[str]) -> list[str]:
    return [name for name in names if name in text]
