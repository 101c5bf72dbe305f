"""Status marks that read without colour and on a Linux console (TERM=linux): ASCII only."""

from __future__ import annotations

from wizard.outcome import Status

STATUS_GLYPH = {
    Status.OK: "[ok]",
    Status.PROBLEM: "[!!]",
    Status.WARNING: "[! ]",
    Status.UNKNOWN: "[??]",
    Status.SKIPPED: "[--]",
}
STATUS_WORD = {
    Status.OK: "OK",
    Status.PROBLEM: "PROBLEM",
    Status.WARNING: "WARNING",
    Status.UNKNOWN: "UNKNOWN",
    Status.SKIPPED: "SKIPPED",
}
# Colour only adds to the glyph; NO_COLOR strips it and the glyph still says it all.
STATUS_STYLE = {
    Status.OK: "green",
    Status.PROBLEM: "bold red",
    Status.WARNING: "yellow",
    Status.UNKNOWN: "magenta",
    Status.SKIPPED: "dim",
}
PENDING = "[  ]"
ASKING = "[ >]"
SPINNER = ("[ |]", "[ /]", "[ -]", "[ \\]")
SELECTED = ">"


def spinner(elapsed: float) -> str:
    """The spinner frame for a check running `elapsed` seconds (8 frames a second)."""
    return SPINNER[int(elapsed * 8) % len(SPINNER)]


def glyph(status: Status | str) -> str:
    return STATUS_GLYPH.get(Status(status), "[??]")
