"""`explain`: turn error-log text into records, each with a signature and causes.

The input is read as bytes, one physical line at a time, so a huge log streams through
in bounded memory; only the entries the report shows are kept (every recognised record,
and unrecognised ones up to a limit). Invalid UTF-8 is decoded with replacement
characters, and stretches that look binary become one plain note instead of garbage.

What people give it is often pasted, not a log file: each physical line loses the
wrappers of the tool it came from (journald, syslog, Docker, Kubernetes; log_wrappers),
a record whose date was lost is still classified, and a record that a terminal or a mail
client broke over several lines is put back together, where the break is visible.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _encode_string
from typing import IO, Any

from wizard.causes import cause
from wizard.compat import zip_strict
from wizard.log_reader import LogReader, PlainRun
from wizard.log_wrappers import Unwrapped, unwrap
from wizard.safe_text import json_text, md_code, md_text, printable
from wizard.signatures import (
    BY_NAME,
    MAX_RECORD_CHARS,
    MAX_RECORD_LINES,
    Record,
    classify,
    is_record_start,
    may_continue,
    recognises,
    resync,
)

MAX_LINE_BYTES = 64 * 1024  # longer physical lines are cut: no log line is that long
MAX_UNRECOGNISED = 2000  # unrecognised records listed; later ones are only counted
MAX_RECOGNISED = 20000
MAX_WRAPPED_LINES = 12  # a record broken by a terminal or mail client; more is not one
WIDE_LINE = 70  # a piece this long that ends mid-word was cut by width, not at a space
WIDTH = 80


# Control bytes that do not occur in text (tab, newline, CR and ESC for colours do).
_CONTROLS = bytes(b for b in range(32) if b not in (9, 10, 13, 27))


def _is_binary(raw: bytes) -> bool:
    """NUL bytes or mostly non-text bytes: not a log line a person could read."""
    if b"\x00" in raw:
        return True
    if not raw:
        return False
    controls = len(raw) - len(raw.translate(None, _CONTROLS))
    return controls * 10 > len(raw)


def physical_lines(stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    """(line number, text) for every line; a binary line becomes a lone NUL marker."""
    number = 0
    while (pieces := _next_line(stream)) is not None:
        number += 1
        for piece in pieces:
            yield number, piece


def _next_line(stream: IO[bytes] | LogReader) -> list[str] | None:
    """The pieces of the next physical line (see _resynchronised); None at the end."""
    raw = stream.readline(MAX_LINE_BYTES)
    while len(raw) >= MAX_LINE_BYTES and not raw.strip(b"\x00"):
        # a NUL run (copytruncate) longer than a line: the record after it counts
        raw = b"\x00" + stream.readline(MAX_LINE_BYTES)
    if not raw:
        return None
    if not raw.endswith(b"\n") and len(raw) >= MAX_LINE_BYTES:
        # Skip the rest of an over-long line without holding it in memory.
        while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
            pass
    return _resynchronised(raw.rstrip(b"\r\n"))


def lines_and_runs(reader: LogReader, counting: Callable[[], bool]
                   ) -> Iterator[tuple[int, str] | PlainRun]:
    """physical_lines, with each stretch of plain nginx records given whole (PlainRun);
    while `counting()` says that records are only counted, a stretch is only counted."""
    number = 0
    while True:
        run = (counting() and reader.count_run(number + 1)) or reader.plain_run(number + 1)
        if run is not None:
            number += run.line_count
            yield run
            continue
        pieces = _next_line(reader)
        if pieces is None:
            return
        number += 1
        for piece in pieces:
            yield number, piece


def _resynchronised(raw: bytes) -> list[str]:
    """The line, split where a record starts after garbage (binary bytes, the NUL run that
    copytruncate leaves, a torn write); a binary piece becomes a lone NUL marker. A prefix
    that a log collector wrote (syslog, Docker) is a wrapper, not garbage: kept whole."""
    text = raw.decode("utf-8", errors="replace")
    before, record = resync(text)
    if before and "\x00" not in before and \
            is_record_start(unwrap(text).inner.lstrip(), lenient=True):
        before, record = "", text
    pieces = [before, record] if before else [text]
    return ["\x00" if _is_binary(p.encode("utf-8", errors="replace")) else p
            for p in pieces]


# --- pasted lines back into records ---------------------------------------------------

# nginx's context after a message (ngx_http_log_error_handler): " while <action>" and
# ", client: ..., server: ..., request: "...", upstream: "...", host: "...".
_KEYS = r"(?:client|server|request|subrequest|upstream|host|referrer)"
_CONTEXT_START = re.compile(rf"(?:, )?(?:while [a-z]+ing\b|{_KEYS}: )")
_CONTEXT_IN = re.compile(rf" while [a-z]+ing\b|, {_KEYS}: ")
_FRAGMENT = re.compile(rf"[^\s,]+, {_KEYS}: ")  # the rest of a value cut mid-word
_WORDISH = re.compile(r"[\w./:-]")


@dataclass
class PastedRecord:
    """One record: its physical lines as given, and the program's text inside them."""

    line: int
    first: Unwrapped
    raw: list[str] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)  # the inner text of each line
    # What joins piece i to the one before: as read, and the other reading where the
    # break could have been mid-word or at a space (tried when the first says nothing).
    joins: list[tuple[str, str]] = field(default_factory=list)
    partial: bool = False  # the last line was a runtime's partial line
    binary: bool = False
    _alone: Record | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.raw)

    def message(self, reading: int = 0) -> str:
        out = self.pieces[0] if self.pieces else ""
        for join, piece in zip_strict(self.joins, self.pieces[1:]):
            out += join[reading] + piece
        return out.strip()

    def multiline(self) -> bool:
        """Continued by the program's own line breaks (a relayed PHP message, a trace)."""
        return may_continue(self.pieces[:1])

    def alone(self) -> Record:
        """The first line classified on its own (kept: most records have one line)."""
        if self._alone is None:
            self._alone = classify(self.pieces[0].strip(), lenient=True)
        return self._alone

    def nginx_like(self) -> bool:
        rec = self.alone()
        return rec.log == "nginx" or (rec.signature is not None and rec.signature.log == "nginx")

    def add(self, raw: str, inner: str, join: tuple[str, str]) -> None:
        self.raw.append(raw)
        self.pieces.append(inner)
        self.joins.append(join)

    def classify(self) -> Record:
        """The record classified; an unsure break is read the other way when that is
        what makes the message recognisable."""
        if len(self.pieces) == 1:
            return self.alone()
        rec = classify(self.message(0), lenient=True)
        if rec.signature is None and any(a != b for a, b in self.joins):
            other = classify(self.message(1), lenient=True)
            rec = other if other.signature is not None else rec
        return rec


