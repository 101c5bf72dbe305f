"""Fact `error_log_events`: the classified nginx and PHP-FPM error-log records of the
time window (`--since`), newest kept first when there are too many.

A log is read from its END backwards in blocks of bytes, so a multi-gigabyte file costs
only the bytes of the window; nothing is decoded whole. When the window reaches the
start of the file, reading goes on in the rotated file (`FILE.1`, then `FILE.1.gz` /
`FILE.2.gz`, read forwards because gzip cannot be read backwards). Targets that are not
files (stderr, syslog:) are read from the journal when `journalctl` is there.
"""

from __future__ import annotations

import errno
import glob
import gzip
import math
import os
import time
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from wizard.host.commands import run, which
from wizard.host.facts import Facts, fact
from wizard.host.nginx_part import config_part
from wizard.signatures import (
    ERROR_LEVELS,
    MAX_RECORD_LINES,
    classify,
    group_records,
    is_record_start,
    resync,
)

DEFAULT_NGINX_LOG = "/var/log/nginx/error.log"
PHPFPM_LOG_GLOBS = ("/var/log/php*-fpm.log", "/var/log/php-fpm/error.log",
                    "/var/log/php-fpm.log")
BLOCK = 64 * 1024
MAX_LINE_BYTES = 64 * 1024
MAX_SCAN_BYTES = 48 * 1024 * 1024  # per log (with its rotations): bounds time on huge logs
MAX_RECORDS_PER_FILE = 5000
MAX_EVENTS = 1000  # kept in the fact (most recent), across all logs
MAX_TEXT = 4000  # characters of one record kept in an event
JOURNAL_TIMEOUT = 10.0


# --- reading bytes backwards ----------------------------------------------------------

def reverse_lines(fh: IO[bytes], end: int, budget: list[int]) -> Iterator[bytes]:
    """The lines of fh[0:end], last first. `budget` is a one-item byte allowance shared
    with the caller so that one huge file cannot be read without limit."""
    pos, tail = end, b""
    while pos > 0 and budget[0] > 0:
        size = min(BLOCK, pos)
        pos -= size
        budget[0] -= size
        fh.seek(pos)
        pieces = (fh.read(size) + tail).split(b"\n")
        tail = pieces[0][-MAX_LINE_BYTES:]  # maybe the end of a longer line: read on
        for piece in reversed(pieces[1:]):
            # a NUL run (copytruncate) may be longer than a line: the record after it counts
            yield piece.lstrip(b"\x00")[:MAX_LINE_BYTES]
    if pos == 0:
        yield tail.lstrip(b"\x00")


def _decode(raw: bytes) -> str | None:
    """Text of a line, or None for binary garbage (NUL bytes). A record that starts
    after garbage, a NUL run (copytruncate) or a torn write is kept without them."""
    text = raw.rstrip(b"\r").decode("utf-8", errors="replace")
    before, record = resync(text)
    if before:
        return record
    return None if "\x00" in text else text


def reverse_records(lines: Iterator[bytes]) -> Iterator[str]:
    """Whole records, newest first, from lines given last first.

    Lines without a header are held until the header above them is met; then the
    forward grouping decides which of them belong to it."""
    pending: list[str] = []  # lines below the next header, newest first
    for raw in lines:
        text = _decode(raw)
        if text is None or not text.strip():
            continue
        pending.append(text)
        if len(pending) > MAX_RECORD_LINES + 1:
            yield pending.pop(0)  # too far below any header to be part of it
        if is_record_start(text):
            forward = list(reversed(pending))
            pending = []
            yield from reversed([rec for _n, rec in group_records(enumerate(forward, 1))])
    yield from pending


# --- one log file and its rotations ---------------------------------------------------

@dataclass
class Window:
    """What reading one log gave: records newest first, and how the reading went."""

    path: str
    kind: str
    status: str = "ok"  # ok | missing | unreadable | not_a_file | journal
    reason: str | None = None
    read_files: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0  # records in the window, recognised or not
    truncated: str | None = None  # why reading stopped before the window's start

    def status_json(self) -> dict[str, Any]:
        return {"source": self.path, "kind": self.kind, "status": self.status,
                "reason": self.reason, "read_files": self.read_files,
                "records_in_window": self.total, "kept": len(self.records),
                "truncated": self.truncated}


