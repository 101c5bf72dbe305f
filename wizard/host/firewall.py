"""Facts `firewall`: which firewall is active, and whether it drops the ports that matter.

The ports that matter are nginx's listen ports (80/443 when nginx is unknown), the --url
port, and the TCP ports of the upstreams in nginx's *_pass directives. For each one we
walk the active firewall's rules the way the kernel would for a *new* TCP connection and
record the rule that decides. Conditions we cannot judge from here (a client's source
address, a rate limit) make a rule "maybe": a maybe-drop before an accept makes the port
"partial", never "blocked", so the wizard does not blame a firewall on a guess.

Readers (commands) and judges (pure functions over their text) are kept apart so the
judges run on recorded outputs in the unit tests.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import re
import shlex
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wizard.host.commands import CommandResult, run, which
from wizard.host.facts import Facts, fact

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
    for server in (nginx or {}).get("servers") or []:
        for listen in server.get("listen") or []:
            if isinstance(listen.get("port"), int):
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
    upstreams = (nginx or {}).get("upstreams") or {}
    for p in (nginx or {}).get("passes") or []:
        if p.get("uses_variables") or p.get("socket"):
            continue
        block = upstreams.get(p.get("upstream") or "") if p.get("upstream") else None
        if block:
            for member in block.get("servers") or []:
                t = _upstream_traffic(member.get("host"), member.get("port"))
                if t:
                    found.append(t)
            continue
        scheme_port = {"https": 443, "http": 80}.get(p.get("scheme") or "")
        t = _upstream_traffic(p.get("host"), p.get("port") or scheme_port)
        if t:
            found.append(t)
    unique: dict[tuple[int, str], Traffic] = {}
    for t in found:
        unique.setdefault((t.port, t.path), t)
    return list(unique.values())


# --------------------------------------------------------------------------- tri-state

def _all(values: list[str]) -> str:
    if NO in values:
        return NO
    return MAYBE if MAYBE in values else YES


def _any(values: list[str]) -> str:
    if YES in values:
        return YES
    return MAYBE if MAYBE in values else NO


def _negate(value: str) -> str:
    return {YES: NO, NO: YES}.get(value, MAYBE)


def _iface(pattern: str, t: Traffic) -> str:
    """Does an interface name (iptables `+` wildcard) match the traffic's interface?"""
    pattern = pattern.strip('"')
    matches_lo = pattern == "lo" or (pattern.endswith("+") and "lo".startswith(pattern[:-1]))
    if t.path == "loopback":
        return YES if matches_lo else NO
    if pattern == "lo":
        return NO  # clients and remote upstreams never use the loopback interface
    return YES if pattern in ("+", "*") else MAYBE


def _address(network: str, which_end: str, t: Traffic) -> str:
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


def _port_in_spec(port: int, spec: str) -> bool:
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
Judge = Callable[[Any], tuple[str, str, str | None]]


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


# --------------------------------------------------------------------------- iptables

@dataclass(frozen=True)
class IptRule:
    chain: str
    line: int  # position in its chain, as `iptables -L CHAIN --line-numbers` shows it
    text: str
    tokens: tuple[str, ...]


@dataclass
class IptRuleset:
    policies: dict[str, str]
    chains: dict[str, list[IptRule]]

    @property
    def has_rules(self) -> bool:
        return any(self.chains.values()) or any(
            p != "ACCEPT" for c, p in self.policies.items() if c in BUILTIN_CHAINS)


def parse_iptables_s(text: str) -> IptRuleset:
    """Parse `iptables -S` (filter table)."""
    rules = IptRuleset({}, {})
    for line in text.splitlines():
        line = line.strip()
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        if len(tokens) >= 3 and tokens[0] == "-P":
            rules.policies[tokens[1]] = tokens[2]
            rules.chains.setdefault(tokens[1], [])
        elif len(tokens) >= 2 and tokens[0] == "-N":
            rules.chains.setdefault(tokens[1], [])
        elif len(tokens) >= 2 and tokens[0] == "-A":
            chain = rules.chains.setdefault(tokens[1], [])
            chain.append(IptRule(tokens[1], len(chain) + 1, line, tuple(tokens[2:])))
    return rules


