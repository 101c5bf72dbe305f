"""One nginx directive as the wizard keeps it: name, arguments, file, line and block.

Its own module so that both readers of a config (nginx_tree, which makes these straight
from the files, and nginx_config's conversion of crossplane's payload) can build them.
"""

from __future__ import annotations

INDEX_FROM = 16  # blocks with more directives than this get an index by name


class Directive:
    """One directive with the file and line it was written on; block is None for simple ones.

    Slots, not a dataclass with a __dict__: a host with 5,000 server files has a hundred
    thousand of these, kept for the session."""

    __slots__ = ("_by_name", "args", "block", "file", "line", "name")

    def __init__(self, name: str, args: list[str], file: str, line: int,
                 block: list[Directive] | None = None) -> None:
        self.name = name
        self.args = args
        self.file = file
        self.line = line
        self.block = block
        # The block's directives by name, built on first lookup in a large block: scopes
        # ask an http block of 5,000 servers for each setting of each server, and a scan
        # per question was quadratic. A small block (a location) is scanned instead: an
        # index for each of 20,000 locations cost more memory than the scans cost time.
        self._by_name: dict[str, list[Directive]] | None = None

    def __repr__(self) -> str:
        return f"Directive({self.name!r}, {self.args!r}, {self.file!r}, {self.line})"

    def _named(self, name: str) -> list[Directive]:
        block = self.block or []
        if len(block) <= INDEX_FROM:
            return [d for d in block if d.name == name]
        if self._by_name is None:
            self._by_name = {}
            for d in block:
                self._by_name.setdefault(d.name, []).append(d)
        return self._by_name.get(name) or []

    def find(self, name: str) -> list[Directive]:
        return list(self._named(name))

    def first(self, name: str) -> Directive | None:
        found = self._named(name)
        return found[-1] if found else None  # nginx rejects duplicates; take the last anyway


class IncludeMark(Directive):
    """Where an include statement stood, until the files it names are put in its place."""

    __slots__ = ("indices",)

    def __init__(self, indices: list[int], file: str, line: int) -> None:
        super().__init__("include", [], file, line)
        self.indices = indices