def _open_reason(exc: OSError) -> tuple[str, str]:
    if exc.errno == errno.ENOENT:
        return "missing", "the file does not exist"
    if exc.errno in (errno.EACCES, errno.EPERM):
        if os.geteuid() != 0:
            return "unreadable", "needs root to read"
        return "unreadable", "permission denied even for root (SELinux or AppArmor?)"
    if exc.errno == errno.EISDIR:
        return "unreadable", "is a folder, not a file"
    return "unreadable", f"cannot read it: {exc.strerror}"


def event(source: str, kind: str, text: str, epoch_hint: float | None) -> dict[str, Any]:
    """One classified record as the fact stores it."""
    rec = classify(text)
    epoch = rec.epoch()
    return {
        "source": source, "kind": kind, "line": text[:MAX_TEXT], "time": rec.time_iso(),
        "epoch": epoch if epoch is not None else epoch_hint, "level": rec.level,
        "signature": rec.signature.name if rec.signature else None,
        "causes": list(rec.causes), "fields": rec.fields,
    }


def _worth_keeping(ev: dict[str, Any]) -> bool:
    """Recognised records, and unrecognised ones at error level or worse."""
    return ev["signature"] is not None or ev["level"] in ERROR_LEVELS


class _Collector:
    """Gathers the window's records newest first and says when to stop."""

    def __init__(self, win: Window, cutoff: float, limit: int) -> None:
        # Logs stamp whole seconds: a line of the cutoff's own second is inside the window.
        self.win, self.cutoff, self.limit = win, float(math.floor(cutoff)), limit
        self.last_epoch: float | None = None
        self.done = False

    def add(self, source: str, text: str) -> None:
        ev = event(source, self.win.kind, text, self.last_epoch)
        if ev["time"] is not None:
            if ev["epoch"] < self.cutoff:
                self.done = True  # older than the window: everything above is older too
                return
            self.last_epoch = ev["epoch"]
        self.win.total += 1
        if _worth_keeping(ev):
            self.win.records.append(ev)
            if len(self.win.records) >= self.limit:
                self.win.truncated = f"only the most recent {self.limit} records are kept"
                self.done = True


def _changed_while_read(path: str, fh: IO[bytes], end: int) -> str | None:
    """A note when the log was truncated, rotated or replaced while it was being read."""
    opened = os.fstat(fh.fileno())
    if opened.st_size < end:
        return (f"{path} became shorter while it was being read (truncated or rotated): "
                "some of its records may be missing")
    try:
        same = os.path.samestat(opened, os.stat(path))
    except OSError:
        same = False
    if not same:
        return (f"{path} was moved or replaced while it was being read (log rotation): "
                "the records shown come from the old file; lines written after the rotation "
                f"are in the new {path}, which was not read this time (diagnose again to "
                "include them)")
    return None


def _read_plain_backwards(path: str, col: _Collector, budget: list[int]) -> bool:
    """Read one plain file from its end. True when the whole file was inside the window."""
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        col.win.read_files.append(path)
        try:
            for text in reverse_records(reverse_lines(fh, end, budget)):
                col.add(path, text)
                if col.done:
                    return False
        finally:
            if (note := _changed_while_read(path, fh, end)) is not None:
                col.win.reason, col.done = note, True
    if col.done:
        return False  # the rotated files moved too: reading them now would mix two states
    if budget[0] <= 0:
        col.win.truncated = f"stopped after reading {MAX_SCAN_BYTES // (1024 * 1024)} MB"
        col.done = True
        return False
    return True


def _read_gzip(path: str, col: _Collector, budget: list[int]) -> None:
    """A gzipped rotation is read forwards; only the newest records of the window stay."""
    room = col.limit - len(col.win.records)
    newest: deque[dict[str, Any]] = deque(maxlen=max(room, 0))
    total = 0
    with gzip.open(path, "rb") as fh:
        col.win.read_files.append(path)

        def lines() -> Iterator[tuple[int, str]]:
            for number, raw in enumerate(fh, 1):
                budget[0] -= len(raw)
                if budget[0] <= 0:
                    return
                text = _decode(raw[:MAX_LINE_BYTES].rstrip(b"\n"))
                if text is not None:
                    yield number, text

        for _n, text in group_records(lines()):
            ev = event(path, col.win.kind, text, None)
            if ev["epoch"] is not None and ev["epoch"] < col.cutoff:
                continue
            total += 1
            if _worth_keeping(ev):
                newest.append(ev)
    col.win.total += total
    col.win.records.extend(reversed(newest))