def _glue(before: str, after: str) -> tuple[str, str]:
    """How two pieces of one broken line join: a space where one side shows it; none
    inside a word cut by a terminal's width; either, in that order, where unsure."""
    if not before or not after or before[-1].isspace() or after[0].isspace():
        return " ", " "
    if not (_WORDISH.match(before[-1]) and _WORDISH.match(after[0])):
        return ("", "") if after[0] in "\"),;" else (" ", " ")
    return ("", " ") if len(before) >= WIDE_LINE else (" ", "")


def _closed(message: str) -> bool:
    """nginx's context has ended: after ', client: ...' the last quoted value closed."""
    text = message.rstrip()
    return (", client: " in text and text.endswith('"') and text.count('"') % 2 == 0) \
        or re.search(r"bytes from/to upstream:\d+/\d+$", text) is not None


def _wrapped_join(rec: PastedRecord, inner: str) -> tuple[str, str] | None:
    """How `inner` continues a record that a terminal or mail client broke, or None when
    nothing shows that it does: it must go on nginx's context, a quoted value or a word
    that the record left open."""
    if len(rec.pieces) >= MAX_WRAPPED_LINES or not rec.nginx_like():
        return None
    message, head = rec.message(), inner.strip()
    if _closed(message):
        return None
    last = rec.pieces[-1]
    if _CONTEXT_START.match(head):
        return ("", "") if head.startswith(",") else (" ", " ")
    if _FRAGMENT.match(head) or (message.count('"') % 2 == 1 and '"' in head):
        return _glue(last, inner)
    no_context = _CONTEXT_IN.search(message) is None and ", client: " not in message
    if no_context and _CONTEXT_IN.search(head) and rec.alone().signature is None \
            and classify(head, lenient=True).signature is None:
        return _glue(last, inner)  # the message itself was cut before its context
    return None


