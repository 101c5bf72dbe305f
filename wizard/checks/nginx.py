"""Checks about nginx itself: installed, running."""

from __future__ import annotations

from wizard.checks.base import check
from wizard.host.facts import Facts
from wizard.host.processes import named
from wizard.outcome import DIRECT, CheckResult, Evidence, Status


@check("nginx.running", results={"ok": Status.OK, "stopped": Status.PROBLEM},
       facts=("processes",), causes=("nginx_not_running",))
def nginx_running(facts: Facts) -> CheckResult:
    """Is an nginx master process running?"""
    masters = [p for p in named(facts.get("processes"), "nginx")
               if any("master process" in part for part in p.get("cmdline") or [])]
    if not masters:
        return CheckResult("stopped", "no nginx master process is running", confidence=DIRECT,
                           evidence=[Evidence("process", "no process named nginx: master")])
    pids = ", ".join(str(p["pid"]) for p in masters)
    return CheckResult("ok", f"nginx master running (pid {pids})", vars={"pid": pids},
                       evidence=[Evidence("process", " ".join(masters[0]["cmdline"]))])
