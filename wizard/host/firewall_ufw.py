"""ufw: parse `ufw status verbose` and judge its rules and default policy."""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from wizard.host.firewall_walk import (
    MAYBE,
    NO,
    YES,
    Decision,
    Step,
    Traffic,
    all_of,
    any_of,
    port_in_spec,
    verdict,
    walk,
)

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
        return all_of([_ufw_ports(to.split(" on ")[0], port, apps), MAYBE])
    if to in apps:
        return any_of([_ufw_ports(spec.strip(), port, apps) for spec in apps[to].split("|")])
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
    covers = YES if port_in_spec(port, m.group(1)) else NO
    return all_of([covers, MAYBE]) if len(words) > 1 else covers  # "10.0.0.5 80/tcp"


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
            return all_of([_ufw_ports(r.to, t.port, apps), source]), action, None

        decision = walk({chain: rules}, chain, judge, partial(_ufw_step, chain=chain))
        default = status.defaults.get("outgoing" if direction == "out" else "incoming", "allow")
        policy = Step(f"Default: {default} ({'outgoing' if direction == 'out' else 'incoming'})",
                      "filter", "ufw default policy")
        entries.append(verdict(t, "ufw", decision, policy, default == "allow"))
    return entries