def _join(rec: PastedRecord, found: Unwrapped) -> tuple[str, str] | None:
    """How the line `found` continues `rec`, or None when it starts a record of its own."""
    inner = found.inner
    if rec.first.source and found.source and rec.first.source != found.source:
        return None  # another container's or program's line
    if len(rec.raw) >= MAX_RECORD_LINES or sum(map(len, rec.pieces)) >= MAX_RECORD_CHARS:
        return None
    if is_record_start(inner.lstrip(), lenient=True):
        return None
    if rec.multiline():
        return ("\n", "\n") if may_continue(rec.pieces) else None
    if not inner.strip():
        return None
    return _wrapped_join(rec, inner)


def pasted_records(lines: Iterable[tuple[int, str] | PlainRun]
                   ) -> Iterator[PastedRecord | PlainRun]:
    """(line number, text) of physical lines -> records, wrappers peeled off each line.

    A runtime's partial line (CRI "P", Docker's 16 KiB pieces) is joined to the next one;
    the lines of a record that the programs wrote over several lines stay together (see
    signatures.group_records); so do the pieces of a line that was broken on its way to
    the reader. Anything else stands alone. A PlainRun is records already: passed on."""
    rec: PastedRecord | None = None
    for item in lines:
        if isinstance(item, PlainRun):
            if rec is not None:  # a plain line starts a record: the one before has ended
                yield rec
            rec = None
            yield item
            continue
        number, raw = item
        if raw == "\x00":
            if rec is not None:
                yield rec
            rec = None
            yield PastedRecord(number, Unwrapped(""), ["\x00"], binary=True)
            continue
        found = unwrap(raw)
        if found.noise:
            continue
        if rec is not None and rec.partial and found.wrappers == rec.first.wrappers:
            rec.raw.append(raw)
            rec.pieces[-1] += found.inner
            rec.partial, rec._alone = found.partial, None  # the first line may have grown
            continue
        if rec is not None and (join := _join(rec, found)) is not None:
            rec.add(raw, found.inner, join)
            rec.partial = found.partial
            continue
        if rec is not None:
            yield rec
        rec = PastedRecord(number, found, [raw], [found.inner], partial=found.partial)
    if rec is not None:
        yield rec


# --- entries --------------------------------------------------------------------------

def _binary_note(first: int, count: int) -> dict[str, Any]:
    return {"line": first, "text": f"<{count} line(s) of binary data, not shown>",
            "signature": None, "causes": [],
            "explanation": "This part of the input looks like binary data, not log text."}


def _entry(pasted: PastedRecord) -> dict[str, Any]:
    rec = pasted.classify()
    sig = rec.signature
    entry: dict[str, Any] = {
        "line": pasted.line, "text": pasted.text, "signature": sig.name if sig else None,
        "causes": list(rec.causes), "explanation": sig.explanation if sig else None,
    }
    when = rec.time or pasted.first.time  # the program's own time, else the collector's
    if when is not None:
        entry["time"] = when.astimezone().isoformat()
    if rec.level:
        entry["level"] = rec.level
    if rec.fields:
        entry["fields"] = rec.fields
    if pasted.first.wrappers:
        entry["wrappers"] = list(pasted.first.wrappers)
    if pasted.first.source:
        entry["source"] = pasted.first.source
    return entry


