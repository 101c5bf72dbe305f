"""nftables: an accept in our own table would not help (every base chain at the hook must
accept), so the accept goes into the very chain that drops, just before the dropping
rule (its handle found again with `nft -a -s list chain`). nft has no "is this rule
there?" command: the guard reads the chain. The timed disable saves `nft list ruleset`,
flushes, and a detached `nft -f` puts the saved rules back in one transaction. Listings
are read stateless (-s): counters change with every packet, so with them the rule text
would not match the fact's (read with -s too), nor the plan's precondition at apply time.

Run as a module it is the undo helper (nft deletes rules only by handle):
    python -m wizard.fixes.firewall_nftables delete FAMILY TABLE CHAIN RULE
deletes the first rule of that chain that reads RULE.
"""

from __future__ import annotations

import re
import sys
import time

from wizard.fixes.base import FixNotApplicable
from wizard.fixes.firewall_backend import (
    STASH_DIR,
    Change,
    Entry,
    FirewallBackend,
    Reader,
    has_line_guard,
    helper,
    read_live,
    squeeze,
)
from wizard.fixes.timed_disable import timer_argv
from wizard.host.commands import CommandResult


def handles(listing: str) -> dict[int, str]:
    """`nft -a list chain` -> {handle: rule text}."""
    found: dict[int, str] = {}
    for line in listing.splitlines():
        m = re.match(r"^\s+(.*?)\s+# handle (\d+)\s*$", line)
        if m and not m.group(1).startswith(("chain ", "type ")):
            found[int(m.group(2))] = squeeze(m.group(1))
    return found


def _handle(listing: CommandResult, entry: Entry) -> int | None:
    """The dropping rule's handle in the chain's listing; None for the chain's policy or a
    rule gone."""
    rule, handle = squeeze(entry.get("rule") or ""), entry.get("line")
    if rule.startswith("policy ") or not isinstance(handle, int):
        return None
    if not listing.ok:
        return handle  # cannot look (no root?): trust the fact
    now = handles(listing.stdout)
    if now.get(handle) == rule:
        return handle
    return next((h for h, text in now.items() if text == rule), None)


class NfTables(FirewallBackend):
    name = "nftables"

    def allow_port(self, port: int, entries: list[Entry]) -> Change:
        accept = ["tcp", "dport", str(port), "accept"]
        change = Change()
        seen: set[tuple[str, ...]] = set()
        for entry in entries:
            family, _, table = (entry.get("table") or "").partition(" ")
            where = [family, table, entry.get("chain") or ""]
            if not all(where) or tuple(where) in seen:
                continue
            seen.add(tuple(where))
            listing = self.read_listing(change, ["nft", "-a", "-s", "list", "chain", *where],
                                        f"nftables chain {' '.join(where)}")
            handle = _handle(listing, entry)
            position = ["position", str(handle)] if handle is not None else []
            change.add(["nft", "insert", "rule", *where, *position, *accept],
                       has_line_guard(" ".join(accept), ["nft", "list", "chain", *where]),
                       f"Does the chain {' '.join(where)} already accept this port?")
            change.undo.append(helper("firewall_nftables", "delete", *where, " ".join(accept)))
        if not change.commands:
            raise FixNotApplicable(f"no nftables chain is known to drop port {port}, so "
                                   "there is no chain to put the accept in")
        return change

    def timed_disable(self, seconds: int, entries: list[Entry]) -> Change:
        saved = f"{STASH_DIR}/nft-{time.strftime('%Y%m%d-%H%M%S')}.nft"
        restore = ["nft", "-f", saved]
        change = Change()
        # the whole rule set is saved, flushed and put back: pin all of it
        self.read_listing(change, ["nft", "-s", "list", "ruleset"], "the nftables rule set")
        change.add(["mkdir", "-p", "-m", "700", STASH_DIR])
        # "flush ruleset" first makes the restore replace, not add to, what is there then
        change.add(helper("timed_disable", "save", "--prepend", "flush ruleset", saved, "--",
                          "nft", "list", "ruleset"))
        change.add(timer_argv(helper("timed_disable"), seconds, f"{STASH_DIR}/nft-reenable.log",
                              restore))
        change.add(["nft", "flush", "ruleset"])
        change.undo = [restore]
        change.notes.append("The whole nftables rule set is flushed for that time (NAT too).")
        return change


def delete(where: list[str], rule: str, reader: Reader = read_live) -> int:
    listing = reader(["nft", "-a", "list", "chain", *where])
    if not listing.ok:
        print(listing.error or listing.output, file=sys.stderr)
        return 1
    wanted = squeeze(rule)
    handle = next((h for h, text in handles(listing.stdout).items() if text == wanted), None)
    if handle is None:
        print(f"no rule `{rule}` in chain {' '.join(where)}: nothing to delete")
        return 0
    result = reader(["nft", "delete", "rule", *where, "handle", str(handle)])
    if not result.ok:
        print(result.error or result.output, file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "delete":
        sys.exit(delete(sys.argv[2:5], sys.argv[5]))
    print("usage: delete FAMILY TABLE CHAIN RULE", file=sys.stderr)
    sys.exit(64)
