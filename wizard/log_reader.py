"""Reading a log forwards in large blocks, handing over stretches of plain records whole.

Most of a big nginx error log is records that nginx wrote itself, one line each, or a
PHP message relayed over a few lines. Such a stretch is recognised with one regex over
the bytes of a block (a C loop); the records in it that hold no needle of any signature
(log_needles) are found with one substring search per needle, and once nothing more is
listed a stretch is only counted. Every other line is read one at a time (`readline`)
and goes the careful way (explain.pasted_records).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import IO

from wizard.signatures import all_needles

BLOCK = 1024 * 1024

# nginx's dated header (signatures.NGINX_HEADER) and the printable ASCII (and tabs) after
# it, no longer than a signature looks at (MAX_MATCH_CHARS). Such a line has no wrapper,
# nothing binary to cut off, and its lower-cased text is what case-blind matching sees.
_HEADER = rb"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[a-z]+\] \d+#\d+: "
_TEXT = rb"[\t\x20-\x7e]"
_CONTINUED = b"PHP message: "
# A line of its own: the next line does not continue it.
_ALONE = _HEADER + _TEXT + rb"{0,3500}\n(?!" + _CONTINUED + rb")"
# A PHP message that nginx relays keeps its line breaks (signatures.may_continue): the
# record opens with 'FastCGI sent in stderr: "' and goes on, line by line, until a line
# holds nginx's context (", client: "). Its lines have no "[" (so no record header hides
# in them) and are few and short enough to stay under MAX_RECORD_LINES / _CHARS.
_OPEN = (_HEADER + rb'(?=[^\n]*FastCGI sent in stderr: ")(?:(?!, client: )' + _TEXT
         + rb"){0,3500}\n")
_MORE = _CONTINUED + rb"(?:(?!, client: )[\t\x20-\x5a\x5c-\x7e]){0,2000}\n"
_LAST = _CONTINUED + rb"[\t\x20-\x5a\x5c-\x7e]{0,2000}\n(?!" + _CONTINUED + rb")"
_RELAYED = _OPEN + rb"(?:" + _MORE + rb"){0,6}" + _LAST
_PLAIN_RECORDS = re.compile(rb"(?:(" + _ALONE + rb"|" + _RELAYED + rb"))+")
_CONTINUATION = "\n" + _CONTINUED.decode()


@dataclass
class PlainRun:
    """Consecutive plain records (see _PLAIN_RECORDS); `first` is the first line's number.
    A run that was only counted (LogReader.count_run) has no text."""

    first: int
    text: str  # the lines, without the last newline
    line_count: int
    record_count: int

    def records(self) -> list[tuple[int, list[str], bool]]:
        """(first line number, lines, whether a signature could match) of each record;
        False only where no needle of any signature is in the record."""
        lines = self.text.split("\n")
        gated = _lines_with_needles(self.text.lower(), lines)
        out: list[tuple[int, list[str], bool]] = []
        for index, line in enumerate(lines):
            if line.startswith(_CONTINUED.decode()):
                out[-1][1].append(line)
                out[-1] = (out[-1][0], out[-1][1], True)  # a needle may span its lines
            else:
                out.append((self.first + index, [line], index in gated))
        return out


def _lines_with_needles(lowered: str, lines: list[str]) -> set[int]:
    """Indexes of the lines that hold a needle, each needle looked for across the text."""
    every = all_needles()
    if every is None:
        return set(range(len(lines)))
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    found: set[int] = set()
    for needle in every:
        at = lowered.find(needle)
        while at >= 0:
            index = bisect_right(starts, at) - 1
            found.add(index)
            at = lowered.find(needle, starts[index + 1])
    return found


class LogReader:
    """A byte stream read in blocks: `readline` as a buffered file has it, and
    `plain_run` for the stretch of plain records at the current position."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buf = b""
        self._pos = 0
        self._base = 0  # where _buf starts in the stream
        self._count_from = 0  # no count_run before this offset: the last one failed near
        self._eof = False

    def _fill(self, want: int) -> None:
        while len(self._buf) - self._pos < want and not self._eof:
            chunk = self._stream.read(BLOCK)
            if not chunk:
                self._eof = True
                return
            self._buf = self._buf[self._pos:] + chunk
            self._base += self._pos
            self._pos = 0

    def readline(self, limit: int) -> bytes:
        """Up to and including the next newline, at most `limit` bytes; b"" at the end."""
        end = self._buf.find(b"\n", self._pos, self._pos + limit)
        while end < 0 and len(self._buf) - self._pos < limit and not self._eof:
            self._fill(len(self._buf) - self._pos + BLOCK)
            end = self._buf.find(b"\n", self._pos, self._pos + limit)
        stop = end + 1 if end >= 0 else min(self._pos + limit, len(self._buf))
        line = self._buf[self._pos:stop]
        self._pos = stop
        return line

    def plain_run(self, first: int) -> PlainRun | None:
        """The plain records from here on, but the last: the line after it may continue
        it, or belong to it in a way only the careful reading sees."""
        self._fill(BLOCK // 2)  # a run may go on past the block: it is cut at a record
        m = _PLAIN_RECORDS.match(self._buf, self._pos)
        if m is None or m.start(1) <= self._pos:
            return None
        stop = m.start(1)  # where the last record of the run starts
        text = self._buf[self._pos:stop - 1].decode("ascii")
        self._pos = stop
        lines = text.count("\n") + 1
        return PlainRun(first, text, lines, lines - text.count(_CONTINUATION))

    def count_run(self, first: int) -> PlainRun | None:
        """Like plain_run, for a whole block at once and only counted: checked with a few
        passes of C over the bytes instead of a regex step per character. None when a
        line of the block is not plain (then plain_run takes what is, and the next try
        waits for half a block, so that a log with an odd line here and there does not
        have each block checked again and again)."""
        self._fill(BLOCK // 2)
        if self._base + self._pos < self._count_from:
            return None
        buf, pos = self._buf, self._pos
        stop = _last_record_start(buf, pos, buf.rfind(b"\n", pos) + 1)
        counted = _count_plain(buf[pos:stop]) if stop > pos else None
        if counted is None:
            self._count_from = self._base + self._pos + BLOCK // 2
            return None
        self._pos = stop
        return PlainRun(first, "", *counted)


def _count_plain(block: bytes) -> tuple[int, int] | None:
    """(lines, records) of whole lines when each is plain (see _PLAIN_RECORDS), else None."""
    if _HEADER_AT.match(block) is None:
        return None
    newlines = block.translate(None, _PRINTABLE)  # what is not printable ASCII
    lines = len(newlines)
    if newlines != b"\n" * lines:
        return None
    continued = block.count(b"\n" + _CONTINUED)
    if len(_HEADER_NEXT.findall(block)) + continued != lines - 1:
        return None  # a line that starts neither a record nor a relayed PHP message
    if continued and not _relayed_whole(block):
        return None
    return lines, lines - continued


_HEADER_AT = re.compile(_HEADER)
_HEADER_NEXT = re.compile(rb"\n(?=" + _HEADER + rb")")
_RELAYED_AT = re.compile(_RELAYED)
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t"


def _last_record_start(buf: bytes, pos: int, end: int) -> int:
    """Where the last record in buf[pos:end] (whole lines) starts; pos when unsure."""
    stop = end
    for _ in range(10):  # a relayed message has at most 8 lines (_RELAYED)
        stop = buf.rfind(b"\n", pos, stop - 1) + 1
        if stop <= pos:
            return pos
        if _HEADER_AT.match(buf, stop) is not None:
            return stop
    return pos


def _relayed_whole(block: bytes) -> bool:
    """Whether every relayed PHP message line in the block belongs to a record that
    _RELAYED takes whole (so that each such line continues the record above it)."""
    at = block.find(b"\n" + _CONTINUED)
    while at >= 0:
        end = _relayed_end(block, block.rfind(b"\n", 0, at) + 1)
        if end < 0:
            return False
        at = block.find(b"\n" + _CONTINUED, end - 1)
    return True


def _relayed_end(block: bytes, head: int) -> int:
    """Where the relayed record starting at `head` ends when it has _RELAYED's shape
    (the same rules in bytes operations, which cost less than the regex); -1 if not."""
    at = block.find(b"\n", head)
    first = block[head:at]
    if len(first) > 3540 or _STDERR_OPEN not in first or _CLIENT in first:
        return -1
    for _line in range(7):
        start, at = at + 1, block.find(b"\n", at + 1)
        line = block[start:at] if at >= 0 else b""
        if at < 0 or not line.startswith(_CONTINUED) or len(line) > 2013 or b"[" in line:
            return -1
        if _CLIENT in line or not block.startswith(_CONTINUED, at + 1):
            return at + 1 if not block.startswith(_CONTINUED, at + 1) else -1
    return -1


_STDERR_OPEN = b'FastCGI sent in stderr: "'
_CLIENT = b", client: "
