"""Judging a firewall for one connection: the traffic that matters, yes/no/maybe
answers for rule conditions, and the walk through chains to the rule that decides."""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit

TIMEOUT = 10.0
YES, NO, MAYBE = "yes", "no", "maybe"
IPTABLES_TABLES = {"filter", "nat", "mangle", "raw", "security"}
BUILTIN_CHAINS = {"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"}
PERMISSION_WORDS = ("permission denied", "operation not permitted", "must be root",
                    "need to be root", "not authorized", "access denied")
# Used only when firewalld's service files cannot be read.
KNOWN_SERVICES = {"http": ["80/tcp"], "https": ["443/tcp"], "ssh": ["22/tcp"],
                  "http3": ["443/udp"]}
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


# --------------------------------------------------------------------------- traffic

@dataclass(frozen=True)
class Traffic:
    """A new TCP connection the site needs: to nginx from clients, or from nginx to an
    upstream on this host (loopback) or elsewhere (outgoing)."""

    port: int
    role: str  # "nginx listen" | "url" | "upstream" | "default http"
    path: str  # "incoming" | "loopback" | "outgoing"
    address: str | None = None  # the destination, when known (upstream host)

    @property
    def hook(self) -> str:
        return "output" if self.path == "outgoing" else "input"

    def to_json(self) -> dict[str, Any]:
        return {"port": self.port, "role": self.role, "path": self.path,
                "address": self.address}


@functools.lru_cache(maxsize=1024)  # thousands of passes name a few hosts
def _is_local_host(host: str) -> bool:
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _upstream_traffic(host: str | None, port: int | None) -> Traffic | None:
    if not host or not port:
        return None
    if _is_local_host(host):
        return Traffic(int(port), "upstream", "loopback", "127.0.0.1")
    return Traffic(int(port), "upstream", "outgoing", host.strip("[]"))


def traffic_that_matters(nginx: dict[str, Any] | None, url: str | None) -> list[Traffic]:
    """The connections a 502 can depend on, without duplicates, in a stable order."""
    found: list[Traffic] = []
    ports: set[int] = set()  # 5,000 servers often listen on one port: one entry does
    for server in (nginx or {}).get("servers") or []:
        for listen in server.get("listen") or []:
            if isinstance(listen.get("port"), int) and listen["port"] not in ports:
                ports.add(listen["port"])
                found.append(Traffic(listen["port"], "nginx listen", "incoming"))
    if not found:
        found += [Traffic(80, "default http", "incoming"), Traffic(443, "default http",
                                                                   "incoming")]
    if url:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        try:
            url_port = parts.port or (443 if parts.scheme == "https" else 80)
            found.append(Traffic(url_port, "url", "incoming"))
        except ValueError:
            pass
    found += _pass_traffic(nginx or {})
    unique: dict[tuple[int, str], Traffic] = {}
    for t in found:
        unique.setdefault((t.port, t.path), t)
    return list(unique.values())


def _pass_traffic(nginx: dict[str, Any]) -> list[Traffic]:
    """Connections from nginx to its upstreams, each (host, port) once: a repeat would give
    the same entry, which the caller drops anyway."""
    found: list[Traffic] = []
    seen: set[tuple[Any, Any]] = set()

    def add(host: str | None, port: int | None) -> None:
        if (host, port) not in seen:
            seen.add((host, port))
            t = _upstream_traffic(host, port)
            if t:
                found.append(t)

    upstreams = nginx.get("upstreams") or {}
    for p in nginx.get("passes") or []:
        if p.get("uses_variables") or p.get("socket"):
            continue
        block = upstreams.get(p.get("upstream") or "") if p.get("upstream") else None
        if block:
            for member in block.get("servers") or []:
                add(member.get("host"), member.get("port"))
            continue
        scheme_port = {"https": 443, "http": 80}.get(p.get("scheme") or "")
        add(p.get("host"), p.get("port") or scheme_port)
    return found


# --------------------------------------------------------------------------- tri-state

def all_of(values: list[str]) -> str:
    if NO in values:
        return NO
    return MAYBE if MAYBE in values else YES


def any_of(values: list[str]) -> str:
    if YES in values:
        return YES
    return MAYBE if MAYBE in values else NO


def opposite(value: str) -> str:
    return {YES: NO, NO: YES}.get(value, MAYBE)


def iface_match(pattern: str, t: Traffic) -> str:
    """Does an interface name (iptables `+` wildcard) match the traffic's interface?"""
    pattern = pattern.strip('"')
    matches_lo = pattern == "lo" or (pattern.endswith("+") and "lo".startswith(pattern[:-1]))
    if t.path == "loopback":
        return YES if matches_lo else NO
    if pattern == "lo":
        return NO  # clients and remote upstreams never use the loopback interface
    return YES if pattern in ("+", "*") else MAYBE