def rotations(path: str) -> list[str]:
    """The rotated files that hold what came just before `path`, newest first."""
    found = []
    for candidate in (f"{path}.1", f"{path}.1.gz", f"{path}.2.gz"):
        if os.path.isfile(candidate):
            found.append(candidate)
    return found


def read_window(path: str, kind: str, since_seconds: float, now: float | None = None,
                limit: int = MAX_RECORDS_PER_FILE) -> Window:
    """The records of `path` (and its rotations) newer than now - since_seconds."""
    now = time.time() if now is None else now
    win = Window(path, kind)
    col = _Collector(win, now - since_seconds, limit)
    budget = [MAX_SCAN_BYTES]
    try:
        whole = _read_plain_backwards(path, col, budget)
    except OSError as exc:
        win.status, win.reason = _open_reason(exc)
        return win
    for rotated in rotations(path) if whole else []:
        try:
            if rotated.endswith(".gz"):
                _read_gzip(rotated, col, budget)
            elif not _read_plain_backwards(rotated, col, budget):
                break
        except (OSError, EOFError, zlib.error) as exc:  # a broken rotation: keep the rest
            win.reason = f"could not read {rotated}: {getattr(exc, 'strerror', None) or exc}"
            break
        if col.done:
            break
    return win


# --- targets that are not files -------------------------------------------------------

def _not_a_file_reason(target: str) -> str | None:
    if target == "stderr":
        return "nginx writes these messages to its standard error, which the service " \
               "manager keeps (journal), not to a file"
    if target.startswith("syslog:"):
        return f"sent to syslog ({target[7:]}), not to a file"
    if target.startswith("memory:"):
        return "kept in an in-memory buffer for debugging, not in a file"
    if target in ("/dev/null", "syslog"):
        return "thrown away (/dev/null)" if target == "/dev/null" else "sent to syslog"
    return None


def read_journal(unit: str, kind: str, target: str, since_seconds: float,
                 now: float) -> Window:
    """The unit's journal for the window, when journalctl exists."""
    win = Window(target, kind, status="not_a_file", reason=_not_a_file_reason(target))
    if which("journalctl") is None:
        win.reason = f"{win.reason}; journalctl is not available to read them"
        return win
    result = run(["journalctl", "-u", unit, "--since", f"@{int(now - since_seconds)}",
                  "-o", "cat", "--no-pager", "-q"], timeout=JOURNAL_TIMEOUT)
    if not result.ok:
        win.reason = f"{win.reason}; journalctl failed: {result.error or result.stderr.strip()}"
        return win
    win.status, win.read_files = "journal", [f"journalctl -u {unit}"]
    col = _Collector(win, now - since_seconds, MAX_RECORDS_PER_FILE)
    records = [text for _n, text in group_records(enumerate(result.stdout.splitlines(), 1))]
    for text in reversed(records):
        col.add(f"journal:{unit}", text)
        if col.done:
            break
    return win


# --- the fact -------------------------------------------------------------------------

def _nginx_targets(facts: Facts) -> list[str]:
    nginx = config_part(facts)
    if not isinstance(nginx, dict):
        return [DEFAULT_NGINX_LOG]
    prefix = nginx.get("prefix") or "/"
    targets = []
    for item in nginx.get("error_logs") or []:
        target = str(item.get("target") if isinstance(item, dict) else item)
        if _not_a_file_reason(target) is None and not os.path.isabs(target):
            target = os.path.join(prefix, target)  # nginx reads relative paths from its prefix
        if target not in targets:
            targets.append(target)
    return targets or [DEFAULT_NGINX_LOG]


