"""`--resume`: reopen the newest unfinished session where the person stopped.

The simplest honest way: the host may have changed since, so no finding is trusted from
the record. The session's options, the person's answers and how far they had walked are
read back from its journal, and every check runs again on the facts of now; the screen
says so. The journal goes on in the same file, so the session stays one record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from wizard.engine.session_records import NoSuchSession, SessionRecord, list_sessions
from wizard.options import Options
from wizard.redact import REDACTED


@dataclass
class ResumePoint:
    record: SessionRecord
    options: Options
    snapshot: str | None
    answers: dict[str, str]
    revealed: int
    notes: list[str] = field(default_factory=list)  # what the screen says about it


def _resumable(record: SessionRecord) -> bool:
    # A practice sandbox is removed when its wizard ends: nothing is left to resume.
    return not record.finished and not record.options.get("practice")


def resume_point(given: Options, snapshot: str | None = None,
                 folder: Path | None = None) -> ResumePoint:
    """The newest unfinished session, with `given`'s --url and --nginx-conf (when given)
    over its own. Raises NoSuchSession when there is none."""
    record = next((r for r in list_sessions(folder) if _resumable(r)), None)
    if record is None:
        raise NoSuchSession("no unfinished session to resume (`sessions list` shows them)")
    saved = _from_folder(Options.from_json(record.options), record.header.get("cwd"))
    options = replace(saved, url=given.url or saved.url,
                      nginx_conf=given.nginx_conf or saved.nginx_conf,
                      flow_dirs=[*saved.flow_dirs, *given.flow_dirs],
                      answers={**saved.answers, **given.answers})
    notes = [f"Resumed the session of {_when(record)}: your answers are kept, and every "
             "check runs again on the host as it is now."]
    if options.url and REDACTED in options.url:
        # a secret in the address was never saved: asking for it beats requesting junk
        options = replace(options, url=None, url_connect=None)
        notes.append("The address held a secret, which is never saved: give it again "
                     "(--url) or pick it when asked.")
    snapshot = snapshot or _at(record.header.get("cwd"), record.snapshot)
    return ResumePoint(record, options, snapshot, dict(record.answers), record.revealed, notes)


def _at(cwd: str | None, path: str | None) -> str | None:
    """A relative path given where the session started, as it is found from here."""
    if not path or not cwd or Path(path).is_absolute():
        return path
    candidate = Path(cwd) / path
    return str(candidate) if candidate.exists() else path


def _from_folder(options: Options, cwd: str | None) -> Options:
    return replace(options, flow=_at(cwd, options.flow) or options.flow,
                   nginx_conf=_at(cwd, options.nginx_conf),
                   flow_dirs=[_at(cwd, d) or d for d in options.flow_dirs])


def _when(record: SessionRecord) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started))


__all__ = ["NoSuchSession", "ResumePoint", "resume_point"]
