"""Firewall fixes: let TCP traffic reach a port through the firewall that drops it, and
the article's "temporarily disable the firewall", offered only as a timed disable that
comes back by itself. Neither may cut the SSH session in use (see ssh_guard). Each plan
carries the listings it was made from as preconditions, so a rule someone adds between
the plan and the person's "yes" makes apply refuse instead of running a stale plan."""

from __future__ import annotations

from wizard.fixes.base import FixNotApplicable, FixPlan, fix_action, fix_id
from wizard.fixes.firewall_backend import Change, Entry, FirewallBackend, Reader, read_live
from wizard.fixes.firewall_firewalld import Firewalld
from wizard.fixes.firewall_iptables import IpTables
from wizard.fixes.firewall_nftables import NfTables
from wizard.fixes.firewall_ufw import Ufw
from wizard.fixes.ssh_guard import protected_ports, refuse_if_cut, undo_warnings
from wizard.host.facts import Facts

BACKENDS: dict[str, type[FirewallBackend]] = {
    "ufw": Ufw, "firewalld": Firewalld, "iptables": IpTables, "nftables": NfTables}
DEFAULT_SECONDS, MAX_SECONDS = 120, 3600


def backend(name: str, reader: Reader | None = None) -> FirewallBackend:
    """The back-end for `name`, reading through `reader` (None: this host's own tools)."""
    if name not in BACKENDS:
        raise FixNotApplicable("no active firewall was found, so there is nothing to change")
    return BACKENDS[name](reader or read_live)


def _fact(facts: Facts) -> dict:
    fact = facts.try_get("firewall")
    if not fact:
        raise FixNotApplicable("the firewall could not be read, so no change can be planned")
    return fact


def _port(value: str | None) -> int:
    try:
        port = int(str(value or "").strip())
    except ValueError:
        raise FixNotApplicable(f"not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise FixNotApplicable(f"not a port number: {port}")
    return port


def _by_backend(fact: dict, port: int | None) -> dict[str, list[Entry]]:
    """The fact's dropping rules (for `port`, or all), grouped by the firewall holding them:
    with iptables the drop may sit in an nftables table, and the other way round."""
    groups: dict[str, list[Entry]] = {}
    for entry in (fact.get("blocked_ports") or []) + (fact.get("partial_ports") or []):
        if port is None or entry.get("port") == port:
            groups.setdefault(entry.get("backend") or fact.get("backend", "none"), []).append(
                entry)
    return groups or {fact.get("backend") or "none": []}


def _plan(plan_id: str, title: str, change: Change, verify: str, ports: list[int]) -> FixPlan:
    refuse_if_cut(change.commands, ports)
    return FixPlan(id=plan_id, title=title, commands=change.commands, needs_root=True,
                   undo=change.undo, guards=change.guards, asks=change.asks, verify=verify,
                   notes=change.notes + undo_warnings(change.undo, ports),
                   preconditions=change.preconditions)


def plan_allow_port(args: dict[str, str], fact: dict, reader: Reader | None = None,
                    ssh_ports: list[int] | None = None) -> FixPlan:
    port = _port(args.get("port"))
    judged = [e for key in ("blocked_ports", "partial_ports", "allowed_ports")
              for e in fact.get(key) or [] if e.get("port") == port]
    if judged and all(e.get("verdict") == "allowed" for e in judged):
        raise FixNotApplicable(f"the firewall already lets TCP port {port} in: nothing to "
                               "change")
    change = Change()
    names = []
    for name, entries in _by_backend(fact, port).items():
        change.extend(backend(name, reader).allow_port(port, entries))
        names.append(name)
    if any(e.get("verdict") == "partial" for e in fact.get("partial_ports") or []
           if e.get("port") == port):
        change.notes.append(f"The rule drops only some traffic to {port} (e.g. from some "
                            f"addresses); the accept lets all of it in.")
    return _plan(fix_id("firewall.allow_port", args),
                 f"Allow TCP port {port} through {' and '.join(names)}", change,
                 f"a new connection to port {port} is accepted and the firewall check no "
                 f"longer finds a rule that drops it",
                 protected_ports() if ssh_ports is None else ssh_ports)


def plan_disable_temporarily(args: dict[str, str], fact: dict, reader: Reader | None = None,
                             ssh_ports: list[int] | None = None) -> FixPlan:
    raw = str(args.get("seconds") or DEFAULT_SECONDS).strip()
    if not raw.isdigit() or not 0 < int(raw) <= MAX_SECONDS:
        raise FixNotApplicable(f"the time must be 1 to {MAX_SECONDS} seconds, not {raw!r}")
    seconds = int(raw)
    name = fact.get("backend") or "none"
    entries = [e for group in _by_backend(fact, None).values() for e in group
               if e.get("backend") == name]
    change = backend(name, reader).timed_disable(seconds, entries)
    ports = protected_ports() if ssh_ports is None else ssh_ports
    change.notes.insert(0, f"The firewall is open for {seconds}s and then comes back by "
                           f"itself, even if this session drops. Your SSH port "
                           f"{', '.join(map(str, ports))} stays reachable throughout.")
    return _plan(fix_id("firewall.disable_temporarily", {"seconds": str(seconds)}),
                 f"Turn {name} off for {seconds} seconds", change,
                 "the site answers while the firewall is off (then it is the firewall); "
                 f"after {seconds}s the firewall check shows the same rules as before",
                 ports)


@fix_action("firewall.allow_port", params=("port",))
def allow_port(args: dict[str, str], facts: Facts) -> FixPlan:
    """Allow incoming TCP connections to a port, just before the rule that drops them."""
    return plan_allow_port(args, _fact(facts))


@fix_action("firewall.disable_temporarily", params=("seconds",))
def disable_temporarily(args: dict[str, str], facts: Facts) -> FixPlan:
    """Turn the firewall off for a few seconds to test it; it comes back by itself."""
    return plan_disable_temporarily(args, _fact(facts))
