"""One small interface for the firewalls (ufw, firewalld, iptables, nftables).

A back-end spells the commands of a change (with a guard per command, so a second run
skips what is already in place, and the undo). The only thing it may run itself is a
read-only listing, through an injected `reader`, to place a rule next to the one that
drops (the unit tests pass recorded outputs instead).

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

from wizard.fixes.helper_argv import helper
from wizard.host.commands import CommandResult, run

Reader = Callable[[list[str]], CommandResult]
Entry = dict[str, Any]  # a blocked_ports / partial_ports entry of the `firewall` fact
STASH_DIR = "/run/nginx-502-wizard"  # saved rule sets for a timed disable (root only)


def read_live(argv: list[str]) -> CommandResult:
    return run(argv, timeout=10.0)


@dataclass
class Change:
    """Commands with one guard each (None: always run), the undo, and notes to show."""

    commands: list[list[str]] = field(default_factory=list)
    guards: list[list[str] | None] = field(default_factory=list)
    undo: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, command: list[str], guard: list[str] | None = None) -> None:
        self.commands.append(command)
        self.guards.append(guard)

    def extend(self, other: Change) -> None:
        self.commands += other.commands
        self.guards += other.guards
        self.undo = other.undo + self.undo  # undo later changes first
        self.notes += other.notes


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
