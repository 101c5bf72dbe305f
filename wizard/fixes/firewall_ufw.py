"""ufw: `ufw allow PORT/tcp` (or `ufw insert 1 allow` when a deny rule would win), and
a timed disable with `ufw disable` plus a detached `ufw --force enable`. Both are pinned
to `ufw status verbose` (rules and default policies) as it read when planned."""

from __future__ import annotations

import re

from wizard.fixes.firewall_backend import (
    STASH_DIR,
    Change,
    Entry,
    FirewallBackend,
    has_line_guard,
    helper,
)
from wizard.fixes.timed_disable import timer_argv

STATUS = ["ufw", "status", "verbose"]


def _denied_spec(entry: Entry) -> str | None:
    """The To column of a ufw deny rule from the fact ('18080/tcp'), None for a policy."""
    rule = entry.get("rule") or ""
    if rule.startswith("Default:"):
        return None
    return re.split(r"\s{2,}", rule.strip())[0]


class Ufw(FirewallBackend):
    name = "ufw"

    def allow_port(self, port: int, entries: list[Entry]) -> Change:
        spec = f"{port}/tcp"
        change = Change()
        self.read_listing(change, STATUS, "the ufw rules")
        guard = has_line_guard(f"{spec} ALLOW Anywhere", ["ufw", "status"])
        ask = f"Does ufw already allow {spec}?"
        denied = [s for s in (_denied_spec(e) for e in entries) if s]
        if spec in denied:
            # ufw replaces a rule with the same To in place ("Rule updated"), so the undo
            # puts the deny back rather than deleting the allow
            change.add(["ufw", "allow", spec], guard, ask)
            change.undo = [["ufw", "deny", spec]]
            change.notes.append(f"The rule `{spec} DENY` becomes `{spec} ALLOW`.")
        elif denied:
            # ufw checks its rules in order: the allow must come before the deny
            change.add(["ufw", "insert", "1", "allow", spec], guard, ask)
            change.undo = [["ufw", "delete", "allow", spec]]
        else:
            change.add(["ufw", "allow", spec], guard, ask)
            change.undo = [["ufw", "delete", "allow", spec]]
        return change

    def timed_disable(self, seconds: int, entries: list[Entry]) -> Change:
        log = f"{STASH_DIR}/ufw-reenable.log"
        enable = ["ufw", "--force", "enable"]  # --force: no "may disrupt ssh" prompt
        change = Change()
        self.read_listing(change, STATUS, "the ufw rules")
        change.add(["mkdir", "-p", "-m", "700", STASH_DIR])
        change.add(timer_argv(helper("timed_disable"), seconds, log, enable))
        change.add(["ufw", "disable"])
        change.undo = [enable]
        return change
