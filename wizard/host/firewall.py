"""Facts `firewall`: which firewall is active, and whether it drops the ports that matter.

The ports that matter are nginx's listen ports (80/443 when nginx is unknown), the --url
port, and the TCP ports of the upstreams in nginx's *_pass directives. For each one we
walk the active firewall's rules the way the kernel would for a *new* TCP connection and
record the rule that decides. Conditions we cannot judge from here (a client's source
address, a rate limit) make a rule "maybe": a maybe-drop before an accept makes the port
"partial", never "blocked", so the wizard does not blame a firewall on a guess.

This module reads the host (commands) and builds the fact; the judges are pure functions
over the commands' text, one module per firewall (firewall_iptables, firewall_nftables,
firewall_ufw, firewall_firewalld) over the shared walk in firewall_walk, so they run on
recorded outputs in the unit tests.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Any

from wizard.host.commands import CommandResult, run, which
from wizard.host.facts import Facts, fact
from wizard.host.firewall_firewalld import (
    judge_firewalld,
    parse_firewalld_list_all,
    read_firewalld_service,
)
from wizard.host.firewall_iptables import IptRuleset, judge_iptables_ruleset, parse_iptables_s
from wizard.host.firewall_nftables import (
    NftRuleset,
    is_iptables_nft_table,
    judge_nft_ruleset,
    nft_policy,
    parse_nft_json,
)
from wizard.host.firewall_ufw import judge_ufw, parse_ufw_status, read_ufw_apps
from wizard.host.firewall_walk import PERMISSION_WORDS, TIMEOUT, Traffic, traffic_that_matters
from wizard.host.nginx_part import config_part

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
    missing: list[str] = field(default_factory=list)  # no tool at all that reads the rules
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


def _read_ufw(r: Readings) -> None:
    if not which("ufw"):
        return
    if _ufw_conf_enabled() is False:  # `ufw status` itself says inactive then, from this file
        r.ufw_enabled_in_conf = False
        return
    r.ufw = _read(["ufw", "status", "verbose"], r)
    if r.ufw is None:
        r.ufw_enabled_in_conf = _ufw_conf_enabled()
    elif "Status: active" in r.ufw:
        r.ufw_apps = read_ufw_apps()


def _firewalld_may_run(processes: list[dict[str, Any]] | None) -> bool:
    """False only when the process list shows no firewalld: `firewall-cmd --state` could
    then only say 'not running', after a Python start-up of most of a second."""
    if processes is None:
        return True
    return any(p.get("name") == "firewalld" or any(
        str(arg).rsplit("/", 1)[-1] == "firewalld" for arg in (p.get("cmdline") or [])[:3])
        for p in processes)


def _read_firewalld(r: Readings, processes: list[dict[str, Any]] | None) -> None:
    if not which("firewall-cmd") or not _firewalld_may_run(processes):
        return
    state = run(["firewall-cmd", "--state"], timeout=TIMEOUT)
    r.firewalld_running = state.ok
    if state.ok:
        r.firewalld = _read(["firewall-cmd", "--list-all"], r)
        if r.firewalld:
            zone = parse_firewalld_list_all(r.firewalld)
            r.firewalld_services = {s: read_firewalld_service(s) for s in zone.services}


def _iptables_variants() -> list[str]:
    # iptables-nft and iptables-legacy can both hold rules; the kernel applies both.
    return [v for v in ("iptables-nft", "iptables-legacy") if which(v)] or (
        ["iptables"] if which("iptables") else [])


def _read_iptables(r: Readings) -> None:
    for variant in _iptables_variants():
        text = _read([variant, "-S"], r)
        if text is not None:
            r.iptables[variant.removeprefix("iptables-") or "iptables"] = text


def _read_nft(r: Readings) -> None:
    if which("nft"):
        r.nft_json = _read(["nft", "-j", "list", "ruleset"], r)
        if r.nft_json is not None:
            r.nft_listing = _read(["nft", "-a", "-s", "list", "ruleset"], r) or ""


def _merged(parts: list[Readings]) -> Readings:
    """One Readings from the tools' own: lists joined in the tools' order (so the text
    made from them does not depend on which tool answered first), the rest as set."""
    merged = Readings()
    for part in parts:
        for item in fields(Readings):
            value, default = getattr(part, item.name), getattr(Readings(), item.name)
            if isinstance(value, list):
                getattr(merged, item.name).extend(value)
            elif isinstance(value, dict):
                getattr(merged, item.name).update(value)
            elif value != default:
                setattr(merged, item.name, value)
    return merged


def read_host(processes: list[dict[str, Any]] | None = None) -> Readings:
    """Every firewall tool's rules. The tools are independent and ufw and firewall-cmd
    are Python programs slow to start, so they are read at the same time; each thread
    runs in a copy of this one's context, so the session still logs their commands."""
    readers: list[Callable[[Readings], None]] = [
        _read_ufw, partial(_read_firewalld, processes=processes), _read_iptables, _read_nft]
    parts = [Readings() for _ in readers]
    with ThreadPoolExecutor(max_workers=len(readers), thread_name_prefix="firewall") as pool:
        futures = [pool.submit(contextvars.copy_context().run, read, part)
                   for read, part in zip(readers, parts)]
        for future in futures:
            future.result()
    r = _merged(parts)
    if not (_iptables_variants() or which("nft")):
        r.missing = ["iptables", "nft"]  # the kernel may hold rules nobody here can list
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
        "missing_tools": r.missing,
        "commands": r.commands,
    }


@fact("firewall")
def firewall_facts(facts: Facts) -> dict[str, Any]:
    traffic = traffic_that_matters(config_part(facts), facts.options.url)
    return analyse(read_host(facts.try_get("processes")), traffic)