def _ipt_option(opt: str, value: str, t: Traffic) -> str | None:
    """Judge one match option; None means the option does not narrow the traffic."""
    if opt in ("-p", "--protocol"):
        return YES if value.lower() in ("tcp", "6", "all", "0") else NO
    if opt in ("-i", "--in-interface", "-o", "--out-interface"):
        return _iface(value, t)
    if opt in ("-s", "--source", "--src"):
        return _address(value, "src", t)
    if opt in ("-d", "--destination", "--dst"):
        return _address(value, "dst", t)
    if opt in ("--dport", "--destination-port", "--dports", "--destination-ports"):
        return YES if _port_in_spec(t.port, value) else NO
    if opt in ("--state", "--ctstate"):
        return YES if "NEW" in value.upper().split(",") else NO
    if opt == "--dst-type":
        if value.upper() == "LOCAL":
            return NO if t.path == "outgoing" else YES
        return MAYBE
    if opt in ("-m", "--match", "--comment"):
        return None
    return MAYBE


def judge_iptables(rule: IptRule, t: Traffic) -> tuple[str, str, str | None]:
    results: list[str] = []
    tokens, i, negate = rule.tokens, 0, False
    action, target = "continue", None
    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            negate = True
            i += 1
            continue
        if tok in ("-j", "--jump", "-g", "--goto"):
            target = tokens[i + 1] if i + 1 < len(tokens) else None
            is_goto = tok in ("-g", "--goto")
            action = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "drop",
                      "RETURN": "return"}.get(target or "", "goto" if is_goto else "jump")
            break
        if tok in ("--syn",):
            results.append(_negate(YES) if negate else YES)
        elif tok in ("-f", "--fragment"):
            results.append(YES if negate else NO)
        elif tok.startswith("-"):
            # an option with its value(s): everything up to the next option
            j = i + 1
            while j < len(tokens) and not tokens[j].startswith("-") and tokens[j] != "!":
                j += 1
            value = " ".join(tokens[i + 1:j])
            judged = _ipt_option(tok, value, t)
            if judged is not None:
                results.append(_negate(judged) if negate else judged)
            i, negate = j, False
            continue
        i += 1
        negate = False
    return _all(results), action, target


def judge_iptables_ruleset(rules: IptRuleset, traffic: list[Traffic], variant: str
                           ) -> list[dict[str, Any]]:
    entries = []
    for t in traffic:
        base = "OUTPUT" if t.path == "outgoing" else "INPUT"
        policy = rules.policies.get(base, "ACCEPT")
        decision = walk(rules.chains, base, partial(judge_iptables, t=t),
                        lambda r: Step(r.text, "filter", r.chain, r.line))
        entry = verdict(t, "iptables", decision, Step(f"-P {base} {policy}", "filter", base),
                        policy == "ACCEPT")
        entry["variant"] = variant
        entries.append(entry)
    return entries


# --------------------------------------------------------------------------- nftables

@dataclass(frozen=True)
class NftRule:
    family: str
    table: str
    chain: str
    handle: int | None
    expr: tuple[Any, ...]


@dataclass
class NftRuleset:
    tables: list[tuple[str, str]] = field(default_factory=list)
    base_chains: list[dict[str, Any]] = field(default_factory=list)
    chains: dict[tuple[str, str], dict[str, list[NftRule]]] = field(default_factory=dict)
    sets: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    texts: dict[tuple[str, str, str, int], str] = field(default_factory=dict)


def is_iptables_nft_table(ruleset: NftRuleset, family: str, table: str) -> bool:
    """Tables that iptables-nft made: judged through `iptables -S`, not twice."""
    if family not in ("ip", "ip6", "arp", "bridge") or table not in IPTABLES_TABLES:
        return False
    return any(name in BUILTIN_CHAINS for name in ruleset.chains.get((family, table), {}))


