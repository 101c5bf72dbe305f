"""iptables: an ACCEPT inserted just before the rule that drops (in that rule's table and
chain, found again with `iptables -S CHAIN` in case lines moved), guarded by `iptables -C`.
The timed disable saves the filter table, opens it, and a detached iptables-restore
puts it back. Each plan is pinned to the `-S` listing it was made from."""

from __future__ import annotations

import time

from wizard.fixes.firewall_backend import STASH_DIR, Change, Entry, FirewallBackend, helper
from wizard.fixes.timed_disable import timer_argv
from wizard.host.commands import CommandResult

_TOOLS = {"nft": "iptables-nft", "legacy": "iptables-legacy"}


def _tool(entry: Entry | None) -> str:
    return _TOOLS.get((entry or {}).get("variant") or "", "iptables")


def _position(listing: CommandResult, entry: Entry) -> int | None:
    """1-based line of the dropping rule in its chain's listing now; None for a chain
    policy. Without a listing (no root?) the fact's line is trusted."""
    rule = entry.get("rule") or ""
    if not rule.startswith("-A "):
        return None
    if listing.ok:
        rules = [line.strip() for line in listing.stdout.splitlines()
                 if line.startswith("-A ")]
        if rule in rules:
            return rules.index(rule) + 1
    return entry.get("line") if isinstance(entry.get("line"), int) else None


class IpTables(FirewallBackend):
    name = "iptables"

    def allow_port(self, port: int, entries: list[Entry]) -> Change:
        spec = ["-p", "tcp", "--dport", str(port), "-j", "ACCEPT"]
        change = Change()
        seen: set[tuple[str, str, str]] = set()
        for entry in entries or [{}]:
            tool, table = _tool(entry), entry.get("table") or "filter"
            chain = entry.get("chain") or "INPUT"
            if (tool, table, chain) in seen:
                continue
            seen.add((tool, table, chain))
            # the chain, not the whole table: a fail2ban ban or a container started in
            # another chain meanwhile does not make this insert wrong
            listing = self.read_listing(change, [tool, "-t", table, "-S", chain],
                                        f"the {chain} chain of {tool}'s {table} table")
            position = _position(listing, entry) if entry else None
            where = [str(position)] if position else []
            change.add([tool, "-t", table, "-I", chain, *where, *spec],
                       [tool, "-t", table, "-C", chain, *spec],
                       f"Does the {chain} chain already accept this port?")
            change.undo.append([tool, "-t", table, "-D", chain, *spec])
        change.notes.append("Only IPv4 is changed (ip6tables rules are not touched).")
        return change

    def timed_disable(self, seconds: int, entries: list[Entry]) -> Change:
        change = Change()
        change.add(["mkdir", "-p", "-m", "700", STASH_DIR])
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for tool in sorted({_tool(e) for e in entries} or {"iptables"}):
            # what is saved and put back is the whole filter table: pin all of it
            self.read_listing(change, [tool, "-t", "filter", "-S"],
                              f"{tool}'s filter table")
            saved = f"{STASH_DIR}/{tool}-{stamp}.rules"
            restore = [f"{tool}-restore", saved]
            change.add([f"{tool}-save", "-t", "filter", "-f", saved])
            change.add(timer_argv(helper("timed_disable"), seconds,
                                  f"{STASH_DIR}/{tool}-reenable.log", restore))
            for chain in ("INPUT", "FORWARD", "OUTPUT"):
                change.add([tool, "-P", chain, "ACCEPT"])
            change.add([tool, "-F"])
            change.undo.append(restore)
        return change
