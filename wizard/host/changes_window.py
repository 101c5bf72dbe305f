"""The time window the `changes` fact looks at, and the shape of one change in it.

The window ends now and starts a lead time before the first failing request the error
logs show (or before now when they show none): what changed in the hours before a 502
is what a senior asks about first. It never reaches further back than the --since
window plus that lead, so every source stays bounded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

LEAD_SECONDS = 6 * 3600.0
# The kinds of change; the check decides which causes each can bring about.
KINDS = ("package", "config_pending", "config", "service_start", "service_stop",
         "service_reload", "service_failed", "crash", "oom_kill", "disk_full", "deploy")


@dataclass(frozen=True)
class Window:
    start: float
    now: float
    first_failure: float | None
    lead: float = LEAD_SECONDS

    def holds(self, epoch: float | None) -> bool:
        """True for a moment inside the window (a minute of clock skew allowed at its end)."""
        return epoch is not None and self.start <= epoch <= self.now + 60

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "now": self.now, "first_failure": self.first_failure,
                "lead_seconds": self.lead}


def first_failure(events: list[dict[str, Any]]) -> float | None:
    """When nginx first logged a failed upstream request in the window read, if it did."""
    times = [float(ev["epoch"]) for ev in events
             if ev.get("kind") == "nginx" and ev.get("causes") and ev.get("epoch") is not None]
    return min(times) if times else None


def window_for(events: list[dict[str, Any]], since_seconds: float,
               now: float | None = None, lead: float = LEAD_SECONDS) -> Window:
    now = time.time() if now is None else now
    failure = first_failure(events)
    anchor = failure if failure is not None else now
    start = max(anchor - lead, now - since_seconds - lead)
    return Window(start=start, now=now, first_failure=failure, lead=lead)


def change(epoch: float, source: str, kind: str, what: str, subject: str | None = None,
           **details: Any) -> dict[str, Any]:
    """One change as the fact stores it (JSON). `subject` names what changed ("nginx",
    "php-fpm", a package role...) so the check can tell which causes it may explain."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of change: {kind}")
    return {"epoch": float(epoch), "source": source, "kind": kind, "what": what,
            "subject": subject, "details": details}


def clock(epoch: float) -> str:
    """'10:02' for a plain sentence (the report carries the full time)."""
    return time.strftime("%H:%M", time.localtime(epoch))