def parse_nft_json(text: str, listing: str = "") -> NftRuleset:
    """Parse `nft -j list ruleset`; `listing` (`nft -a -s list ruleset`) gives rule texts."""
    data = json.loads(text) if text.strip() else {"nftables": []}
    rs = NftRuleset()
    for item in data.get("nftables", []):
        if "table" in item:
            rs.tables.append((item["table"]["family"], item["table"]["name"]))
            rs.chains.setdefault((item["table"]["family"], item["table"]["name"]), {})
        elif "chain" in item:
            c = item["chain"]
            rs.chains.setdefault((c["family"], c["table"]), {}).setdefault(c["name"], [])
            if c.get("hook"):
                rs.base_chains.append(c)
        elif "set" in item or "map" in item:
            s = item.get("set") or item.get("map")
            rs.sets[(s["family"], s["table"], s["name"])] = list(s.get("elem") or [])
        elif "rule" in item:
            r = item["rule"]
            rule = NftRule(r["family"], r["table"], r["chain"], r.get("handle"),
                           tuple(r.get("expr") or []))
            rs.chains.setdefault((r["family"], r["table"]), {}).setdefault(
                r["chain"], []).append(rule)
    rs.texts = parse_nft_listing(listing)
    return rs


def parse_nft_listing(text: str) -> dict[tuple[str, str, str, int], str]:
    """Map (family, table, chain, handle) -> the rule as `nft -a list ruleset` prints it."""
    texts: dict[tuple[str, str, str, int], str] = {}
    family = table = chain = None
    for line in text.splitlines():
        m = re.match(r"^table (\S+) (\S+) \{", line)
        if m:
            family, table, chain = m.group(1), m.group(2), None
            continue
        m = re.match(r"^\s+chain (\S+) \{", line)
        if m:
            chain = m.group(1)
            continue
        if re.match(r"^\s+(set|map|flowtable|counter|quota|limit|secmark|synproxy|ct \w+) \S+ \{"
                    r"(\s*# handle \d+)?\s*$", line):
            chain = None
            continue
        m = re.match(r"^\s+(.*?)\s+# handle (\d+)\s*$", line)
        if m and chain and family and table:
            texts[(family, table, chain, int(m.group(2)))] = m.group(1)
    return texts


def _nft_items(right: Any, rule: NftRule, sets: dict[tuple[str, str, str], list[Any]]
               ) -> list[Any]:
    if isinstance(right, str) and right.startswith("@"):
        return sets.get((rule.family, rule.table, right[1:]), [])
    if isinstance(right, dict) and "set" in right:
        items = right["set"]
        return items if isinstance(items, list) else [items]
    if isinstance(right, list):
        return right
    return [right]


def _unwrap(item: Any) -> Any:
    # elements may come as {"elem": {"val": 80, "timeout": ...}}
    while isinstance(item, dict) and "elem" in item:
        item = item["elem"].get("val") if isinstance(item["elem"], dict) else item["elem"]
    return item


def _nft_port_item(port: int, item: Any) -> str:
    item = _unwrap(item)
    if isinstance(item, dict) and "range" in item:
        low, high = item["range"]
        return YES if _port_in_spec(port, f"{low}:{high}") else NO
    return YES if _port_in_spec(port, str(item)) else NO


def _nft_addr_item(which_end: str, t: Traffic, item: Any) -> str:
    item = _unwrap(item)
    if isinstance(item, dict) and "prefix" in item:
        return _address(f"{item['prefix']['addr']}/{item['prefix']['len']}", which_end, t)
    if isinstance(item, dict) and "range" in item:
        return MAYBE
    return _address(str(item), which_end, t)


