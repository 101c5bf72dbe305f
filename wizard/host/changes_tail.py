"""The newest lines of a log, back to a moment: read from the file's end in blocks (the
error-log reader's `reverse_lines`), then on into its rotations (FILE.1, FILE.1.gz,
FILE.2.gz) while the window reaches further back. Bounded in bytes, so a huge package
log costs only its recent part; nothing is decoded whole."""

from __future__ import annotations

import errno
import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from wizard.host.errorlog import reverse_lines, rotations

MAX_BYTES = 8 * 1024 * 1024  # per log, its rotations included
LineTime = Callable[[str], Optional[float]]  # evaluated at run time: no X | Y on 3.9


@dataclass
class Tail:
    """A log's lines from the window's start (oldest first) and how the reading went."""

    path: str
    lines: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    note: str | None = None  # why it could not be read, or stopped early (plain words)

    @property
    def readable(self) -> bool:
        return bool(self.read)


def _text(raw: bytes) -> str | None:
    if b"\x00" in raw:
        return None
    return raw.rstrip(b"\r").decode("utf-8", errors="replace")


def _backwards(path: str, start: float, line_time: LineTime,
               budget: list[int]) -> tuple[list[str], bool]:
    """Lines of one plain file newer than `start`, oldest first; True when the file's
    first line was reached without meeting an older one (the window goes on before it)."""
    found: list[str] = []
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        for raw in reverse_lines(fh, end, budget):
            text = _text(raw)
            if text is None or not text.strip():
                continue
            when = line_time(text)
            if when is not None and when < start:
                found.reverse()
                return found, False
            found.append(text)
    found.reverse()
    return found, budget[0] > 0


def _gzip_forwards(path: str, start: float, line_time: LineTime,
                   budget: list[int]) -> tuple[list[str], bool]:
    """A gzipped rotation, read forwards (gzip cannot be read backwards): the lines stamped,
    or following a stamp, in the window; True when even its first stamp is in the window."""
    found: list[str] = []
    inside = False
    first: bool | None = None
    with gzip.open(path, "rb") as fh:
        for raw in fh:
            budget[0] -= len(raw)
            if budget[0] <= 0:
                break
            text = _text(raw[:64 * 1024].rstrip(b"\n"))
            if text is None or not text.strip():
                continue
            when = line_time(text)
            if when is not None:
                inside = when >= start
                first = inside if first is None else first
            if inside:
                found.append(text)
    return found, bool(first)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "not present"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "needs root to read" if os.geteuid() != 0 else "permission denied"
    return f"cannot read it: {exc.strerror or exc}"


def tail_since(path: str, start: float, line_time: LineTime,
               max_bytes: int = MAX_BYTES) -> Tail:
    """The lines of `path` (and its rotations) from `start` on, oldest first."""
    tail = Tail(path)
    budget = [max_bytes]
    try:
        newest, more = _backwards(path, start, line_time, budget)
    except OSError as exc:
        tail.note = _reason(exc)
        return tail
    tail.read.append(path)
    segments = [newest]
    for rotated in rotations(path) if more else []:
        try:
            reader = _gzip_forwards if rotated.endswith(".gz") else _backwards
            older, more = reader(rotated, start, line_time, budget)
            segments.append(older)
            tail.read.append(rotated)
        except (OSError, EOFError) as exc:  # a broken rotation must not hide the rest
            tail.note = f"{rotated}: {_reason(exc) if isinstance(exc, OSError) else exc}"
            break
        if not more or budget[0] <= 0:
            break
    if budget[0] <= 0:
        size = f"{max_bytes // (1024 * 1024)} MB" if max_bytes >= 1024 * 1024 else \
            f"{max_bytes // 1024} KB"
        tail.note = f"read only the newest {size}"
    tail.lines = [line for segment in reversed(segments) for line in segment]
    return tail
