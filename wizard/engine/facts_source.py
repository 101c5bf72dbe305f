"""The facts a session runs on: read live from this host, or replayed from a snapshot file;
saved as a snapshot; read one at a time for display.

The CLI and the TUI both open their facts here, so `--from-snapshot` and `--save-snapshot`
mean the same in both, and neither reaches past the engine into wizard.host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wizard.host.facts import Facts, FactUnavailable
from wizard.options import Options
from wizard.private_file import write_private
from wizard.redact import redact_data

__all__ = ["Facts", "FactsFileError", "fact_or_reason", "open_facts", "save_snapshot"]


class FactsFileError(Exception):
    """A snapshot file could not be read or written; str(exc) is the one line to show."""


def open_facts(options: Options, snapshot: str | None = None) -> Facts:
    """Live facts of this host, or the facts recorded in `snapshot` (never touching the host)."""
    if not snapshot:
        return Facts(options)
    try:
        data = json.loads(Path(snapshot).read_text(encoding="utf-8"))
        return Facts.from_snapshot(data, options)
    except OSError as exc:
        raise FactsFileError(f"cannot read snapshot {snapshot}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FactsFileError(f"{snapshot} is not a facts snapshot: {exc}") from None


def save_snapshot(facts: Facts, path: str) -> None:
    """Write the facts gathered so far as a snapshot `--from-snapshot` can replay, secrets
    redacted (a snapshot is made to go into a ticket or a test), and private (0600)."""
    text = json.dumps(redact_data(facts.to_snapshot()), indent=1) + "\n"
    try:
        write_private(path, text)
    except OSError as exc:
        raise FactsFileError(f"cannot write {path}: {exc.strerror}") from None


def fact_or_reason(facts: Facts, name: str) -> tuple[Any, str | None]:
    """(value, None), or (None, the plain reason it cannot be had). May run host commands:
    call it off the UI thread."""
    try:
        return facts.get(name), None
    except FactUnavailable as exc:
        return None, str(exc)
