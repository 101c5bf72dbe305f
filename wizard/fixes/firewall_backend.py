"""One small interface for the firewalls (ufw, firewalld, iptables, nftables).

A back-end spells the commands of a change (with a guard per command, so a second run
skips what is already in place, and the undo). The only thing it may run itself is a
read-only listing, through an injected `reader` (the unit tests pass recorded outputs
instead): to place a rule next to the one that drops, and to pin down what the plan was
made from. Each listing read becomes a precondition of the plan, so apply reads it again
first and runs nothing when someone changed the rules after the person saw the plan.

Run as a module it is the guard helper for firewalls whose tool has no "is this rule
there?" command (ufw, nft):
    python -m wizard.fixes.firewall_backend has-line TEXT -- ARGV...
exits 0 when ARGV's output has a line that reads TEXT (blanks squeezed), 1 when not,
2 when ARGV failed.
    python -m wizard.fixes.firewall_backend fails -- ARGV...
exits 0 when ARGV fails (e.g. `--query-rich-rule` for a rule already removed).
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizard.fixes.base import Precondition
from wizard.fixes.helper_argv import helper
from wizard.host.commands import CLEAN_ENV, CommandResult, run

Reader = Callable[[list[str]], CommandResult]
Entry = dict[str, Any]  # a blocked_ports / partial_ports entry of the `firewall` fact
STASH_DIR = "/run/nginx-502-wizard"  # saved rule sets for a timed disable (root only)


def read_live(argv: list[str]) -> CommandResult:
    # Apply reads a plan's listings again the way it runs every fix command (stream(): a
    # clean environment, C locale). Reading them the same way here means an unchanged
    # ruleset prints the same text both times (ufw translates its words, for one).
    return run(argv, timeout=10.0, env=CLEAN_ENV)


@dataclass
class Change:
    """Commands with one guard each (None: always run), the undo, notes to show, and the
    listings the change was planned from (each read once; apply reads them again)."""

    commands: list[list[str]] = field(default_factory=list)
    guards: list[list[str] | None] = field(default_factory=list)
    asks: list[str | None] = field(default_factory=list)  # what each guard asks, in words
    undo: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preconditions: list[Precondition] = field(default_factory=list)

    def add(self, command: list[str], guard: list[str] | None = None,
            ask: str | None = None) -> None:
        self.commands.append(command)
        self.guards.append(guard)
        self.asks.append(ask if guard else None)

    def expect(self, precondition: Precondition) -> None:
        if all(p.argv != precondition.argv for p in self.preconditions):
            self.preconditions.append(precondition)

    def extend(self, other: Change) -> None:
        self.commands += other.commands
        self.guards += other.guards
        self.asks += other.asks
        self.undo = other.undo + self.undo  # undo later changes first
        self.notes += other.notes
        for precondition in other.preconditions:
            self.expect(precondition)


def has_line_guard(text: str, argv: list[str]) -> list[str]:
    return helper("firewall_backend", "has-line", text, "--", *argv)


def fails_guard(argv: list[str]) -> list[str]:
    return helper("firewall_backend", "fails", "--", *argv)


def squeeze(line: str) -> str:
    return " ".join(line.split())


class FirewallBackend(ABC):
    name: str = ""

    def __init__(self, reader: Reader = read_live) -> None:
        self.reader = reader

    def read_listing(self, change: Change, argv: list[str], what: str) -> CommandResult:
        """Read a listing this change is planned from, once, and make it a precondition:
        the digest of what the person's plan was made from. When it cannot be read (no
        root at plan time) there is nothing to compare, and the plan says so."""
        result = self.reader(argv)
        if result.ok:
            # stream() at apply time hands stdout and stderr over as one text; the digest
            # leaves out the warnings and comments that are all these tools print there
            change.expect(Precondition.of_output(argv, result.stdout + result.stderr, what))
        else:
            why = result.error or (result.output.splitlines() or ["no output"])[0]
            change.notes.append(f"{what[:1].upper()}{what[1:]} could not be read now ({why}), "
                                "so applying cannot check that it is unchanged since this "
                                "plan.")
        return result

    @abstractmethod
    def allow_port(self, port: int, entries: list[Entry]) -> Change:
        """Let new TCP connections reach `port`; `entries` are the fact's rules that drop
        it in this firewall (may be empty when the fact did not name one)."""

    @abstractmethod
    def timed_disable(self, seconds: int, entries: list[Entry]) -> Change:
        """Open the firewall now and have it come back by itself after `seconds`."""


def _main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "has-line" and argv[2] == "--":
        result = run(argv[3:], timeout=20.0)
        if result.returncode != 0:
            print(result.error or result.output, file=sys.stderr)
            return 2
        wanted = squeeze(argv[1])
        return 0 if any(squeeze(line) == wanted for line in result.stdout.splitlines()) else 1
    if len(argv) >= 2 and argv[0] == "fails" and argv[1] == "--":
        return 0 if run(argv[2:], timeout=20.0).returncode not in (0, None) else 1
    print("usage: has-line TEXT -- ARGV... | fails -- ARGV...", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
