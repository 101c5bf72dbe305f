"""What a check says about the host: a status, the evidence, and words for the flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.compat import StrEnum


class Status(StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    WARNING = "warning"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


EVIDENCE_SOURCES = ("error_log", "command", "file", "probe", "process")


@dataclass(frozen=True)
class Evidence:
    """One fact shown to the person: a log line, command output, a file:line, a probe."""

    source: str  # one of EVIDENCE_SOURCES
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "detail": self.detail}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        return cls(str(data["source"]), str(data["detail"]))


@dataclass(frozen=True)
class HistoryEntry:
    """Evidence that is not a cause now, with why: "before PHP-FPM restarted at 10:02"."""

    source: str  # one of EVIDENCE_SOURCES
    detail: str
    why: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "detail": self.detail, "why": self.why}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(str(data["source"]), str(data["detail"]), str(data.get("why", "")))


# How strongly a result proves its cause: a fresh log line plus a failed probe beats a hunch.
DIRECT = 3
STRONG = 2
CIRCUMSTANTIAL = 1


@dataclass
class CheckResult:
    """What a check returns. `result` is one of the names the check declares."""

    result: str
    summary: str
    vars: dict[str, Any] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    confidence: int = STRONG
    # Cause ids the check itself established (e.g. from a classified log line); the flow
    # outcome's `cause` is added to these.
    causes: list[str] = field(default_factory=list)
    # What the check saw that is not a cause now: log lines from before the last restart,
    # from another site, or older than the latest failures. Shown as such, never ranked.
    history: list[HistoryEntry] = field(default_factory=list)
