"""The record of a session: every step, its evidence, answers, fixes, and times.

A senior reviews it after the outage, so it holds everything needed to follow the
reasoning, and it round-trips through JSON.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from wizard.fixes.result import AppliedFix
from wizard.outcome import Evidence, HistoryEntry, Status


@dataclass
class FixOffer:
    """A fix offered at a step: its plan, or why no plan could be made here."""

    action: str
    args: dict[str, str]
    plan: dict[str, Any] | None = None  # FixPlan.to_json()
    unavailable: str | None = None


@dataclass
class Step:
    node: str
    kind: str
    title: str
    question: str = ""
    status: Status = Status.OK
    result: str | None = None  # the check's result name, or the chosen answer key
    summary: str = ""
    text: str = ""
    causes: list[str] = field(default_factory=list)
    ruled_out: list[str] = field(default_factory=list)
    explains: list[str] = field(default_factory=list)
    confidence: int = 0
    evidence: list[Evidence] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    fixes: list[FixOffer] = field(default_factory=list)
    started: float = 0.0
    duration: float = 0.0
    # An ask answered by its default_choice, not (yet) by a person: headless, while the
    # TUI's checks run ahead of the walk, or when no check gave a reason to ask it.
    assumed: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["evidence"] = [e.to_json() for e in self.evidence]
        data["history"] = [h.to_json() for h in self.history]
        return data


@dataclass
class Transcript:
    flow: str
    options: dict[str, Any]
    symptom: str = "502"  # what the flow's reports call the failure (Flow.symptom)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    steps: list[Step] = field(default_factory=list)
    fixes: list[AppliedFix] = field(default_factory=list)
    error: str | None = None  # why the walk could not finish
    # The steps of each walk made before a fix changed the host; `steps` is the newest.
    earlier_walks: list[list[Step]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow, "options": self.options, "started": self.started,
            "finished": self.finished, "steps": [s.to_json() for s in self.steps],
            "fixes": [asdict(f) for f in self.fixes], "error": self.error,
            "earlier_walks": [[s.to_json() for s in walk] for walk in self.earlier_walks],
        }
