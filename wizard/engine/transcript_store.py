"""Where session transcripts are kept, so a senior can review what happened."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from wizard.engine.transcript import Transcript
from wizard.redact import redact_data


def transcript_dir() -> Path:
    """$XDG_STATE_HOME/nginx-502-wizard (~/.local/state/...), else a folder in the shared
    temp folder ($TMPDIR or /tmp) that only we may use."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    fallback = Path(tempfile.gettempdir()) / f"nginx-502-wizard-{os.getuid()}"
    for candidate in (Path(base) / "nginx-502-wizard", fallback):
        try:
            candidate.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            continue
        if _private(candidate) and os.access(candidate, os.W_OK):
            return candidate
    raise OSError("no writable folder for transcripts")


def _private(folder: Path) -> bool:
    """A folder of our own: not a symlink, owned by us, nobody else may write in it. In a
    shared folder such as /tmp another user can create the name first (or a symlink to a
    folder of theirs) and then read or replace the records root writes there."""
    info = folder.lstat()
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def session_path(started: float) -> Path:
    """Where a session started at `started` keeps its transcript (.json); its journal is
    the same name with .jsonl (session_journal.py)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    return transcript_dir() / f"session-{stamp}-{os.getpid()}.json"


def save_transcript(transcript: Transcript, report: dict[str, Any],
                    path: Path | None = None) -> Path:
    """Write the transcript and its report as one JSON file, secrets redacted; returns its
    path."""
    if path is None:
        path = session_path(transcript.started)
    data = redact_data({"transcript": transcript.to_json(), "report": report})
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o600)  # it may hold log lines and paths from a production host
        tmp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):  # a full disk must not keep half a record
            tmp.unlink(missing_ok=True)
        raise
    return path
