"""nftables: parse `nft -j list ruleset` (and `nft -a` for rule texts) and judge it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from wizard.host.firewall_walk import (
    BUILTIN_CHAINS,
    IPTABLES_TABLES,
    MAYBE,
    NO,
    YES,
    Step,
    Traffic,
    address_match,
    all_of,
    any_of,
    iface_match,
    opposite,
    port_in_spec,
    verdict,
    walk,
)

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
        return YES if port_in_spec(port, f"{low}:{high}") else NO
    return YES if port_in_spec(port, str(item)) else NO


def _nft_addr_item(which_end: str, t: Traffic, item: Any) -> str:
    item = _unwrap(item)
    if isinstance(item, dict) and "prefix" in item:
        return address_match(f"{item['prefix']['addr']}/{item['prefix']['len']}", which_end, t)
    if isinstance(item, dict) and "range" in item:
        return MAYBE
    return address_match(str(item), which_end, t)


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
            return lambda item: iface_match(str(_unwrap(item)), t)
        return MAYBE
    if "ct" in left and left["ct"].get("key") == "state":
        return lambda item: YES if str(_unwrap(item)) == "new" else NO
    return MAYBE


def _nft_match(m: dict[str, Any], rule: NftRule, rs: NftRuleset, t: Traffic) -> str:
    test = _nft_key_test(m.get("left"), t)
    if isinstance(test, str):
        return test
    result = any_of([test(item) for item in _nft_items(m.get("right"), rule, rs.sets)])
    return opposite(result) if m.get("op") == "!=" else result


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
    return all_of(results), action, target


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
