"""Whether the TUI may run a fix here, and the words to say when it may not.

A plan is always shown; it runs only when it was made from this host's live facts and the
apply back-end is installed. A plan made from a snapshot names the services, ports and
files of the machine the snapshot was recorded on (or of this one as it was then), so
running it here could change the wrong things.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FixBlocked:
    """Why fixes cannot run: `hint` is said under the fixes offered (a line of its own),
    `closing` ends a plan's screen where "Run it? y = yes" would be."""

    hint: str
    closing: str


FROM_SNAPSHOT = FixBlocked(
    "Planned from a snapshot, not from this host: fixes cannot run here.",
    "Planned from a snapshot, not from this host: it cannot run here. Escape closes.")
NO_BACKEND = FixBlocked(
    "fix back-end not available: fixes cannot run here.",
    "fix back-end not available: run the commands yourself. Escape closes.")


def fix_blocked(from_snapshot: bool, backend: bool) -> FixBlocked | None:
    """None when a confirmed fix may run here."""
    if from_snapshot:
        return FROM_SNAPSHOT
    if not backend:
        return NO_BACKEND
    return None
