"""Checks over the error-log window: what nginx and PHP-FPM wrote about failing requests.

The ranking rule for every check: the signatures seen near the newest record come first
(what happens now), ordered by how often they occur; older ones follow, newest first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizard.checks.base import CheckFn, check
from wizard.checks.log_scope import LogScope, clock, placement, scope_of
from wizard.checks.program_name import program_in_log
from wizard.host.facts import Facts
from wizard.outcome import (
    CIRCUMSTANTIAL,
    DIRECT,
    STRONG,
    CheckResult,
    Evidence,
    HistoryEntry,
    Status,
)
from wizard.signatures import BY_NAME

RECENT_SECONDS = 15 * 60  # a line this young describes the current state
BURST_SECONDS = 5 * 60  # signatures this close to the newest line rank as "now"
MAX_EVIDENCE = 5
MAX_DETAIL = 600
MAX_HISTORY = 6

CRASH = {"phpfpm_child_signal_segv", "phpfpm_child_signal_kill", "phpfpm_child_signal",
         "phpfpm_child_exit_code", "phpfpm_failed_threshold"}
TIMEOUT = {"phpfpm_execution_timed_out", "phpfpm_slow_request", "phpfpm_child_signal_term",
           "php_max_execution_time"}
SATURATED = {"phpfpm_max_children", "phpfpm_seems_busy", "phpfpm_process_max"}
CRASH_EVERYWHERE = CRASH | {"nginx_worker_killed", "nginx_worker_crashed"}
NOTICE_LEVELS = {"debug", "info", "notice", "DEBUG", "NOTICE"}


@dataclass
class SignatureGroup:
    """The events of one signature: how many, when, and the newest one."""

    name: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def newest(self) -> dict[str, Any]:
        return self.events[-1]

    @property
    def last(self) -> float:
        return self.newest.get("epoch") or 0.0


def _groups(events: list[dict[str, Any]]) -> list[SignatureGroup]:
    """Group by signature and rank: recent bursts by count, then the rest by recency."""
    groups: dict[str, SignatureGroup] = {}
    for ev in sorted(events, key=lambda e: e.get("epoch") or 0.0):
        groups.setdefault(ev["signature"], SignatureGroup(ev["signature"])).events.append(ev)
    if not groups:
        return []
    newest = max(g.last for g in groups.values())

    def rank(g: SignatureGroup) -> tuple[bool, int, float]:
        # A notice ("Terminating ...", "signal 15 received") is context: a few restarts in
        # an outage must not push the warning that says what fails out of first place.
        failure = g.newest.get("level") not in NOTICE_LEVELS
        in_burst = newest - g.last <= BURST_SECONDS
        return (failure, 1, len(g.events) + g.last / 1e12) if in_burst else (failure, 0, g.last)

    return sorted(groups.values(), key=rank, reverse=True)


def _ranked_causes(groups: list[SignatureGroup]) -> list[str]:
    causes: list[str] = []
    for g in groups:
        for cause_id in g.newest.get("causes") or []:
            if cause_id not in causes:
                causes.append(cause_id)
    return causes


def _evidence(groups: list[SignatureGroup]) -> list[Evidence]:
    """The exact lines: newest of the leading signature first, then one per other."""
    lines = list(reversed(groups[0].events[-3:]))
    lines += [g.newest for g in groups[1:]]
    return [Evidence("error_log", f"{ev['source']}: {ev['line'][:MAX_DETAIL]}")
            for ev in lines[:MAX_EVIDENCE]]


def _confidence(top: SignatureGroup, now: float) -> int:
    recent = now - top.last <= RECENT_SECONDS
    # Only a record with one possible cause proves it. A record with several (a missing
    # socket: PHP-FPM down, or listening elsewhere) proves that one of them applies; the
    # checks of the live host that tell them apart must outrank it. The record's own
    # causes count: the other log of the same moment may have narrowed them (correlate).
    specific = len(top.newest.get("causes") or []) == 1
    if top.newest.get("level") in NOTICE_LEVELS:
        # "signal 15 received, exiting": a program stopping is context for the checks of
        # the live host (is it running? why can it not start?), not proof of a cause.
        return CIRCUMSTANTIAL
    if recent and specific:
        return DIRECT
    return STRONG if recent or specific else CIRCUMSTANTIAL


def _window(facts: Facts) -> dict[str, Any]:
    value = facts.get("error_log_events")
    return value if isinstance(value, dict) else {"events": [], "files": []}


def _files(window: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in window.get("files") or [] if f.get("kind") == kind]


def reading_notes(files: list[dict[str, Any]]) -> list[str]:
    """What went wrong while a log was read that was read all the same: rotated, truncated
    or replaced under the reader, or a broken rotation. The person must know the window
    may lack records."""
    return [str(f["reason"]) for f in files
            if f.get("status") in ("ok", "journal") and f.get("reason")]


def _noting_reads(kind: str) -> Callable[[CheckFn], CheckFn]:
    """Add the reading notes of this log kind to a log check's summary and evidence."""
    def wrap(fn: CheckFn) -> CheckFn:
        @functools.wraps(fn)
        def noted(facts: Facts) -> CheckResult:
            result = fn(facts)
            notes = reading_notes(_files(_window(facts), kind))
            if notes and result.result != "skipped":
                result.summary += "".join(f". Note: {note}" for note in notes)
                result.evidence = [*result.evidence, *(Evidence("file", n) for n in notes)]
            return result
        return noted
    return wrap


