"""The session journal: a TUI session written down as it happens, one JSON record a line.

Each record is flushed and fsynced before the wizard goes on, so a crash, `kill -9` or a
dropped SSH connection loses at most the line being written; session_records.py reads
what is there, also from a journal cut off in the middle of a line. Every record is
redacted (wizard/redact.py) before it reaches the disk, and the file is 0600: it holds
log lines, configuration and command output from a production host.

Records ("type"): session (the header), walk (the walk starts again), step, waiting
(the walk waits for an answer), answer, fix, command (a command run to read the host),
position (how many steps the person has seen), rerun (a step's check run again by
hand, with what it found then), report (the report as last built),
resumed, signal (a stop signal arrived: which, and what was running), close (the wizard
ended in order; `ended_by` names the signal that ended it, if one did).
The journal follows the engine's events (engine/events.py), so it works for any front
end that hands it the session's events.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from wizard import __version__
from wizard.engine.events import (
    Answered,
    AnswerNeeded,
    CheckRanAgain,
    Event,
    FixRecorded,
    StepFinished,
    WalkFinished,
    WalkStarted,
)
from wizard.engine.runner import Session
from wizard.redact import redact_data

JOURNAL_FORMAT = 1
SUFFIX = ".jsonl"


def journal_path(transcript_path: Path) -> Path:
    """The journal beside the session's transcript: the same name, ending in .jsonl."""
    return transcript_path.with_suffix(SUFFIX)


class SessionJournal:
    """Appends one session's records; safe to call from the engine's worker threads."""

    def __init__(self, session: Session, path: Path, stream: IO[str]) -> None:
        self.session = session
        self.path = path
        self._stream: IO[str] | None = stream
        self._lock = threading.Lock()
        self._revealed = -1
        self.error: str | None = None  # why records stopped being written, if they did
        self._stop_commands: Callable[[], None] = lambda: None

    @classmethod
    def start(cls, session: Session, path: Path, snapshot: str | None = None) -> SessionJournal:
        """A new journal for `session` at `path` (replacing any file there). Raises OSError."""
        journal = cls._open(session, path, "w")
        journal._write(
            "session", format=JOURNAL_FORMAT, tool=__version__, pid=os.getpid(),
            started=session.transcript.started, flow=session.flow.flow,
            flow_title=session.flow.title, options=session.facts.options.to_json(),
            snapshot=snapshot, cwd=os.getcwd())  # relative paths in the options: from here
        journal._hear_commands()
        return journal

    @classmethod
    def resume(cls, session: Session, path: Path) -> SessionJournal:
        """Go on writing an earlier session's journal: its walk starts again on fresh facts
        (its steps so far become an earlier walk)."""
        journal = cls._open(session, path, "a")
        journal._write("resumed", pid=os.getpid(), answers=dict(session.answers))
        journal._write("walk", why="resume", kept=0)
        # a snapshot's own commands are in the journal since the session started
        journal._hear_commands(past=not session.facts.commands.replayed)
        return journal

    @classmethod
    def _open(cls, session: Session, path: Path, mode: str) -> SessionJournal:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_CREAT | (os.O_RDWR | os.O_APPEND if mode == "a" else
                              os.O_WRONLY | os.O_TRUNC)
        fd = os.open(path, flags, 0o600)
        os.fchmod(fd, 0o600)  # an older file keeps its mode on open: make it private too
        if mode == "a":
            _end_cut_line(fd, path)
        return cls(session, path, os.fdopen(fd, "a", encoding="utf-8"))

    def _hear_commands(self, past: bool = True) -> None:
        """Every command run to read the host; `past`: those before the journal opened
        too (a snapshot's, or read before the wizard's first screen)."""
        self._stop_commands = self.session.facts.commands.listen(
            lambda entry: self._write("command", command=entry), past)

    # -- what happens ----------------------------------------------------------------------

    def follow(self, event: Event) -> None:
        """Write what the engine just did. StepFinished comes right after the step was
        added, on the thread that added it: its place in the walk is read from there."""
        transcript = self.session.transcript
        if isinstance(event, StepFinished):
            self._write("step", walk=len(transcript.earlier_walks),
                        index=len(transcript.steps) - 1, step=event.step.to_json())
        elif isinstance(event, WalkStarted):
            self._write("walk", why=event.why, kept=event.kept)
        elif isinstance(event, Answered):
            self._write("answer", node=event.node, key=event.key)
        elif isinstance(event, FixRecorded):
            self._write("fix", fix=asdict(event.fix))
        elif isinstance(event, AnswerNeeded):
            node = self.session.flow.by_id.get(event.node)
            self._write("waiting", node=event.node,
                        question=(node.question or node.title) if node else "")
        elif isinstance(event, WalkFinished):
            self._write("walk_end", finished=transcript.finished, error=transcript.error)
        elif isinstance(event, CheckRanAgain):
            self._write("rerun", step=event.step.to_json())

    def position(self, revealed: int) -> None:
        """How many steps the person has seen (where --resume reopens the walk)."""
        if revealed != self._revealed:
            self._revealed = revealed
            self._write("position", revealed=revealed)

    def report(self, report: dict[str, Any]) -> None:
        """The report as just built (the host summary a reader shows comes from it)."""
        self._write("report", report=report)

    def signal(self, name: str, during: str) -> None:
        """A stop signal arrived (engine/shutdown.py): written at once, so the record says
        so even if the wait for a fix in flight is cut short by a harder kill."""
        self._write("signal", signal=name, during=during)

    def close(self, report: dict[str, Any] | None = None,
              ended_by: str | None = None) -> None:
        """The wizard ends in order: the last record says so (a journal without it was
        cut off). `ended_by`: the signal that asked it to end, if one did."""
        self._stop_commands()
        transcript = self.session.transcript
        self._write("close", walk_finished=transcript.finished is not None,
                    error=transcript.error, report=report, ended_by=ended_by)
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None

    # -- writing ---------------------------------------------------------------------------

    def _write(self, kind: str, **fields: Any) -> None:
        record = redact_data({"type": kind, "at": round(time.time(), 3), **fields})
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            if self._stream is None:
                return
            try:
                self._stream.write(line)
                self._stream.flush()
                os.fsync(self._stream.fileno())
            except OSError as exc:  # a full disk must not stop the diagnosis
                self.error = f"the session record stopped: {exc.strerror or exc}"
                self._stream = None


def _end_cut_line(fd: int, path: Path) -> None:
    """A journal cut off mid-line (killed while writing) gets its newline, so the records
    appended after it stay whole lines."""
    size = path.stat().st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")