def _phpfpm_targets(facts: Facts) -> list[str]:
    phpfpm = facts.try_get("phpfpm")
    if isinstance(phpfpm, dict) and phpfpm.get("error_logs"):
        return list(dict.fromkeys(str(p) for p in phpfpm["error_logs"]))
    found: list[str] = []
    for pattern in PHPFPM_LOG_GLOBS:
        found += sorted(p for p in glob.glob(pattern) if p not in found)
    return found


def read_target(target: str, kind: str, since_seconds: float, now: float) -> Window:
    if _not_a_file_reason(target) is not None:
        unit = "nginx" if kind == "nginx" else "php-fpm"
        if target in ("stderr",) or target.startswith("syslog"):
            return read_journal(unit, kind, target, since_seconds, now)
        return Window(target, kind, status="not_a_file", reason=_not_a_file_reason(target))
    return read_window(target, kind, since_seconds, now)


# --- records of one moment in two logs -----------------------------------------------

# nginx only sees its FastCGI connection reset or closed; PHP-FPM's log says why at the same
# moment: it killed the worker (request_terminate_timeout) or the worker died of a signal.
AMBIGUOUS_CLOSE = {"upstream_reset", "upstream_prematurely_closed", "upstream_broken_pipe"}
WORKER_END_CAUSE = {
    "phpfpm_execution_timed_out": "php_fpm_timeout",
    "phpfpm_child_signal_segv": "upstream_crash",
    "phpfpm_child_signal_kill": "upstream_crash",
    "phpfpm_child_signal": "upstream_crash",
    "phpfpm_child_exit_code": "upstream_crash",
}
SAME_MOMENT_SECONDS = 2.0  # both logs stamp whole seconds; the master notes a death late


def _worker_ends(events: list[dict[str, Any]]) -> list[tuple[float, str, dict[str, Any]]]:
    """(time, cause, event) of every PHP-FPM record that says how a worker ended."""
    terminated = {(ev["fields"].get("pool"), ev["fields"].get("pid")) for ev in events
                  if ev.get("signature") == "phpfpm_execution_timed_out"}
    ends = []
    for ev in events:
        name, epoch = ev.get("signature"), ev.get("epoch")
        if epoch is None:
            continue
        if name == "phpfpm_child_signal_term" and \
                (ev["fields"].get("pool"), ev["fields"].get("pid")) in terminated:
            # the SIGTERM that ended a timed-out script: the timeout, not a crash
            ev["causes"] = ["php_fpm_timeout"]
        elif name in WORKER_END_CAUSE:
            ends.append((float(epoch), WORKER_END_CAUSE[name], ev))
    return ends


# "no live upstreams" / "upstream server temporarily disabled" only say that nginx marked
# the servers failed (max_fails); the failures that marked them are the cause.
MARKED_FAILED = {"no_live_upstreams", "upstream_server_disabled"}
MARKING_SECONDS = 600.0  # fail_timeout is usually 10 s; a group stays marked while failing


def _marking_failure(events: list[dict[str, Any]], index: int) -> dict[str, Any] | None:
    """The newest failure before events[index] on the same site that is not itself a mark."""
    marked = events[index]
    site = (marked["fields"].get("server"), marked.get("source"))
    for ev in reversed(events[:index]):
        if marked["epoch"] - (ev.get("epoch") or 0.0) > MARKING_SECONDS:
            return None
        if ev.get("kind") == "nginx" and ev.get("causes") \
                and ev.get("signature") not in MARKED_FAILED \
                and (ev["fields"].get("server"), ev.get("source")) == site:
            return ev
    return None