def _nft_key_test(left: Any, t: Traffic) -> Callable[[Any], str] | str:
    """For a match's left side: a per-item test, or a fixed answer (NO/MAYBE)."""
    if not isinstance(left, dict):
        return MAYBE
    if "payload" in left:
        proto, fld = left["payload"].get("protocol"), left["payload"].get("field")
        if proto in ("tcp", "th") and fld == "dport":
            return lambda item: _nft_port_item(t.port, item)
        if proto in ("udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "ip6"):
            return NO  # the traffic is TCP over IPv4
        if proto == "ip" and fld in ("saddr", "daddr"):
            end = "src" if fld == "saddr" else "dst"
            return lambda item: _nft_addr_item(end, t, item)
        if proto == "ip" and fld == "protocol":
            return lambda item: YES if str(_unwrap(item)) in ("tcp", "6") else NO
        return MAYBE
    if "meta" in left:
        key = left["meta"].get("key")
        if key == "l4proto":
            return lambda item: YES if str(_unwrap(item)) in ("tcp", "6") else NO
        if key == "nfproto":
            return lambda item: YES if str(_unwrap(item)) in ("ipv4", "2") else NO
        if key in ("iifname", "oifname", "iif", "oif"):
            return lambda item: _iface(str(_unwrap(item)), t)
        return MAYBE
    if "ct" in left and left["ct"].get("key") == "state":
        return lambda item: YES if str(_unwrap(item)) == "new" else NO
    return MAYBE


def _nft_match(m: dict[str, Any], rule: NftRule, rs: NftRuleset, t: Traffic) -> str:
    test = _nft_key_test(m.get("left"), t)
    if isinstance(test, str):
        return test
    result = _any([test(item) for item in _nft_items(m.get("right"), rule, rs.sets)])
    return _negate(result) if m.get("op") == "!=" else result


_NFT_VERDICTS = {"accept": "accept", "drop": "drop", "reject": "drop", "return": "return",
                 "jump": "jump", "goto": "goto"}


def _nft_verdict(expr: dict[str, Any]) -> tuple[str, str | None] | None:
    for key, action in _NFT_VERDICTS.items():
        if key in expr:
            value = expr[key]
            return action, value.get("target") if isinstance(value, dict) else None
    return None


def judge_nft(rule: NftRule, rs: NftRuleset, t: Traffic) -> tuple[str, str, str | None]:
    results: list[str] = []
    action, target = "continue", None
    for expr in rule.expr:
        if not isinstance(expr, dict):
            continue
        found = _nft_verdict(expr)
        if found:
            action, target = found
        elif "match" in expr:
            results.append(_nft_match(expr["match"], rule, rs, t))
        elif "vmap" in expr:
            test = _nft_key_test(expr["vmap"].get("key"), t)
            pairs = (expr["vmap"].get("data") or {}).get("set") or []
            hit = [pair for pair in pairs if not isinstance(test, str) and test(pair[0]) == YES]
            if isinstance(test, str) or not hit:
                results.append(MAYBE if isinstance(test, str) else NO)
            else:
                action, target = _nft_verdict(hit[0][1]) or ("continue", None)
        elif "xt" in expr:
            xt = expr["xt"]
            if xt.get("type") == "target":
                action = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "drop"}.get(
                    xt.get("name", ""), "continue")
            else:
                results.append(MAYBE)  # an iptables match nft cannot show us
        elif any(k in expr for k in ("limit", "quota", "meter")):
            results.append(MAYBE)
    return _all(results), action, target


def _nft_step(rs: NftRuleset, rule: NftRule) -> Step:
    text = rs.texts.get((rule.family, rule.table, rule.chain, rule.handle or -1))
    return Step(text or f"rule handle {rule.handle}", f"{rule.family} {rule.table}",
                rule.chain, rule.handle)


