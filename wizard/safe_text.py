"""Host text made harmless for whoever reads a report: the one place that neutralises it.

Log lines, config values, command output and upstream answers may hold anything an
attacker wrote into them. Applied at render time, never when gathering (the JSON and the
records keep the text as read):

- `printable`: control characters other than newline and tab become visible escapes
  (`\\x1b`), so `cat`-ing a report cannot retitle or clear a terminal; so do lone
  surrogates (undecodable bytes) and the bidirectional overrides that reorder a line.
- `md_code` / `md_text` / `md_fence`: Markdown that cannot break out of its code span or
  fence, open a link, an HTML tag or a heading.
- `json_text`: serialised JSON with the characters `json.dumps(ensure_ascii=False)` leaves
  raw (DEL, C1 controls, lone surrogates) escaped, so the output is valid and inert.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and the C1 range (8-bit CSI and friends).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone surrogates (bytes decoded with surrogateescape) and bidi overrides/isolates.
_WIDE = re.compile(r"[\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_JSON_RAW = re.compile(r"[\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
# Characters Markdown may read as syntax anywhere in a line.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&!])")
# Syntax only at the start of a line: list items, block quotes, setext rules.
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")
_BACKTICKS = re.compile(r"`+")


def printable(text: object) -> str:
    """`text` with control characters as \\xNN: shown, never acted on by a terminal."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return _WIDE.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)


def one_line(text: object) -> str:
    """printable, with newlines and tabs as escapes too: a value that must stay on its line."""
    return printable(text).replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def md_code(text: object) -> str:
    """An inline code span holding `text` literally, whatever backticks it contains."""
    inner = one_line(text)
    longest = max((len(run) for run in _BACKTICKS.findall(inner)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if inner.startswith("`") or inner.endswith("`") or not inner.strip() else ""
    return f"{fence}{pad}{inner}{pad}{fence}"


def md_text(text: object) -> str:
    """`text` as plain Markdown prose on one line: every character shows as itself."""
    # Leading spaces would make an indented code block; on one line they mean nothing.
    escaped = _MD_SPECIAL.sub(r"\\\1", one_line(text).strip(" "))
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


def md_fence(lines: list[str], indent: str = "") -> list[str]:
    """A fenced code block of `lines` whose fence no line can close."""
    shown = [printable(line).replace("\r", "\\r") for line in lines]
    longest = max((len(run) for line in shown for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}", *(f"{indent}{line}" for line in shown), f"{indent}{fence}"]


def json_text(dumped: str) -> str:
    """Serialised JSON with DEL, C1 controls, lone surrogates and bidi marks escaped.

    These can only occur inside JSON strings (the syntax is ASCII), where \\uXXXX means
    the same character, so the document keeps its meaning and becomes safe to print."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
