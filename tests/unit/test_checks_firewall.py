"""The firewall fact's judges and the `firewall.ports` check, on real outputs recorded in
network namespaces on Debian 12 (tests/data/firewall/record.sh re-records them;
firewall-cmd_list-all*.txt come from firewalld 1.3.3's firewall-offline-cmd, see there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wizard.checks.firewall import firewall_ports
from wizard.host.facts import Facts
from wizard.host.firewall import Readings, analyse
from wizard.host.firewall_iptables import parse_iptables_s
from wizard.host.firewall_nftables import parse_nft_json
from wizard.host.firewall_walk import Traffic, traffic_that_matters

DATA = Path(__file__).resolve().parent.parent / "data" / "firewall"


def text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def incoming(*ports: int) -> list[Traffic]:
    return [Traffic(p, "nginx listen", "incoming") for p in ports]


LOCAL_UPSTREAM = Traffic(9000, "upstream", "loopback", "127.0.0.1")
REMOTE_UPSTREAM = Traffic(5432, "upstream", "outgoing", "10.1.1.1")


def by_port(fact: dict[str, Any], key: str) -> dict[tuple[int, str], dict[str, Any]]:
    return {(e["port"], e["path"]): e for e in fact[key]}


def test_iptables_rules_found_with_exact_text_and_line() -> None:
    fact = analyse(Readings(iptables={"nft": text("iptables-S.txt")}),
                   [*incoming(80, 8080, 443, 8081, 8443, 22), LOCAL_UPSTREAM])
    assert fact["backend"] == "iptables"
    blocked = by_port(fact, "blocked_ports")
    assert blocked[(8080, "incoming")]["rule"] == "-A INPUT -p tcp -m tcp --dport 8080 -j DROP"
    assert blocked[(8080, "incoming")]["line"] == 4  # as `iptables -L INPUT --line-numbers`
    assert "4    DROP" in text("iptables-L-INPUT.txt")
    assert blocked[(443, "incoming")]["rule"].endswith("REJECT --reject-with tcp-reset")
    # a DROP inside a user chain that INPUT jumps to
    assert (blocked[(8081, "incoming")]["chain"], blocked[(8081, "incoming")]["line"]) == \
        ("WEB", 1)
    allowed = by_port(fact, "allowed_ports")
    assert allowed[(80, "incoming")]["rule"] == "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT"
    assert allowed[(22, "incoming")]["rule"] == "-P INPUT ACCEPT"
    # 9000 is in the REJECT's port range, but `-i lo -j ACCEPT` comes first for a local upstream
    assert allowed[(9000, "loopback")]["rule"] == "-A INPUT -i lo -j ACCEPT"
    # a drop for one source network only is "partial", never "blocked"
    partial = by_port(fact, "partial_ports")
    assert "10.0.0.0/8" in partial[(8443, "incoming")]["rule"]
    assert fact["default_policy"] == "accept"


def test_iptables_drop_policy_blocks_what_is_not_accepted() -> None:
    fact = analyse(Readings(iptables={"legacy": text("iptables-S_policy-drop.txt")}),
                   [*incoming(80, 443), LOCAL_UPSTREAM, REMOTE_UPSTREAM])
    blocked = by_port(fact, "blocked_ports")
    assert set(blocked) == {(443, "incoming")}
    assert blocked[(443, "incoming")]["rule"] == "-P INPUT DROP"
    assert blocked[(443, "incoming")]["variant"] == "legacy"
    assert by_port(fact, "allowed_ports")[(5432, "outgoing")]["rule"] == "-P OUTPUT ACCEPT"
    assert fact["default_policy"] == "drop"


def test_iptables_nft_tables_are_not_judged_twice() -> None:
    readings = Readings(iptables={"nft": text("iptables-S.txt")},
                        nft_json=text("nft-j-ruleset_iptables-nft.json"))
    fact = analyse(readings, incoming(8080))
    assert [e["backend"] for e in fact["blocked_ports"]] == ["iptables"]


def test_nftables_own_table_sets_named_sets_and_reject() -> None:
    readings = Readings(nft_json=text("nft-j-ruleset.json"), nft_listing=text("nft-a-ruleset.txt"))
    fact = analyse(readings, [*incoming(80, 8080, 9200, 8443, 8444, 443), LOCAL_UPSTREAM])
    assert fact["backend"] == "nftables"
    blocked = by_port(fact, "blocked_ports")
    assert blocked[(8080, "incoming")]["rule"] == "tcp dport 8080 counter reject with tcp reset"
    assert blocked[(8080, "incoming")]["table"] == "inet filter"
    assert blocked[(8080, "incoming")]["chain"] == "input"
    assert blocked[(9200, "incoming")]["rule"] == "tcp dport { 9100, 9200 } drop"
    assert blocked[(8443, "incoming")]["rule"] == "tcp dport @blocked_ports drop"
    assert set(blocked) == {(8080, "incoming"), (9200, "incoming"), (8443, "incoming")}
    assert by_port(fact, "partial_ports")[(8444, "incoming")]["rule"].startswith(
        "ip saddr 10.0.0.0/8")
    assert by_port(fact, "allowed_ports")[(9000, "loopback")]["rule"] == 'iifname "lo" accept'


def test_nftables_drop_policy_and_verdict_map() -> None:
    readings = Readings(nft_json=text("nft-j-ruleset_policy-drop.json"),
                        nft_listing=text("nft-a-ruleset_policy-drop.txt"))
    fact = analyse(readings, [*incoming(80, 443), LOCAL_UPSTREAM])
    blocked = by_port(fact, "blocked_ports")
    assert set(blocked) == {(443, "incoming")}
    assert blocked[(443, "incoming")]["rule"] == "policy drop"
    assert by_port(fact, "allowed_ports")[(80, "incoming")]["rule"] == \
        "tcp dport { 22, 80 } accept"
    assert fact["default_policy"] == "drop"


def test_ufw_rules_and_default_policy() -> None:
    fact = analyse(Readings(ufw=text("ufw-status-verbose.txt")),
                   [*incoming(80, 8080, 8081, 9005, 443), LOCAL_UPSTREAM, REMOTE_UPSTREAM])
    assert fact["backend"] == "ufw"
    blocked = by_port(fact, "blocked_ports")
    assert blocked[(8080, "incoming")]["rule"] == "8080/tcp  DENY IN  Anywhere"
    assert blocked[(8081, "incoming")]["rule"] == "8081  REJECT IN  Anywhere"
    assert blocked[(443, "incoming")]["rule"] == "Default: deny (incoming)"
    allowed = by_port(fact, "allowed_ports")
    assert allowed[(9005, "incoming")]["rule"] == "9000:9010/tcp  ALLOW IN  Anywhere"
    assert (9000, "loopback") in allowed and (5432, "outgoing") in allowed
    assert fact["default_policy"] == "deny"


def test_ufw_inactive_means_no_firewall() -> None:
    fact = analyse(Readings(ufw=text("ufw-status-verbose_inactive.txt")), incoming(80))
    assert (fact["backend"], fact["blocked_ports"]) == ("none", [])


def test_firewalld_zone_ports_services_rich_rules_and_target() -> None:
    readings = Readings(firewalld_running=True, firewalld=text("firewall-cmd_list-all.txt"),
                        firewalld_services={"https": ["443/tcp"], "ssh": ["22/tcp"],
                                            "dhcpv6-client": ["546/udp"]})
    fact = analyse(readings, [*incoming(80, 443, 9000, 9105, 8443), LOCAL_UPSTREAM])
    assert fact["backend"] == "firewalld"
    blocked = by_port(fact, "blocked_ports")
    assert set(blocked) == {(80, "incoming"), (8443, "incoming")}
    assert blocked[(80, "incoming")]["rule"].startswith("zone public: target: default")
    assert blocked[(8443, "incoming")]["rule"] == \
        'rule family="ipv4" port port="8443" protocol="tcp" reject'
    allowed = by_port(fact, "allowed_ports")
    assert allowed[(443, "incoming")]["rule"] == "services: https"
    assert allowed[(9105, "incoming")]["rule"] == "ports: 9100-9110/tcp"
    assert (9000, "loopback") in allowed


def test_firewalld_drop_zone() -> None:
    readings = Readings(firewalld_running=True,
                        firewalld=text("firewall-cmd_list-all_drop-zone.txt"))
    fact = analyse(readings, incoming(80, 8080))
    assert [e["port"] for e in fact["blocked_ports"]] == [80]
    assert "target: DROP" in fact["blocked_ports"][0]["rule"]


@pytest.mark.parametrize("name", ["iptables-S_nonroot.txt", "nft_nonroot.txt", "ufw_nonroot.txt"])
def test_non_root_errors_are_recognised(name: str) -> None:
    from wizard.host.commands import CommandResult
    from wizard.host.firewall import _permission_problem

    assert _permission_problem(CommandResult(["x"], 1, "", text(name)))


def test_unreadable_rules_give_needs_root() -> None:
    readings = Readings(ufw=None, ufw_enabled_in_conf=True,
                        denied=["`ufw status verbose` said: ERROR: You need to be root"])
    fact = analyse(readings, incoming(80))
    assert fact["backend"] == "ufw"
    assert "needs root" in fact["needs_root"]


def test_ports_that_matter_come_from_nginx() -> None:
    nginx = {"servers": [{"listen": [{"port": 8080}, {"port": None, "address": "unix:/x"}]}],
             "passes": [{"host": "127.0.0.1", "port": 9000, "socket": None},
                        {"host": "db.internal", "port": 8443, "scheme": "https"},
                        {"socket": "/run/php/php8.2-fpm.sock"},
                        {"upstream": "pool", "host": "pool", "port": None}],
             "upstreams": {"pool": {"servers": [{"host": "localhost", "port": 9001}]}}}
    got = {(t.port, t.path) for t in traffic_that_matters(nginx, "https://site.example/")}
    assert got == {(8080, "incoming"), (443, "incoming"), (9000, "loopback"),
                   (8443, "outgoing"), (9001, "loopback")}
    assert {t.port for t in traffic_that_matters(None, None)} == {80, 443}


def test_parsers_tolerate_empty_output() -> None:
    assert not parse_iptables_s("").has_rules
    assert parse_nft_json("").tables == []


# -- the check ----------------------------------------------------------------------------

def check(recorded: Callable[..., Facts], fact: dict[str, Any] | None,
          error: str | None = None) -> Any:
    facts = recorded({"firewall": fact} if fact is not None else {},
                     {"firewall": error} if error else None)
    return firewall_ports(facts)


def test_check_blocked_gives_port_for_the_fix(recorded: Callable[..., Facts]) -> None:
    fact = analyse(Readings(iptables={"nft": text("iptables-S.txt")}), incoming(80, 8080))
    result = check(recorded, fact)
    assert result.result == "blocked"
    assert result.vars["port"] == 8080
    assert result.vars["backend"] == "iptables"
    assert result.vars["rule"] == "-A INPUT -p tcp -m tcp --dport 8080 -j DROP"
    assert result.causes == ["firewall_blocking"]


def test_check_prefers_the_upstream_connection(recorded: Callable[..., Facts]) -> None:
    fact = analyse(Readings(nft_json=text("nft-j-ruleset.json")),
                   [*incoming(8080), Traffic(9100, "upstream", "outgoing", "10.0.0.9")])
    fact["blocked_ports"] += [{**fact["blocked_ports"][0], "port": 9100, "path": "loopback"}]
    assert check(recorded, fact).vars["port"] == 9100


def test_check_ok_partial_skipped_unknown(recorded: Callable[..., Facts]) -> None:
    ok = analyse(Readings(ufw=text("ufw-status-verbose.txt")), incoming(80))
    assert check(recorded, ok).result == "ok"
    partial = analyse(Readings(iptables={"nft": text("iptables-S.txt")}), incoming(8443))
    assert (check(recorded, partial).result, check(recorded, partial).vars["port"]) == \
        ("partial", 8443)
    none = analyse(Readings(), incoming(80))
    assert check(recorded, none).result == "skipped"
    unreadable = analyse(Readings(denied=["`iptables-nft -S` said: Permission denied"]),
                         incoming(80))
    result = check(recorded, unreadable)
    assert result.result == "unknown" and "root" in result.summary
    assert check(recorded, None, "boom").result == "unknown"
