"""firewalld: parse `firewall-cmd --list-all` for the zone and judge it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.host.firewall_walk import (
    KNOWN_SERVICES,
    MAYBE,
    NO,
    YES,
    Decision,
    Step,
    Traffic,
    all_of,
    port_in_spec,
    verdict,
    walk,
)

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
    return proto in ("tcp", "") and port_in_spec(port, number)


def _rich_rule(rule: str, t: Traffic, services: dict[str, list[str]]
               ) -> tuple[str, str, str | None]:
    words = dict(re.findall(r'(\w+)="([^"]*)"', rule))
    action = next((a for a in ("accept", "reject", "drop") if re.search(rf"\b{a}\b", rule)),
                  "continue")
    checks: list[str] = []
    if 'port port="' in rule:
        checks.append(YES if words.get("protocol", "tcp") == "tcp"
                      and port_in_spec(t.port, words.get("port", "").replace("-", ":"))
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
    return all_of(checks), "drop" if action in ("reject", "drop") else action, None


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
