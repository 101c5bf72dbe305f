"""`explain`: turn error-log text into records, each with a signature and causes.

The input is read as bytes, one physical line at a time, so a huge log streams through
in bounded memory; only the entries the report shows are kept (every recognised record,
and unrecognised ones up to a limit). Invalid UTF-8 is decoded with replacement
characters, and stretches that look binary become one plain note instead of garbage.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

from wizard.causes import cause
from wizard.signatures import classify, group_records

MAX_LINE_BYTES = 64 * 1024  # longer physical lines are cut: no log line is that long
MAX_UNRECOGNISED = 2000  # unrecognised records listed; later ones are only counted
MAX_RECOGNISED = 20000
WIDTH = 80


def _is_binary(raw: bytes) -> bool:
    """NUL bytes or mostly non-text bytes: not a log line a person could read."""
    if b"\x00" in raw:
        return True
    if not raw:
        return False
    controls = sum(1 for b in raw if b < 32 and b not in (9, 10, 13))
    return controls * 10 > len(raw)


def physical_lines(stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    """(line number, text) for every line; a binary line becomes a lone NUL marker."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES)
        if not raw:
            return
        if not raw.endswith(b"\n") and len(raw) >= MAX_LINE_BYTES:
            # Skip the rest of an over-long line without holding it in memory.
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
        number += 1
        if _is_binary(raw):
            yield number, "\x00"
            continue
        yield number, raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def _binary_note(first: int, count: int) -> dict[str, Any]:
    return {"line": first, "text": f"<{count} line(s) of binary data, not shown>",
            "signature": None, "causes": [],
            "explanation": "This part of the input looks like binary data, not log text."}


def _entry(line: int, text: str) -> dict[str, Any]:
    rec = classify(text)
    sig = rec.signature
    entry: dict[str, Any] = {
        "line": line, "text": text, "signature": sig.name if sig else None,
        "causes": list(rec.causes), "explanation": sig.explanation if sig else None,
    }
    if rec.time is not None:
        entry["time"] = rec.time_iso()
    if rec.level:
        entry["level"] = rec.level
    if rec.fields:
        entry["fields"] = rec.fields
    return entry


def explain_stream(stream: IO[bytes]) -> list[dict[str, Any]]:
    """Every record of the stream, classified (see CONTRACTS.md `explain --format json`)."""
    entries: list[dict[str, Any]] = []
    unrecognised = skipped = 0
    run_start, run_len = 0, 0  # a stretch of binary lines becomes one note
    for line, text in group_records(physical_lines(stream)):
        if text == "\x00":
            run_start, run_len = (run_start or line), run_len + 1
            continue
        if run_len:
            entries.append(_binary_note(run_start, run_len))
            run_start, run_len = 0, 0
        if not text.strip():
            continue
        entry = _entry(line, text)
        if entry["signature"] is None:
            unrecognised += 1
            if unrecognised > MAX_UNRECOGNISED:
                skipped += 1
                continue
        elif len(entries) >= MAX_RECOGNISED + MAX_UNRECOGNISED:
            skipped += 1
            continue
        entries.append(entry)
    if run_len:
        entries.append(_binary_note(run_start, run_len))
    if skipped:
        entries.append({"line": None, "text": f"<{skipped} more record(s) not listed>",
                        "signature": None, "causes": [],
                        "explanation": "The input is long; only the first records that "
                                       "were not recognised are listed."})
    return entries


# --- rendering ------------------------------------------------------------------------

def render_explain(entries: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"entries": entries}, indent=2, ensure_ascii=False) + "\n"
    return _render_text(entries)


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
    out = [f"{where}{level}{when}  {e['signature']}"]
    out += _wrap(e["text"], "  > ", 4)
    out += _wrap(e["explanation"] or "", "  ")
    if e["causes"]:
        out.append("  Likely causes, most likely first:")
        for cause_id in e["causes"]:
            out += _wrap(f"{cause_id}: {cause(cause_id).title}", "    - ", 2)
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
        out.append("Seen: " + ", ".join(f"{name} x{n}" for name, n in counts.most_common()))
    for e in [*known, *notes]:
        out.append("")
        out += _render_entry(e) if e["signature"] else _wrap(
            f"{'line ' + str(e['line']) if e['line'] else 'note'}: {e['text']} "
            f"{e['explanation']}", "")
    if unknown:
        out += ["", f"{unknown} record(s) not recognised (see --format json for all)."]
    return "\n".join(out) + "\n"