def address_match(network: str, which_end: str, t: Traffic) -> str:
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return MAYBE  # a host name in a rule: resolved when the rule was added
    if net.prefixlen == 0:
        return YES if net.version == 4 else NO
    if t.path == "loopback":
        return YES if ipaddress.ip_address("127.0.0.1") in net else NO
    if t.path == "outgoing" and which_end == "dst" and t.address:
        try:
            return YES if ipaddress.ip_address(t.address) in net else NO
        except ValueError:
            return MAYBE
    return MAYBE


def port_in_spec(port: int, spec: str) -> bool:
    """'80', '9000:9010', '443,9000:9010', 'http' -> does `port` fall in it?"""
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.replace("-", ":").partition(":")
        try:
            low = int(lo) if lo.isdigit() else socket.getservbyname(lo, "tcp")
            high = (int(hi) if hi.isdigit() else socket.getservbyname(hi, "tcp")) if hi else low
        except OSError:
            continue
        if low <= port <= high:
            return True
    return False


# --------------------------------------------------------------------------- verdicts

@dataclass(frozen=True)
class Step:
    """One rule (or chain policy) as the person can find it in their firewall."""

    text: str
    table: str
    chain: str
    line: int | None = None


@dataclass
class Decision:
    outcome: str  # "accept" | "drop" | "none" (fell off the end of a user chain)
    step: Step | None = None
    maybe_drops: list[Step] = field(default_factory=list)
    maybe_accepts: list[Step] = field(default_factory=list)


# judge(rule) -> (matches, action, jump target); action: accept|drop|jump|goto|return|continue
Judge = Callable[[Any], tuple[str, str, Optional[str]]]  # evaluated at run time: no | on 3.9


def walk(chains: dict[str, list[Any]], chain: str, judge: Judge,
         step_of: Callable[[Any], Step], depth: int = 0) -> Decision:
    """Follow rules in order like the kernel: the first definite accept/drop decides."""
    decision = Decision("none")
    if depth > 16:  # a jump loop; the kernel refuses those, a recorded file may not
        return decision
    for rule in chains.get(chain, []):
        matches, action, target = judge(rule)
        if matches == NO or action == "continue":
            continue
        if action in ("jump", "goto") and target not in chains:
            continue  # LOG, MARK, CT...: targets that are no chain let the packet go on
        if action in ("jump", "goto") and target:
            sub = walk(chains, target, judge, step_of, depth + 1)
            decision.maybe_drops += sub.maybe_drops
            decision.maybe_accepts += sub.maybe_accepts
            if matches == MAYBE:
                if sub.step is not None:
                    (decision.maybe_drops if sub.outcome == "drop"
                     else decision.maybe_accepts).append(sub.step)
                continue
            if sub.outcome != "none" or action == "goto":
                return Decision(sub.outcome, sub.step, decision.maybe_drops,
                                decision.maybe_accepts)
            continue
        if action == "return":
            if matches == YES:
                return decision
            continue
        if matches == MAYBE:
            (decision.maybe_drops if action == "drop" else decision.maybe_accepts).append(
                step_of(rule))
            continue
        return Decision(action, step_of(rule), decision.maybe_drops, decision.maybe_accepts)
    return decision


def verdict(t: Traffic, backend: str, decision: Decision, policy: Step | None,
            policy_accepts: bool) -> dict[str, Any]:
    """Turn a walk into the fact's entry: blocked / allowed / partial, with the rule."""
    outcome, step = decision.outcome, decision.step
    if outcome == "none":
        outcome, step = ("accept" if policy_accepts else "drop"), policy
    entry: dict[str, Any] = {"port": t.port, "path": t.path, "role": t.role,
                             "backend": backend, "rule": step.text if step else "",
                             "table": step.table if step else "",
                             "chain": step.chain if step else "",
                             "line": step.line if step else None, "condition": None}
    if outcome == "drop":
        entry["verdict"] = "blocked"
        if decision.maybe_accepts:
            entry["condition"] = ("unless this rule lets the client in: "
                                  + decision.maybe_accepts[0].text)
    elif decision.maybe_drops:
        first = decision.maybe_drops[0]
        entry.update(verdict="partial", rule=first.text, table=first.table,
                     chain=first.chain, line=first.line,
                     condition="drops only some of this traffic (e.g. from some addresses)")
    else:
        entry["verdict"] = "allowed"
    return entry
