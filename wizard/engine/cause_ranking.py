"""From the steps of a walk to one clean answer: the causes current evidence supports, most
likely first, each with its own words; everything else as history.

The rules, in the order they apply:

- A cause counts only where a step names it as its finding (a step's first cause). The
  other readings of an ambiguous log line ("the socket is missing: PHP-FPM is down, or
  listens elsewhere") are for the checks of the live host to decide; on their own they
  are not causes.
- A cause a passing check rules out (the log says PHP-FPM was down, it runs now) is
  history, not a cause, unless nothing else explains a failure seen this very moment:
  then it stays, last, so the report never reads "nothing found" while the site fails.
- A root cause folds in the causes it brings about (`explains` in the flow): they are
  listed under it, not as causes of their own.
- Among the rest, every step that supports a cause adds to its score (a fresh log line
  plus a failed probe beats either alone).
- A cause that hides every other (`leads` in the catalogue: nginx not running), or the
  root cause it is folded under, comes first whatever the scores: while nginx does not
  run, a stopped PHP-FPM is the next problem, not what visitors see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.causes import cause as cause_info
from wizard.engine.transcript import Step
from wizard.outcome import DIRECT
from wizard.words import lower_first


@dataclass
class Ranking:
    causes: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Support:
    """What the walk says for one cause: its score, its own words, its evidence and fixes."""

    cause_id: str
    first_seen: int
    score: int = 0
    best: int = 0  # strength of the strongest step that names it as its finding
    explanation: str = ""
    primary: bool = False
    direct: bool = False  # named as the finding of a step with direct evidence
    evidence: list[dict[str, str]] = field(default_factory=list)
    fixes: list[dict[str, Any]] = field(default_factory=list)

    def add_evidence(self, step: Step) -> None:
        for ev in step.evidence:
            if ev.to_json() not in self.evidence:
                self.evidence.append(ev.to_json())

    def add_fixes(self, step: Step) -> None:
        for offer in step.fixes:
            if offer.plan and all(f["id"] != offer.plan["id"] for f in self.fixes):
                self.fixes.append({k: offer.plan[k]
                                   for k in ("id", "title", "needs_root", "commands")})

    def entry(self) -> dict[str, Any]:
        info = cause_info(self.cause_id)
        return {"id": self.cause_id, "title": info.title,
                "explanation": self.explanation or info.meaning,
                "evidence": self.evidence, "fixes": self.fixes}


def _supports(steps: list[Step]) -> dict[str, _Support]:
    found: dict[str, _Support] = {}
    for index, step in enumerate(steps):
        for position, cause_id in enumerate(step.causes):
            support = found.setdefault(cause_id, _Support(cause_id, index))
            strength = max(step.confidence - position, 1)
            support.score += strength
            if position == 0:
                # Only the finding's own words describe it; an alternative reading of the
                # same line gets its cause's general meaning instead.
                if strength > support.best:
                    support.best, support.explanation = strength, step.text
                support.primary = True
                support.direct = support.direct or step.confidence >= DIRECT
                support.add_fixes(step)
            support.add_evidence(step)
    return found


def _ruled_out_by(steps: list[Step]) -> dict[str, Step]:
    """Each ruled-out cause with the (last) passing step that rules it out."""
    return {cause_id: step for step in steps for cause_id in step.ruled_out}


def _history_of(support: _Support, by: Step) -> list[dict[str, str]]:
    why = f"not a cause now: {lower_first(by.title) or 'a later check'} says {by.summary}"
    return [{**ev, "why": why} for ev in support.evidence if ev.get("source") == "error_log"]


def _fold(order: list[str], steps: list[Step], entries: dict[str, dict[str, Any]]) -> None:
    """Move each consequence under the root cause that explains it."""
    for step in steps:
        root = step.causes[0] if step.causes else None
        if root not in order:
            continue
        for consequence in step.explains:
            if consequence == root or consequence not in order:
                continue
            order.remove(consequence)
            folded = entries[root].setdefault("consequences", [])
            folded.append({"id": consequence, "title": entries[consequence]["title"],
                           "explanation": entries[consequence]["explanation"]})


def _likeliest_first(support: _Support) -> tuple[int, int]:
    return -support.score, support.first_seen


def rank(steps: list[Step]) -> Ranking:
    supports = _supports(steps)
    ruled_out = _ruled_out_by(steps)
    candidates = [s for s in supports.values() if s.primary and s.cause_id not in ruled_out]
    if not candidates:
        # Evidence of a failure now, but every reading of it is ruled out: keep the
        # strongest, so the person sees the failure rather than false comfort.
        candidates = sorted((s for s in supports.values() if s.primary and s.direct),
                            key=_likeliest_first)[:1]
    history: list[dict[str, str]] = []
    for support in supports.values():
        if support.primary and support.cause_id in ruled_out and support not in candidates:
            history += _history_of(support, ruled_out[support.cause_id])
    history += [h.to_json() for step in steps for h in step.history]
    order = [s.cause_id for s in sorted(candidates, key=_likeliest_first)]
    entries = {s.cause_id: s.entry() for s in candidates}
    _fold(order, steps, entries)
    order.sort(key=lambda c: not _leads(entries[c]))  # stable: scores order the rest
    return Ranking([entries[c] for c in order], _unique(history))


def _leads(entry: dict[str, Any]) -> bool:
    return any(cause_info(c).leads for c in
               [entry["id"], *(folded["id"] for folded in entry.get("consequences", []))])


def _unique(history: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each piece of evidence once, with the first reason given for it."""
    seen: set[tuple[str, str]] = set()
    out = []
    for item in history:
        key = (item["source"], item["detail"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
