"""Facts `firewall`: which firewall is active on this host."""

from __future__ import annotations

from typing import Any

from wizard.host.commands import run, which
from wizard.host.facts import Facts, fact


def _ufw_active() -> bool | None:
    if not which("ufw"):
        return False
    result = run(["ufw", "status"], timeout=10)
    if result.ok:
        return "Status: active" in result.stdout
    try:  # without root `ufw status` fails; its config file still says whether it is on
        with open("/etc/ufw/ufw.conf", encoding="utf-8", errors="replace") as fh:
            return any(line.strip() == "ENABLED=yes" for line in fh)
    except OSError:
        return None


def _firewalld_running() -> bool:
    return bool(which("firewall-cmd")) and run(["firewall-cmd", "--state"], timeout=10).ok


def _iptables_rules() -> list[str]:
    if not which("iptables"):
        return []
    result = run(["iptables", "-S"], timeout=10)
    return [ln for ln in result.stdout.splitlines() if ln.startswith("-A ")] if result.ok else []


def _nft_tables() -> list[str]:
    if not which("nft"):
        return []
    result = run(["nft", "list", "tables"], timeout=10)
    return result.stdout.split("\n") if result.ok and result.stdout.strip() else []


def detect_firewall() -> str:
    if _ufw_active():
        return "ufw"
    if _firewalld_running():
        return "firewalld"
    if _iptables_rules():
        return "iptables"
    if _nft_tables():
        return "nftables"
    return "none"


@fact("firewall")
def firewall_facts(facts: Facts) -> dict[str, Any]:
    return {"backend": detect_firewall()}