def _unread_reason(files: list[dict[str, Any]]) -> str | None:
    """A reason when no log of this kind could be read at all."""
    readable = [f for f in files if f.get("status") in ("ok", "journal")]
    if readable or not files:
        return None
    return "; ".join(f"{f['source']}: {f.get('reason') or f.get('status')}" for f in files)


def _time(ev: dict[str, Any]) -> str | None:
    return ev.get("time")


def seen_at(ev: dict[str, Any]) -> str:
    """When a record was written, as a person compares it with the log: '2024-05-01 10:00:02'."""
    iso = ev.get("time")
    return str(iso)[:19].replace("T", " ") if iso else "an unknown time"


def how_often(count: int, last: str) -> str:
    """'at 10:00:02' for one record, '3 times, last at 10:00:02' for more."""
    return f"at {last}" if count == 1 else f"{count} times, last at {last}"


def _vars(groups: list[SignatureGroup], files: list[dict[str, Any]],
          program: str | None = None) -> dict[str, Any]:
    """The flow's words for the leading signature; `program` is the one behind the address
    the record names ("gunicorn"), when known."""
    top = groups[0]
    ev = top.newest
    fields = ev.get("fields") or {}
    sig = BY_NAME.get(top.name)
    return {
        "signature": top.name,
        "signatures": ", ".join(g.name for g in groups),
        "message": ev["line"],
        "explanation": sig.explained(program) if sig else "",
        "said": sig.says(program) if sig else "",
        "program": program or "",
        "count": len(top.events),
        "total": sum(len(g.events) for g in groups),
        "upstream": fields.get("upstream") or fields.get("peer"),
        "socket": fields.get("socket"),
        "pool": fields.get("pool"),
        "pid": fields.get("pid"),
        "request": fields.get("request"),
        "server": fields.get("server"),
        "host": fields.get("host"),
        "first_time": _time(top.events[0]),
        "last_time": _time(ev),
        "last_seen": seen_at(ev),
        "log_file": ev["source"],
        "log_files": ", ".join(f["source"] for f in files),
        "cause": (ev.get("causes") or [None])[0],
    }


@dataclass
class Summary:
    """A check's view of one log kind: the current signature groups, ranked, and the
    records that are history (another site's, from before a restart, or older)."""

    groups: list[SignatureGroup]
    files: list[dict[str, Any]]
    unread: str | None
    now: float
    history: list[HistoryEntry]


def _history(ev: dict[str, Any], why: str) -> HistoryEntry:
    return HistoryEntry("error_log", f"{ev['source']}: {ev['line'][:MAX_DETAIL]}", why)