class _Tally:
    """The entries not yet handed on, how many were listed, and the records left out."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.listed = 0
        self.unrecognised = self.skipped = 0
        self.run_start, self.run_len = 0, 0  # a stretch of binary lines becomes one note

    def full(self) -> bool:
        return self.listed >= MAX_RECOGNISED + MAX_UNRECOGNISED

    def keep(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self.listed += 1

    def take(self) -> list[dict[str, Any]]:
        """The entries listed since the last call, in order."""
        taken, self.entries = self.entries, []
        return taken

    def binary(self, line: int) -> None:
        self.run_start, self.run_len = (self.run_start or line), self.run_len + 1

    def end_binary(self) -> None:
        if self.run_len:
            self.keep(_binary_note(self.run_start, self.run_len))
            self.run_start, self.run_len = 0, 0

    def add(self, entry: dict[str, Any]) -> None:
        if entry["signature"] is None:
            self.unrecognised += 1
            if self.unrecognised > MAX_UNRECOGNISED:
                self.skipped += 1
                return
        elif self.full():
            self.skipped += 1
            return
        self.keep(entry)

    def add_unrecognised(self, record: PastedRecord) -> None:
        """A record that no signature can match: its entry is built only if it is listed."""
        if self.unrecognised >= MAX_UNRECOGNISED:
            self.unrecognised += 1
            self.skipped += 1
        else:
            self.add(_entry(record))

    def saturated(self) -> bool:
        """Nothing more is listed: every further record is only counted."""
        return self.full() and self.unrecognised >= MAX_UNRECOGNISED

    def add_run(self, run: PlainRun) -> None:
        """Plain records (log_reader): once nothing more is listed they are only counted,
        and the ones with no needle of any signature are never classified."""
        self.end_binary()
        if self.saturated():
            self.skipped += run.record_count
            return
        records = run.records()
        for index, (number, lines, may_match) in enumerate(records):
            if self.saturated():
                self.skipped += len(records) - index
                return
            record = PastedRecord(number, Unwrapped(lines[0]), lines, list(lines),
                                  [("\n", "\n")] * (len(lines) - 1))
            if not may_match:
                self.add_unrecognised(record)
            elif len(lines) == 1 and self.full():  # only whether it is recognised counts
                if recognises(lines[0], lenient=True):
                    self.skipped += 1
                else:
                    self.add_unrecognised(record)
            elif len(lines) == 1 and self.unrecognised >= MAX_UNRECOGNISED \
                    and record.alone().signature is None:  # kept for _entry: no 2nd try
                self.add_unrecognised(record)
            else:
                self.add(_entry(record))

    def finish(self) -> list[dict[str, Any]]:
        self.end_binary()
        if self.skipped:
            self.keep({
                "line": None, "text": f"<{self.skipped} more record(s) not listed>",
                "signature": None, "causes": [],
                "explanation": "The input is long; only the first records that were not "
                               "recognised are listed."})
        return self.take()


def explain_stream(stream: IO[bytes]) -> list[dict[str, Any]]:
    """Every record of the stream, classified (see CONTRACTS.md `explain --format json`)."""
    return list(explain_entries(stream))


def explain_entries(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The entries of explain_stream, each handed on as soon as it is decided, so that
    a huge log is explained in bounded memory.

    Read in large blocks: a stretch of lines that are nginx's own records and nothing
    else goes through in one piece (PlainRun), and once nothing more is listed a huge log
    is only counted, so `explain` of gigabytes runs at the speed of a regex over bytes."""
    tally = _Tally()
    for pasted in pasted_records(lines_and_runs(LogReader(stream), tally.saturated)):
        if isinstance(pasted, PlainRun):
            tally.add_run(pasted)
        elif pasted.binary:
            tally.binary(pasted.line)
        else:
            tally.end_binary()
            if tally.saturated():
                tally.skipped += 1 if pasted.message() else 0
            elif pasted.message():
                tally.add(_entry(pasted))
        yield from tally.take()
    yield from tally.finish()


# --- rendering ------------------------------------------------------------------------

def write_explain(stream: IO[bytes], fmt: str, out: IO[str]) -> None:
    """Explain the stream onto `out`. JSON is written entry by entry, so memory stays
    bounded on any input; the words need the counts first, so they wait for the end."""
    if fmt != "json":
        out.write(render_explain(explain_stream(stream), fmt))
        return
    batch: list[str] = []
    for piece in _json_pieces(explain_entries(stream)):
        batch.append(piece)
        if len(batch) >= 256:  # fewer, larger writes (PYTHONUNBUFFERED makes each a call)
            out.write(json_text("".join(batch)))
            batch = []
    out.write(json_text("".join(batch)) + "\n")


def _json_pieces(entries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """json.dumps({"entries": entries}, indent=2, ensure_ascii=False), in pieces."""
    yield '{\n  "entries": ['
    first = True
    for entry in entries:
        yield ("\n    " if first else ",\n    ") + indented_json(entry, "    ")
        first = False
    yield "]\n}" if first else "\n  ]\n}"


def indented_json(value: Any, indent: str = "") -> str:
    """json.dumps(value, indent=2, ensure_ascii=False) as if nested at `indent`, for the
    plain values of an entry, without the pure-Python encoder that indent=2 uses (the C
    one escapes the strings). Anything else goes to json.dumps itself."""
    if isinstance(value, str):
        return _encode_string(value)
    if value is None or isinstance(value, (bool, float)):
        return json.dumps(value)
    if isinstance(value, int):
        return int.__repr__(value)
    inner = indent + "  "
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        if not value:
            return "{}"
        items = [f"{_encode_string(k)}: {indented_json(v, inner)}" for k, v in value.items()]
        return "{\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [indented_json(v, inner) for v in value]
        return "[\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "]"
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + indent)


