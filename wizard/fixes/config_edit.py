"""Planning a config edit: read a file as it is now, change single lines (set a value at
file:line, or add lines after one), and produce the FileEdit with the sha256 of the text
the change was made from plus the unified diff shown before anything is written.

Only the lines that change are touched: comments, indentation and line endings elsewhere
stay byte for byte, so the diff shows exactly what will be written."""

from __future__ import annotations

import difflib
import hashlib
import shlex
from dataclasses import dataclass, field

from wizard.fixes.backups import backup_hint
from wizard.fixes.base import FileEdit, FixNotApplicable

MAX_CONFIG_BYTES = 2 * 1024 * 1024


def read_config(path: str) -> tuple[str, str]:
    """(text, sha256 of its bytes); FixNotApplicable with a plain reason otherwise."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        hint = " (run the wizard as root to plan this change)" if exc.errno == 13 else ""
        raise FixNotApplicable(f"cannot read {path}: {exc.strerror}{hint}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise FixNotApplicable(f"{path} is larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB; "
                               "not editing it")
    if b"\0" in data:
        raise FixNotApplicable(f"{path} is a binary file, not a config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FixNotApplicable(f"{path} is not UTF-8 text; not editing it") from None
    return text, hashlib.sha256(data).hexdigest()


@dataclass
class Change:
    """Line changes to one file, applied in one go (1-based line numbers of the original)."""

    path: str
    text: str
    sha256: str
    replace: dict[int, str] = field(default_factory=dict)  # line -> new line (no newline)
    insert_after: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, path: str) -> Change:
        text, sha = read_config(path)
        return cls(path, text, sha)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines(keepends=True)

    def line(self, number: int) -> str:
        lines = self.lines
        if not 1 <= number <= len(lines):
            raise FixNotApplicable(f"{self.path} has no line {number} (it changed since "
                                   "the diagnosis; run it again)")
        return lines[number - 1].rstrip("\r\n")

    def set_line(self, number: int, new: str) -> None:
        self.line(number)  # must exist
        self.replace[number] = new

    def add_after(self, number: int, new_lines: list[str]) -> None:
        if number:
            self.line(number)
        self.insert_after.setdefault(number, []).extend(new_lines)

    def new_text(self) -> str:
        lines = self.lines
        ending = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        out: list[str] = []
        for extra in self.insert_after.get(0, []):
            out.append(extra + ending)
        for number, old in enumerate(lines, start=1):
            body = old.rstrip("\r\n")
            end = old[len(body):]
            if not end and number in self.insert_after:
                end = ending  # the last line had no newline; lines follow it now
            out.append(self.replace.get(number, body) + end)
            for extra in self.insert_after.get(number, []):
                out.append(extra + ending)
        return "".join(out)

    def edit(self) -> FileEdit:
        return FileEdit(self.path, self.new_text(), self.sha256)

    def diff(self) -> str:
        return unified_diff(self.path, self.text, self.new_text())


def unified_diff(path: str, old: str, new: str) -> str:
    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"{path} (now)", tofile=f"{path} (after the fix)", n=2))


def finish(changes: list[Change]) -> tuple[list[FileEdit], str, list[list[str]]]:
    """(edits, combined diff, undo argv) for changed files; FixNotApplicable when the file
    already says what the fix would write."""
    changed = [c for c in changes if c.new_text() != c.text]
    if not changed:
        raise FixNotApplicable("the configuration already has this value; nothing to change")
    undo = [["cp", "--", backup_hint(c.path), c.path] for c in changed]
    return [c.edit() for c in changed], "".join(c.diff() for c in changed), undo


def undo_note(undo: list[list[str]]) -> str:
    return ("To undo by hand: copy the backup back (it is kept outside every config "
            "folder; the time of applying replaces YYYYmmdd-HHMMSS), then reload: "
            + "; ".join(shlex.join(argv) for argv in undo))