def split_current(events: list[dict[str, Any]], scope: LogScope,
                  ) -> tuple[list[SignatureGroup], list[HistoryEntry]]:
    """The groups that may describe the failure now, and the rest as history: records
    another site wrote or that predate a restart, then groups older than the latest burst."""
    current: list[dict[str, Any]] = []
    history: dict[tuple[str, str], HistoryEntry] = {}  # newest record per signature and why
    for ev in sorted(events, key=lambda e: e.get("epoch") or 0.0):
        why = placement(ev, scope)
        if why is None:
            current.append(ev)
        else:
            history[(ev["signature"], why)] = _history(ev, why)
    groups = _groups(current)
    if groups:
        newest = max(g.last for g in groups)
        for g in [g for g in groups if newest - g.last > BURST_SECONDS and g.last]:
            groups.remove(g)
            why = f"older than the latest failures (last one at {clock(newest)})"
            history[(g.name, why)] = _history(g.newest, why)
    return groups, list(history.values())[-MAX_HISTORY:]


def _summarise(facts: Facts, kind: str, wanted: Callable[[dict[str, Any]], bool]) -> Summary:
    window = _window(facts)
    files = _files(window, kind)
    events = [ev for ev in window.get("events") or []
              if ev.get("kind") == kind and ev.get("signature") and wanted(ev)]
    groups, history = split_current(events, scope_of(facts))
    return Summary(groups, files, _unread_reason(files), float(window.get("now") or 0.0),
                   history)


def _since_text(facts: Facts) -> str:
    if facts.options.logs_after_time is not None:
        return "moments since the fix was applied"
    minutes = facts.options.since_seconds / 60
    return f"{minutes:g} minutes" if minutes < 120 else f"{minutes / 60:g} hours"


# --- logs.nginx_errors ----------------------------------------------------------------

@check("logs.nginx_errors",
       results={"ok": Status.OK, "upstream_errors": Status.PROBLEM,
                "unreadable": Status.WARNING},
       facts=("error_log_events", "listening", "processes", "phpfpm"),
       causes=tuple(sorted({c for s in BY_NAME.values() if s.log in ("nginx", "php")
                            for c in s.causes})))
@_noting_reads("nginx")
def nginx_errors(facts: Facts) -> CheckResult:
    """What nginx's error log says about failed upstream requests in the window."""
    seen = _summarise(facts, "nginx", lambda ev: bool(ev.get("causes")))
    groups, files = seen.groups, seen.files
    if not groups and seen.unread:
        return CheckResult("unreadable", f"could not read nginx's error log: {seen.unread}",
                           vars={"reason": seen.unread, "log_files": ", ".join(
                               f["source"] for f in files)},
                           evidence=[Evidence("file", seen.unread)], confidence=STRONG)
    if not groups:
        return CheckResult(
            "ok", f"nginx logged no upstream errors in the last {_since_text(facts)}"
                  f"{_history_note(seen.history)}",
            vars={"log_files": ", ".join(f["source"] for f in files), "count": 0},
            evidence=[Evidence("file", f"{f['source']}: {f.get('records_in_window', 0)} "
                                       f"records in the window") for f in files[:3]],
            confidence=CIRCUMSTANTIAL, history=seen.history)
    variables = _vars(groups, files, program_in_log(facts, groups[0].newest.get("fields") or {}))
    summary = (f"nginx logged {how_often(variables['count'], variables['last_seen'])}: "
               f"{variables['said']}")
    return CheckResult("upstream_errors", summary, vars=variables,
                       evidence=_evidence(groups), confidence=_confidence(groups[0], seen.now),
                       causes=_ranked_causes(groups), history=seen.history)


def _history_note(history: list[HistoryEntry]) -> str:
    """'ok' must not hide that there were errors: say they are history, and why."""
    if not history:
        return ""
    return f" that still apply ({len(history)} older or other-site record(s) shown as history)"


# --- logs.phpfpm_errors ---------------------------------------------------------------

def _category(name: str) -> str:
    if name in CRASH:
        return "crashes"
    if name in TIMEOUT:
        return "timeouts"
    if name in SATURATED:
        return "saturated"
    return "other_errors"


@check("logs.phpfpm_errors",
       results={"ok": Status.OK, "crashes": Status.PROBLEM, "timeouts": Status.PROBLEM,
                "saturated": Status.PROBLEM, "other_errors": Status.WARNING,
                "unreadable": Status.WARNING},
       facts=("error_log_events",),
       causes=tuple(sorted({c for s in BY_NAME.values() if s.log in ("php-fpm", "php")
                            for c in s.causes})))
