"""Check `firewall.ports`: does the active firewall drop a port nginx or its upstream needs?"""

from __future__ import annotations

from typing import Any

from wizard.checks.base import check
from wizard.host.facts import Facts, FactUnavailable
from wizard.outcome import DIRECT, STRONG, CheckResult, Evidence, Status

_PATHS = {"incoming": "clients connecting to", "loopback": "nginx connecting to its local"
          " upstream on", "outgoing": "nginx connecting out to its upstream on"}


def _upstream_first(entry: dict[str, Any]) -> int:
    return 1 if entry.get("path") == "incoming" else 0


def _where(entry: dict[str, Any]) -> str:
    table, chain, line = entry.get("table"), entry.get("chain"), entry.get("line")
    where = f"{entry.get('backend')} {table} {chain}".strip()
    return f"{where}, rule {line}" if line else where


def _vars(entry: dict[str, Any], entries: list[dict[str, Any]], backend: str) -> dict[str, Any]:
    return {
        "port": entry["port"], "backend": backend, "rule": entry.get("rule", ""),
        "table": entry.get("table", ""), "chain": entry.get("chain", ""),
        "traffic": _PATHS.get(entry.get("path", ""), "connections to") + f" port {entry['port']}",
        "ports": ", ".join(str(p) for p in sorted({e["port"] for e in entries})),
    }


def _evidence(entries: list[dict[str, Any]]) -> list[Evidence]:
    return [Evidence("command", f"port {e['port']} ({e.get('path')}): {e.get('rule')}"
                                f"  [{_where(e)}]") for e in entries]


@check("firewall.ports",
       results={"ok": Status.OK, "blocked": Status.PROBLEM, "partial": Status.WARNING},
       facts=("firewall",), causes=("firewall_blocking",))
def firewall_ports(facts: Facts) -> CheckResult:
    """Does a firewall rule drop or reject new connections to nginx's ports or upstreams?"""
    try:
        fw = facts.get("firewall")
    except FactUnavailable as exc:
        return CheckResult("unknown", f"the firewall could not be read: {exc}",
                           vars={"reason": str(exc)})
    backend = fw.get("backend", "none")
    # upstream connections first: those are the ones nginx answers with 502
    blocked = sorted(fw.get("blocked_ports") or [], key=_upstream_first)
    partial = sorted(fw.get("partial_ports") or [], key=_upstream_first)
    if blocked:
        first = blocked[0]
        return CheckResult(
            "blocked",
            f"{first.get('backend', backend)} drops new connections to port {first['port']}:"
            f" {first.get('rule')}",
            vars=_vars(first, blocked, backend), evidence=_evidence(blocked),
            # a dropped upstream connection is what nginx reports as 502; a dropped client
            # connection is a real problem too, but shows as a timeout rather than a 502
            confidence=DIRECT if first.get("path") != "incoming" else STRONG,
            causes=["firewall_blocking"])
    if fw.get("needs_root"):
        return CheckResult("unknown", str(fw["needs_root"]),
                           vars={"reason": fw["needs_root"], "backend": backend})
    if partial:
        first = partial[0]
        return CheckResult(
            "partial",
            f"{first.get('backend', backend)} drops some connections to port {first['port']}:"
            f" {first.get('rule')}",
            vars=_vars(first, partial, backend), evidence=_evidence(partial))
    if backend == "none" and fw.get("missing_tools"):
        tools = " and ".join(fw["missing_tools"])
        return CheckResult("unknown", f"could not check the firewall: {tools} are not "
                           "installed, so the rules the kernel applies cannot be listed",
                           vars={"backend": backend, "reason": f"{tools} not installed"})
    if backend == "none":
        return CheckResult("skipped", "no active firewall was found", vars={"backend": "none"})
    ports = ", ".join(str(p) for p in sorted({e["port"] for e in fw.get("allowed_ports") or []}))
    return CheckResult("ok", f"{backend} lets connections to port(s) {ports or '-'} through",
                       vars={"backend": backend, "ports": ports},
                       evidence=_evidence(fw.get("allowed_ports") or []))