def judge_nft_ruleset(rs: NftRuleset, traffic: list[Traffic],
                      skip: Callable[[str, str], bool]) -> list[dict[str, Any]]:
    """Every base chain at the hook must let the packet through: the first drop wins."""
    entries = []
    for t in traffic:
        chains = sorted((c for c in rs.base_chains
                         if c.get("hook") == t.hook and c.get("type", "filter") == "filter"
                         and c["family"] in ("ip", "inet") and not skip(c["family"], c["table"])),
                        key=lambda c: c.get("prio", 0))
        chosen: dict[str, Any] | None = None
        for c in chains:
            table_chains = rs.chains.get((c["family"], c["table"]), {})
            decision = walk(table_chains, c["name"], partial(judge_nft, rs=rs, t=t),
                            lambda r: _nft_step(rs, r))
            policy = c.get("policy", "accept")
            entry = verdict(t, "nftables", decision,
                            Step(f"policy {policy}", f"{c['family']} {c['table']}", c["name"]),
                            policy == "accept")
            if entry["verdict"] == "blocked" or chosen is None or (
                    entry["verdict"] == "partial" and chosen["verdict"] == "allowed"):
                chosen = entry
            if entry["verdict"] == "blocked":
                break
        if chosen is not None:
            entries.append(chosen)
    return entries


def nft_policy(rs: NftRuleset, skip: Callable[[str, str], bool]) -> str | None:
    policies = [c.get("policy", "accept") for c in rs.base_chains
                if c.get("hook") == "input" and not skip(c["family"], c["table"])]
    if not policies:
        return None
    return "drop" if "drop" in policies else "accept"


# --------------------------------------------------------------------------- ufw

@dataclass(frozen=True)
class UfwRule:
    to: str
    action: str  # allow | deny | reject | limit
    direction: str  # in | out | fwd
    source: str
    v6: bool
    text: str


@dataclass
class UfwStatus:
    active: bool
    defaults: dict[str, str]
    rules: list[UfwRule]


def parse_ufw_status(text: str) -> UfwStatus:
    """Parse `ufw status verbose`."""
    status = UfwStatus("Status: active" in text, {}, [])
    in_table = False
    for line in text.splitlines():
        m = re.match(r"^Default:\s*(.*)$", line)
        if m:
            for word, direction in re.findall(r"(\w+) \((\w+)\)", m.group(1)):
                status.defaults[direction] = word
            continue
        if line.startswith("--"):
            in_table = True
            continue
        if not in_table or not line.strip():
            continue
        cols = re.split(r"\s{2,}", line.strip())
        if len(cols) < 3:
            continue
        to, action, source = cols[0], cols[1].split(), cols[2]
        status.rules.append(UfwRule(
            to=to, action=action[0].lower(), direction=(action[1] if len(action) > 1
                                                        else "in").lower(),
            source=source, v6="(v6)" in to or "(v6)" in source,
            text="  ".join(cols[:3])))
    return status