def render_explain(entries: list[dict[str, Any]], fmt: str) -> str:
    """The entries as JSON (ids kept, CONTRACTS.md), Markdown or text (in words). Log text
    is the host's: made printable / literal here, never when reading."""
    if fmt == "json":
        return json_text(json.dumps({"entries": entries}, indent=2, ensure_ascii=False)) + "\n"
    if fmt == "markdown":
        return _render_markdown(entries)
    return printable(_render_text(entries))


def _says(name: str) -> str:
    """What a signature's records say, in words (its name is for scripts)."""
    sig = BY_NAME.get(name)
    return sig.says() if sig is not None else name.replace("_", " ")


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _wrap(text: str, indent: str = "  ", limit: int = 6) -> list[str]:
    lines = textwrap.wrap(" ".join(text.split()), WIDTH - len(indent),
                          break_long_words=True, break_on_hyphens=False)
    if len(lines) > limit:
        lines = [*lines[: limit - 1], lines[limit - 1][: WIDTH - len(indent) - 3] + "..."]
    return [indent + line for line in lines]


def _render_entry(e: dict[str, Any]) -> list[str]:
    where = f"line {e['line']}" if e.get("line") else "note"
    level = f"  [{e['level']}]" if e.get("level") else ""
    when = f"  {e['time'][:19].replace('T', ' ')}" if e.get("time") else ""
    out = _wrap(f"{where}{level}{when}  {_says(e['signature'])}", "", 2)
    out += _wrap(e["text"], "  > ", 4)
    out += _wrap(e["explanation"] or "", "  ")
    if e["causes"]:
        out.append("  Likely causes, most likely first:")
        for cause_id in e["causes"]:
            out += _wrap(cause(cause_id).title, "    - ", 2)
    fields = e.get("fields") or {}
    shown = [f"{k}: {fields[k]}" for k in ("upstream", "socket", "pool", "request", "server")
             if k in fields]
    if shown:
        out += _wrap(", ".join(shown), "  ", 3)
    return out


def _render_text(entries: list[dict[str, Any]]) -> str:
    known = [e for e in entries if e["signature"]]
    notes = [e for e in entries if not e["signature"] and e["text"].startswith("<")]
    unknown = len(entries) - len(known) - len(notes)
    if not entries:
        return "No log records in the input.\n"
    counts = Counter(e["signature"] for e in known)
    out = [f"{len(known)} of {len(known) + unknown} record(s) recognised."]
    if counts:
        out += _wrap("Seen: " + "; ".join(f"{_says(name)} ({_times(n)})"
                                          for name, n in counts.most_common()), "", 4)
    for e in [*known, *notes]:
        out.append("")
        out += _render_entry(e) if e["signature"] else _wrap(
            f"{'line ' + str(e['line']) if e['line'] else 'note'}: {e['text']} "
            f"{e['explanation']}", "")
    if unknown:
        out += ["", f"{unknown} record(s) not recognised (see --format json for all)."]
    return "\n".join(out) + "\n"


def _render_markdown(entries: list[dict[str, Any]]) -> str:
    """Each record as a list item: what it says, the log text in a code span that no
    backtick in it can close, and the likely causes by their titles."""
    known = [e for e in entries if e["signature"]]
    out = ["# Error-log records explained", "",
           f"{len(known)} of {len(entries)} record(s) recognised.", ""]
    for e in entries:
        where = f"line {e['line']}" if e.get("line") else "note"
        said = _says(e["signature"]) if e["signature"] else "not recognised"
        out.append(f"- **{md_text(where)}**: {md_text(said)}")
        out.append(f"  {md_code(e['text'])}")
        if e.get("explanation"):
            out.append(f"  {md_text(e['explanation'])}")
        out += [f"  - likely cause: {md_text(cause(c).title)}" for c in e["causes"]]
    return "\n".join(out) + "\n"