@_noting_reads("php-fpm")
def phpfpm_errors(facts: Facts) -> CheckResult:
    """What PHP-FPM's own log says: crashed workers, killed slow scripts, a full pool."""
    seen = _summarise(facts, "php-fpm", lambda ev: bool(ev.get("causes")))
    groups, files = seen.groups, seen.files
    if not files:
        return CheckResult("skipped", "no PHP-FPM log was found on this host",
                           confidence=CIRCUMSTANTIAL)
    if not groups and seen.unread:
        return CheckResult("unreadable", f"could not read PHP-FPM's log: {seen.unread}",
                           vars={"reason": seen.unread},
                           evidence=[Evidence("file", seen.unread)])
    if not groups:
        return CheckResult(
            "ok", f"PHP-FPM logged no crashes, timeouts or full pools in the last "
                  f"{_since_text(facts)}{_history_note(seen.history)}",
            vars={"log_files": ", ".join(f["source"] for f in files), "count": 0},
            confidence=CIRCUMSTANTIAL, history=seen.history)
    variables = _vars(groups, files)
    top = groups[0]
    fields = top.newest.get("fields") or {}
    variables.update({"script": fields.get("script"), "signal": fields.get("signal"),
                      "max_children": fields.get("max_children")})
    result = _category(top.name)
    pool = f" for pool {variables['pool']}" if variables["pool"] else ""
    summary = (f"PHP-FPM logged{pool} {how_often(len(top.events), variables['last_seen'])}: "
               f"{variables['said']}")
    return CheckResult(result, summary, vars=variables, evidence=_evidence(groups),
                       confidence=_confidence(top, seen.now), causes=_ranked_causes(groups),
                       history=seen.history)


# --- logs.crashes ---------------------------------------------------------------------

# What a signal that ends a worker means, in words (signal(7)).
SIGNAL_WORDS = {"11": "crashed (signal 11, a segmentation fault)",
                "7": "crashed (signal 7, a bus error)",
                "6": "aborted (signal 6)", "4": "crashed (signal 4, an illegal instruction)",
                "8": "crashed (signal 8, an arithmetic error)",
                "9": "was killed (signal 9, most often the out-of-memory killer)",
                "15": "was told to stop (signal 15)"}


def signal_words(signal: Any) -> str:
    if signal is None:
        return "died"
    return SIGNAL_WORDS.get(str(signal), f"died from signal {signal}")


@check("logs.crashes", results={"ok": Status.OK, "crashed": Status.PROBLEM},
       facts=("error_log_events",), causes=("upstream_crash", "resource_exhaustion"))
def crashes(facts: Facts) -> CheckResult:
    """Did a PHP-FPM worker or an nginx worker die from a signal (segfault, OOM kill)?"""
    window = _window(facts)
    events = [ev for ev in window.get("events") or []
              if ev.get("signature") in CRASH_EVERYWHERE]
    files = window.get("files") or []
    groups, history = split_current(events, scope_of(facts))
    if not groups:
        if files and _unread_reason(files):
            return CheckResult("unknown", f"no log could be read: {_unread_reason(files)}")
        return CheckResult("ok", f"no worker crashed in the last {_since_text(facts)}"
                                 f"{_history_note(history)}",
                           confidence=CIRCUMSTANTIAL, history=history)
    events = [ev for g in groups for ev in g.events]
    top = groups[0]
    fields = top.newest.get("fields") or {}
    killed = any(g.name in ("phpfpm_child_signal_kill", "nginx_worker_killed") for g in groups)
    process = "nginx worker" if top.name.startswith("nginx") else "PHP-FPM worker"
    causes = ["upstream_crash"] + (["resource_exhaustion"] if killed else [])
    if top.name.startswith("nginx") and not killed:
        causes = []  # nginx itself crashing is not an upstream cause
    variables = _vars(groups, files)
    variables.update({"process": process, "signal": fields.get("signal"),
                      "oom_suspected": killed})
    pid = f" (process {fields['pid']})" if fields.get("pid") else ""
    article = "an" if process.startswith("nginx") else "a"
    last = (f"{process}{pid} {signal_words(fields.get('signal'))} at "
            f"{variables['last_seen']}")
    summary = (f"{article} {last}" if len(events) == 1 else
               f"workers died {len(events)} times; last: {article} {last}")
    return CheckResult("crashed", summary, vars=variables, evidence=_evidence(groups),
                       confidence=_confidence(top, float(window.get("now") or 0.0)),
                       causes=causes)
