"""Reading session journals (session_journal.py) back: one session's walks, answers,
fixes and commands, whether it finished, and the report of where it got to.

A journal cut off by `kill -9` or a crash still reads: a half-written last line is
skipped, and a session without its closing record is "unfinished".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wizard.engine.facts_source import Facts
from wizard.engine.report import build_report
from wizard.engine.session_journal import SUFFIX
from wizard.engine.transcript import FixOffer, Step, Transcript
from wizard.engine.transcript_store import transcript_dir
from wizard.outcome import Evidence, HistoryEntry, Status

_STEP_FIELDS = {f.name for f in fields(Step)}
_OFFER_FIELDS = {f.name for f in fields(FixOffer)}


class NoSuchSession(Exception):
    """No journal matches what was asked for; str(exc) is the one line to show."""


def step_from_json(data: dict[str, Any]) -> Step:
    """A Step back from Step.to_json()."""
    known = {k: v for k, v in data.items() if k in _STEP_FIELDS}
    known["status"] = Status(data.get("status", "unknown"))
    known["evidence"] = [Evidence.from_json(e) for e in data.get("evidence") or []]
    known["history"] = [HistoryEntry.from_json(h) for h in data.get("history") or []]
    known["fixes"] = [FixOffer(**{k: v for k, v in o.items() if k in _OFFER_FIELDS})
                      for o in data.get("fixes") or []]
    return Step(**known)


@dataclass
class SessionRecord:
    path: Path
    header: dict[str, Any] = field(default_factory=dict)
    walks: list[list[dict[str, Any]]] = field(default_factory=lambda: [[]])
    answers: dict[str, str] = field(default_factory=dict)
    fixes: list[dict[str, Any]] = field(default_factory=list)
    reruns: list[dict[str, Any]] = field(default_factory=list)  # checks run again by hand
    commands: list[dict[str, Any]] = field(default_factory=list)
    revealed: int = 0
    closed: bool = False  # the wizard ended normally
    ended_by: str | None = None  # the signal that ended it (SIGHUP: the SSH session dropped)
    walk_finished: bool = False  # the walk reached the flow's end (or stopped for a reason)
    error: str | None = None
    last_report: dict[str, Any] | None = None
    resumed: int = 0
    waiting: str = ""  # the question the walk waited at, if it did
    unreadable: int = 0  # lines that were not whole records (a write cut off)

    @property
    def id(self) -> str:
        return self.path.stem.removeprefix("session-")

    @property
    def started(self) -> float:
        return float(self.header.get("started") or 0.0)

    @property
    def flow(self) -> str:
        return str(self.header.get("flow") or "")

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.header.get("options") or {})

    @property
    def snapshot(self) -> str | None:
        return self.header.get("snapshot")

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The newest walk's steps; the walk before when the record ends as a new walk
        began (killed while the checks started again after a fix or a resume)."""
        return next((walk for walk in reversed(self.walks) if walk), [])

    @property
    def finished(self) -> bool:
        return self.closed and self.walk_finished

    @property
    def state(self) -> str:
        return "finished" if self.finished else "unfinished"

    def why_unfinished(self) -> str:
        if not self.closed:
            return ("the wizard ended without closing its record (it was killed, crashed, "
                    "or its terminal went away)")
        if not self.walk_finished and self.ended_by:
            return (f"the wizard was stopped by {self.ended_by} before the checks reached "
                    "the end of the flow")
        if not self.walk_finished:
            return "the wizard was closed before the checks reached the end of the flow"
        return ""

    def transcript(self) -> Transcript:
        transcript = Transcript(flow=self.flow, options=self.options, started=self.started)
        walks = [walk for walk in self.walks if walk] or [[]]
        transcript.steps = [step_from_json(s) for s in walks[-1]]
        transcript.earlier_walks = [[step_from_json(s) for s in walk] for walk in walks[:-1]]
        transcript.error = self.error
        return transcript

    def report(self) -> dict[str, Any]:
        """The report of the newest walk as far as it got; the host as last reported."""
        report = build_report(self.transcript(), Facts(replay=True))
        if self.last_report and self.last_report.get("host"):
            report["host"] = self.last_report["host"]
        return report

    def lead_cause(self) -> str:
        causes = self.report()["causes"]
        return str(causes[0]["title"]) if causes else ""

    def all_steps(self) -> list[dict[str, Any]]:
        return [step for walk in self.walks for step in walk]


def _apply(record: SessionRecord, line: dict[str, Any]) -> None:
    """One journal record onto the session as read so far."""
    kind = line.get("type")
    if kind == "session":
        record.header = line
    elif kind == "walk":
        if line.get("why") in ("after_fix", "resume"):
            record.walks.append([])
        else:
            record.walks[-1] = record.walks[-1][:int(line.get("kept") or 0)]
        record.walk_finished, record.error, record.waiting = False, None, ""
    elif kind == "step":
        index = int(line.get("index") or 0)
        record.walks[-1] = [*record.walks[-1][:index], line.get("step") or {}]
        record.waiting = ""
    elif kind == "waiting":
        record.waiting = str(line.get("question") or "")
    elif kind == "walk_end":
        record.walk_finished, record.error = True, line.get("error")
    elif kind == "answer":
        record.answers[str(line.get("node"))] = str(line.get("key"))
    elif kind == "fix":
        record.fixes.append(line.get("fix") or {})
    elif kind == "rerun":
        record.reruns.append(line.get("step") or {})
    elif kind == "command":
        record.commands.append(line.get("command") or {})
    elif kind == "position":
        record.revealed = int(line.get("revealed") or 0)
    elif kind == "report":
        record.last_report = line.get("report")
    elif kind == "resumed":
        record.resumed += 1
        record.closed = False
    elif kind == "close":
        record.closed = True
        record.ended_by = line.get("ended_by") or None
        record.walk_finished = bool(line.get("walk_finished"))
        record.last_report = line.get("report") or record.last_report


def read_session(path: Path) -> SessionRecord:
    """A journal read back. Raises NoSuchSession when it cannot be read at all."""
    record = SessionRecord(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise NoSuchSession(f"cannot read {path}: {exc.strerror or exc}") from None
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            record.unreadable += int(bool(raw.strip()))
            continue
        if isinstance(line, dict):
            _apply(record, line)
    if not record.header:
        raise NoSuchSession(f"{path} is not a session record")
    return record


def list_sessions(folder: Path | None = None) -> list[SessionRecord]:
    """Every readable session in the state folder, newest first."""
    folder = folder or transcript_dir()
    found = []
    for path in folder.glob(f"session-*{SUFFIX}"):
        try:
            found.append(read_session(path))
        except NoSuchSession:
            continue
    return sorted(found, key=lambda r: (r.started, r.path.name), reverse=True)


def find_session(wanted: str, folder: Path | None = None) -> SessionRecord:
    """By id (as `sessions list` shows it), the start of one, a file path, or `last`."""
    path = Path(wanted)
    if path.suffix == SUFFIX and path.exists():
        return read_session(path)
    sessions = list_sessions(folder)
    if wanted == "last" and sessions:
        return sessions[0]
    exact = [s for s in sessions if s.id == wanted or s.path.stem == wanted]
    matches = exact or [s for s in sessions if s.id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NoSuchSession(f"no session {wanted!r} (`sessions list` shows them)")
    raise NoSuchSession(f"{wanted!r} matches {len(matches)} sessions; give more of its id")


def last_unfinished(folder: Path | None = None) -> SessionRecord | None:
    return next((s for s in list_sessions(folder) if not s.finished), None)