def explain_marked_failed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each "no live upstreams" the cause of the failures that marked the servers
    down: backends that time out are slow, not down. Events must be in time order."""
    for index, ev in enumerate(events):
        if ev.get("signature") not in MARKED_FAILED or ev.get("epoch") is None:
            continue
        before = _marking_failure(events, index)
        if before is not None:
            cause = before["causes"][0]
            ev["causes"] = [cause] + [c for c in ev["causes"] if c != cause]
            ev["fields"]["explained_by"] = before["line"][:300]
    return events


def correlate(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Let PHP-FPM's records decide the cause of nginx's ambiguous ones of the same moment.

    "Connection reset by peer" from a FastCGI upstream fits a crash, a kill after
    request_terminate_timeout or another close; a PHP-FPM record within a second or two
    ("execution timed out", "exited on signal 11") says which. That cause moves first in
    the nginx record's causes and `fields.explained_by` names the record. Likewise "no
    live upstreams" takes the cause of the failures before it (explain_marked_failed).
    Changes the events in place and returns them; they must be in time order."""
    ends = _worker_ends(events)
    for ev in events:
        if ev.get("signature") not in AMBIGUOUS_CLOSE or ev.get("epoch") is None:
            continue
        if not str(ev["fields"].get("upstream", "")).startswith("fastcgi://"):
            continue
        near = [(abs(t - ev["epoch"]), cause, end) for t, cause, end in ends
                if abs(t - ev["epoch"]) <= SAME_MOMENT_SECONDS]
        if near:
            _gap, cause, end = min(near, key=lambda item: item[0])
            ev["causes"] = [cause] + [c for c in ev["causes"] if c != cause]
            ev["fields"]["explained_by"] = end["line"][:300]
    return explain_marked_failed(events)


def read_after_mark(target: str, kind: str, offset: int) -> Window:
    """The records written to `target` after byte `offset` (a mark taken after a fix)."""
    win = Window(target, kind, read_files=[target])
    for ev in lines_since_offset(target, offset, kind):
        win.total += 1
        if _worth_keeping(ev):
            win.records.append(ev)
    win.records.reverse()  # newest first, as a window read from the end has them
    return win


def _read(target: str, kind: str, facts: Facts, now: float) -> Window:
    """The window of one log: after a fix only what was written since (options.logs_after),
    else the --since window."""
    options = facts.options
    if options.logs_after_time is None:
        return read_target(target, kind, float(options.since_seconds), now)
    if target in options.logs_after:
        return read_after_mark(target, kind, options.logs_after[target])
    # a journal target, or a file that appeared after the mark: only its newer part
    return read_target(target, kind, max(0.0, now - options.logs_after_time), now)


def mark_logs(facts: Facts) -> None:
    """From now on, every log read of this session starts at the logs' current ends."""
    marks = {path: size for path, _kind in log_files(facts)
             if (size := file_size(path)) is not None}
    facts.options.logs_after = marks
    facts.options.logs_after_time = time.time()


@fact("error_log_events")
def error_log_events(facts: Facts) -> dict[str, Any]:
    since = float(facts.options.since_seconds)
    now = time.time()
    windows = [_read(t, "nginx", facts, now) for t in _nginx_targets(facts)]
    windows += [_read(t, "php-fpm", facts, now) for t in _phpfpm_targets(facts)]
    events = [ev for win in windows for ev in win.records]
    events.sort(key=lambda ev: ev["epoch"] if ev["epoch"] is not None else now)
    correlate(events)
    return {"now": now, "since_seconds": since, "files": [w.status_json() for w in windows],
            "after_fix": facts.options.logs_after_time,
            "events": events[-MAX_EVENTS:]}


# --- the lines one request caused (--url) ---------------------------------------------

def file_size(path: str) -> int | None:
    """The size now, to read later exactly what was appended (None when unreadable)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def lines_since_offset(path: str, offset: int, kind: str = "nginx",
                       max_bytes: int = 4 * 1024 * 1024) -> list[dict[str, Any]]:
    """Every record written to `path` after byte `offset` (all of them, recognised or
    not). A file that shrank was rotated or truncated: then it is read from its start."""
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            start = offset if 0 <= offset <= end else 0
            fh.seek(start)
            data = fh.read(min(end - start, max_bytes))
    except OSError:
        return []
    lines = ((n, text) for n, raw in enumerate(data.split(b"\n"), 1)
             if (text := _decode(raw)) is not None and text.strip())
    return [event(path, kind, text, None) for _n, text in group_records(lines)]


def log_files(facts: Facts) -> list[tuple[str, str]]:
    """(path, kind) of every log file the diagnosis reads; journal targets are left out."""
    found = [(t, "nginx") for t in _nginx_targets(facts)]
    found += [(t, "php-fpm") for t in _phpfpm_targets(facts)]
    return [(path, kind) for path, kind in found if _not_a_file_reason(path) is None]