def read_ufw_apps(folder: str = "/etc/ufw/applications.d") -> dict[str, str]:
    """ufw application profiles (e.g. 'Nginx Full' -> '80,443/tcp')."""
    apps: dict[str, str] = {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        files = sorted(Path(folder).iterdir())
    except OSError:
        return apps
    for path in files:
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
    for section in parser.sections():
        apps[section] = parser.get(section, "ports", fallback="")
    return apps


def _ufw_ports(to: str, port: int, apps: dict[str, str]) -> str:
    """Does the To column cover a TCP connection to `port`?"""
    to = to.replace("(v6)", "").strip()
    if " on " in to:
        return _all([_ufw_ports(to.split(" on ")[0], port, apps), MAYBE])
    if to in apps:
        return _any([_ufw_ports(spec.strip(), port, apps) for spec in apps[to].split("|")])
    words = to.split()
    if words == ["Anywhere"]:
        return YES
    spec = words[-1]
    m = re.match(r"^([\w,:]+)(?:/(tcp|udp))?$", spec)
    if not m:
        return MAYBE
    if m.group(2) == "udp":
        return NO
    if not re.search(r"\d", m.group(1)):
        return MAYBE  # an app profile we could not read
    covers = YES if _port_in_spec(port, m.group(1)) else NO
    return _all([covers, MAYBE]) if len(words) > 1 else covers  # "10.0.0.5 80/tcp"


def _ufw_step(rule: UfwRule, chain: str) -> Step:
    return Step(rule.text, "filter", chain)


def judge_ufw(status: UfwStatus, traffic: list[Traffic], apps: dict[str, str]
              ) -> list[dict[str, Any]]:
    entries = []
    for t in traffic:
        if t.path == "loopback":
            step = Step("-A ufw-before-input -i lo -j ACCEPT", "filter", "ufw-before-input")
            entries.append(verdict(t, "ufw", Decision("accept", step), None, True))
            continue
        direction = "out" if t.path == "outgoing" else "in"
        chain = "ufw-user-output" if direction == "out" else "ufw-user-input"
        rules = [r for r in status.rules if not r.v6 and r.direction == direction]

        def judge(r: UfwRule, t: Traffic = t) -> tuple[str, str, str | None]:
            source = YES if r.source.startswith("Anywhere") and " on " not in r.source \
                else MAYBE
            action = "drop" if r.action in ("deny", "reject") else "accept"
            return _all([_ufw_ports(r.to, t.port, apps), source]), action, None

        decision = walk({chain: rules}, chain, judge, partial(_ufw_step, chain=chain))
        default = status.defaults.get("outgoing" if direction == "out" else "incoming", "allow")
        policy = Step(f"Default: {default} ({'outgoing' if direction == 'out' else 'incoming'})",
                      "filter", "ufw default policy")
        entries.append(verdict(t, "ufw", decision, policy, default == "allow"))
    return entries


# --------------------------------------------------------------------------- firewalld

@dataclass
class FirewalldZone:
    name: str
    target: str
    services: list[str]
    ports: list[str]
    rich_rules: list[str]


def parse_firewalld_list_all(text: str) -> FirewalldZone:
    """Parse `firewall-cmd --list-all` (one zone)."""
    lines = text.splitlines()
    name = lines[0].split()[0] if lines and lines[0].strip() else "?"
    values: dict[str, str] = {}
    rich: list[str] = []
    in_rich = False
    for line in lines[1:]:
        if in_rich and line.startswith("\t"):
            rich.append(line.strip())
            continue
        key, sep, value = line.strip().partition(":")
        if sep:
            values[key] = value.strip()
            in_rich = key == "rich rules"
    return FirewalldZone(name, values.get("target", "default"),
                         values.get("services", "").split(), values.get("ports", "").split(),
                         rich)


def read_firewalld_service(name: str) -> list[str]:
    """Ports of a firewalld service, from its XML definition ('80/tcp')."""
    for folder in ("/etc/firewalld/services", "/usr/lib/firewalld/services"):
        try:
            root = ET.parse(Path(folder) / f"{name}.xml").getroot()
        except (OSError, ET.ParseError):
            continue
        return [f"{p.get('port')}/{p.get('protocol')}" for p in root.iter("port")]
    return KNOWN_SERVICES.get(name, [])


def _fwd_port(spec: str, port: int) -> bool:
    number, _, proto = spec.partition("/")
    return proto in ("tcp", "") and _port_in_spec(port, number)


def _rich_rule(rule: str, t: Traffic, services: dict[str, list[str]]
               ) -> tuple[str, str, str | None]:
    words = dict(re.findall(r'(\w+)="([^"]*)"', rule))
    action = next((a for a in ("accept", "reject", "drop") if re.search(rf"\b{a}\b", rule)),
                  "continue")
    checks: list[str] = []
    if 'port port="' in rule:
        checks.append(YES if words.get("protocol", "tcp") == "tcp"
                      and _port_in_spec(t.port, words.get("port", "").replace("-", ":"))
                      else NO)
    elif "service name=" in rule:
        checks.append(YES if any(_fwd_port(s, t.port)
                                 for s in services.get(words.get("name", ""), [])) else NO)
    if "source address=" in rule or "source ipset=" in rule:
        checks.append(MAYBE)
    if words.get("family") == "ipv6":
        checks.append(NO)
    if " limit " in rule:
        checks.append(MAYBE)
    return _all(checks), "drop" if action in ("reject", "drop") else action, None


def judge_firewalld(zone: FirewalldZone, traffic: list[Traffic],
                    services: dict[str, list[str]]) -> list[dict[str, Any]]:
    entries = []
    table, chain = "inet firewalld", f"zone {zone.name}"
    for t in traffic:
        if t.path != "incoming":
            why = ("firewalld accepts all loopback traffic" if t.path == "loopback"
                   else "firewalld does not filter outgoing connections by default")
            entries.append(verdict(t, "firewalld", Decision("accept", Step(why, table, chain)),
                                   None, True))
            continue
        # firewalld's order: rich rules that deny, then rich accepts, ports and services.
        denies = [r for r in zone.rich_rules if re.search(r"\b(reject|drop)\b", r)]
        accepts = [r for r in zone.rich_rules if r not in denies]
        rules: list[tuple[str, str]] = [("rich", r) for r in denies + accepts]
        rules += [("port", p) for p in zone.ports]
        rules += [("service", s) for s in zone.services]

        def judge(item: tuple[str, str], t: Traffic = t) -> tuple[str, str, str | None]:
            kind, value = item
            if kind == "rich":
                return _rich_rule(value, t, services)
            ports = [value] if kind == "port" else services.get(value, [])
            return (YES if any(_fwd_port(p, t.port) for p in ports) else NO), "accept", None

        def step(item: tuple[str, str]) -> Step:
            kind, value = item
            text = value if kind == "rich" else f"{'ports' if kind == 'port' else 'services'}:" \
                                                f" {value}"
            return Step(text, table, chain)

        decision = walk({chain: rules}, chain, judge, step)
        target = zone.target.strip("%").upper()
        policy = Step(f"zone {zone.name}: target: {zone.target} (port {t.port}/tcp is in"
                      f" neither its ports nor its services)", table, chain)
        entries.append(verdict(t, "firewalld", decision, policy, target == "ACCEPT"))
    return entries


# --------------------------------------------------------------------------- reading

@dataclass
class Readings:
    """Raw outputs of the firewall tools (what a recorded host provides to the tests)."""

    ufw: str | None = None
    ufw_enabled_in_conf: bool | None = None
    firewalld: str | None = None
    firewalld_running: bool = False
    iptables: dict[str, str] = field(default_factory=dict)  # variant -> `-S` output
    nft_json: str | None = None
    nft_listing: str = ""
    ufw_apps: dict[str, str] = field(default_factory=dict)
    firewalld_services: dict[str, list[str]] = field(default_factory=dict)
    denied: list[str] = field(default_factory=list)  # "`cmd` said: ..." for permission errors
    commands: list[dict[str, Any]] = field(default_factory=list)


def _permission_problem(result: CommandResult) -> bool:
    text = result.output.lower()
    return any(word in text for word in PERMISSION_WORDS)


def _read(argv: list[str], readings: Readings) -> str | None:
    result = run(argv, timeout=TIMEOUT)
    readings.commands.append({"argv": argv, "returncode": result.returncode,
                              "error": result.error})
    if result.ok:
        return result.stdout
    if _permission_problem(result):
        first = (result.output.splitlines() or [""])[0]
        readings.denied.append(f"`{' '.join(argv)}` said: {first}")
    return None


def _ufw_conf_enabled() -> bool | None:
    try:  # without root `ufw status` fails; its config file still says whether it is on
        with open("/etc/ufw/ufw.conf", encoding="utf-8", errors="replace") as fh:
            return any(line.strip() == "ENABLED=yes" for line in fh)
    except OSError:
        return None


def read_host() -> Readings:
    r = Readings()
    if which("ufw"):
        r.ufw = _read(["ufw", "status", "verbose"], r)
        if r.ufw is None:
            r.ufw_enabled_in_conf = _ufw_conf_enabled()
        elif "Status: active" in r.ufw:
            r.ufw_apps = read_ufw_apps()
    if which("firewall-cmd"):
        state = run(["firewall-cmd", "--state"], timeout=TIMEOUT)
        r.firewalld_running = state.ok
        if state.ok:
            r.firewalld = _read(["firewall-cmd", "--list-all"], r)
            if r.firewalld:
                zone = parse_firewalld_list_all(r.firewalld)
                r.firewalld_services = {s: read_firewalld_service(s) for s in zone.services}
    # iptables-nft and iptables-legacy can both hold rules; the kernel applies both.
    variants = [v for v in ("iptables-nft", "iptables-legacy") if which(v)] or (
        ["iptables"] if which("iptables") else [])
    for variant in variants:
        text = _read([variant, "-S"], r)
        if text is not None:
            r.iptables[variant.removeprefix("iptables-") or "iptables"] = text
    if which("nft"):
        r.nft_json = _read(["nft", "-j", "list", "ruleset"], r)
        if r.nft_json is not None:
            r.nft_listing = _read(["nft", "-a", "-s", "list", "ruleset"], r) or ""
    return r


# --------------------------------------------------------------------------- the fact

def _nft_skip(rs: NftRuleset) -> Callable[[str, str], bool]:
    def skip(family: str, table: str) -> bool:
        return table == "firewalld" or is_iptables_nft_table(rs, family, table)
    return skip


def detect_backend(r: Readings, iptables: dict[str, IptRuleset], nft: NftRuleset | None) -> str:
    if (r.ufw is not None and "Status: active" in r.ufw) or (r.ufw is None
                                                               and r.ufw_enabled_in_conf):
        return "ufw"
    if r.firewalld_running:
        return "firewalld"
    if any(rules.has_rules for rules in iptables.values()):
        return "iptables"
    if nft is not None and any(not _nft_skip(nft)(f, t) for f, t in nft.tables):
        return "nftables"
    return "none"


def analyse(r: Readings, traffic: list[Traffic]) -> dict[str, Any]:
    """The `firewall` fact from the tools' outputs (pure: the unit tests call it)."""
    iptables = {v: parse_iptables_s(text) for v, text in r.iptables.items()}
    nft = None
    if r.nft_json:
        try:
            nft = parse_nft_json(r.nft_json, r.nft_listing)
        except (ValueError, KeyError, TypeError):
            nft = None
    backend = detect_backend(r, iptables, nft)
    entries: list[dict[str, Any]] = []
    policy: str | None = None
    unreadable: list[str] = []
    if backend == "ufw":
        if r.ufw is None:
            unreadable.append("ufw")
        else:
            status = parse_ufw_status(r.ufw)
            entries += judge_ufw(status, traffic, r.ufw_apps)
            policy = status.defaults.get("incoming")
    elif backend == "firewalld":
        if r.firewalld is None:
            unreadable.append("firewalld")
        else:
            zone = parse_firewalld_list_all(r.firewalld)
            services = {s: r.firewalld_services.get(s) or read_firewalld_service(s)
                        for s in zone.services}
            entries += judge_firewalld(zone, traffic, services)
            policy = zone.target
    if backend not in ("ufw", "firewalld"):
        for variant, rules in iptables.items():
            if rules.has_rules:
                entries += judge_iptables_ruleset(rules, traffic, variant)
                policy = policy or rules.policies.get("INPUT", "ACCEPT").lower()
    if nft is not None:
        skip = _nft_skip(nft)
        entries += judge_nft_ruleset(nft, traffic, skip)
        policy = policy or nft_policy(nft, skip)
    needs_root = None
    if r.denied and (unreadable or backend == "none" or not entries):
        needs_root = "reading the firewall rules needs root: " + "; ".join(r.denied)
    elif unreadable:
        needs_root = f"the {unreadable[0]} rules could not be read"
    return {
        "backend": backend,
        "ports": [t.to_json() for t in traffic],
        "blocked_ports": [e for e in entries if e["verdict"] == "blocked"],
        "partial_ports": [e for e in entries if e["verdict"] == "partial"],
        "allowed_ports": [e for e in entries if e["verdict"] == "allowed"],
        "default_policy": policy,
        "needs_root": needs_root,
        "commands": r.commands,
    }


@fact("firewall")
def firewall_facts(facts: Facts) -> dict[str, Any]:
    traffic = traffic_that_matters(facts.try_get("nginx"), facts.options.url)
    return analyse(read_host(), traffic)
