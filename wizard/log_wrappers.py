"""The wrappers that log collectors put around a log line, peeled off one physical line.

People paste error-log lines as they found them: from `journalctl` or a syslog file, from
`docker compose logs`, from Docker's JSON files, from `kubectl logs` (with `--prefix` and
`--timestamps`), from the CRI files under /var/log/pods, or quoted in a mail or a comment.
`unwrap` takes those layers off and says what it found, so that the program's own line
can be classified. Pure: text in, text out; nothing here reads a file or the clock.

Each wrapper is recognised by its whole shape (a time AND a host AND a tag; a JSON object
WITH a "log" string; a name, padding and a bar in front of a log line), so a line that
merely contains ` | ` or `{` is left as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from wizard.compat import fromisoformat

MAX_LAYERS = 4  # e.g. a quoted `kubectl logs --prefix --timestamps` line: three layers
DOCKER_SPLIT = 16 * 1024  # Docker's json-file driver cuts longer lines into pieces


@dataclass(frozen=True)
class Unwrapped:
    """One physical line without its wrappers."""

    inner: str  # what the program itself wrote
    wrappers: tuple[str, ...] = ()  # names of the layers taken off, outermost first
    time: datetime | None = None  # the collector's time (aware when it names its zone)
    source: str | None = None  # container, pod or program name the wrapper gives
    partial: bool = False  # the runtime split a long line: the next line continues it
    noise: bool = False  # not a log line at all (journalctl's "-- Boot ... --")


@dataclass(frozen=True)
class _Layer:
    name: str
    inner: str
    time: datetime | None = None
    source: str | None = None
    partial: bool = False


_ANSI = r"(?:\x1b\[[0-9;]*m)*"
_RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)"
# The tag (program name) and optional [pid] that syslog and journalctl put before ": ".
_TAG = r"(?P<tag>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?: "
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# journalctl's own lines between entries, and the explanations `journalctl -x` adds.
_JOURNAL_NOTE = re.compile(
    r"^(?:-- (?:Logs begin at |Journal begins at |Journal ends at |Boot [0-9a-f]+ --|"
    r"No entries --|Reboot --)|\u2591\u2591 )")
_QUOTE = re.compile(r"^(?:> ?)+")
_KUBECTL_PREFIX = re.compile(r"^\[(?P<src>pod/[^/\]\s]+/[^\]\s]+)\] (?P<rest>.*)$", re.S)
# CRI (containerd, CRI-O): "<time> <stream> <F|P>[:more tags] <line>"; P = partial.
_CRI = re.compile(
    rf"^(?P<time>{_RFC3339}) (?:stdout|stderr) (?P<tag>[FP])(?::\S*)?(?: (?P<rest>.*))?$",
    re.S)
_RFC5424 = re.compile(
    r"^<\d{1,3}>1 (?P<time>\S+) (?P<host>\S+) (?P<app>\S+) \S+ \S+ "
    r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<rest>.*))?$", re.S)
# rsyslog's file format and `journalctl -o short-iso`: ISO time, host, tag[pid]:
_SYSLOG_ISO = re.compile(rf"^(?:<\d{{1,3}}>)?(?P<time>{_RFC3339}) (?P<host>\S+) {_TAG}"
                         r"(?P<rest>.*)$", re.S)
# RFC 3164 files and `journalctl` (short, short-precise): "Nov 24 10:00:00 host tag[pid]: ".
# Some daemons put "facility.level: " in front, relays a second host name; month names
# follow the locale ("gen", "10月"), so only English ones give a time.
_SYSLOG_BSD = re.compile(
    r"^(?:<\d{1,3}>)?(?:[a-z]+\.[a-z]+: )?(?P<mon>[^\s\d]{3,9}\.?|\d{1,2}\u6708) {1,2}"
    r"(?P<day>\d{1,2}) (?P<clock>\d\d:\d\d:\d\d)(?:\.\d+)? (?P<host>\S+) "
    rf"(?:[^\s:\[\]]+ )?{_TAG}(?P<rest>.*)$", re.S)
# `journalctl -o short-full`: "Sun 2024-11-24 10:00:00 CET host tag[pid]: ".
_SYSLOG_FULL = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<date>\d{4}-\d\d-\d\d) (?P<clock>\d\d:\d\d:\d\d)"
    rf"(?:\.\d+)? (?:[A-Z]{{2,5}}|[+-]\d{{4}}) (?P<host>\S+) {_TAG}(?P<rest>.*)$", re.S)
# `docker logs -t`, `kubectl logs --timestamps`, `docker compose logs -t`.
_TIMESTAMP = re.compile(rf"^(?P<time>{_RFC3339}) (?P<rest>.*)$", re.S)
# `docker compose logs` (v1 "web_1  | ", v2 "web-1  | "), foreman/forego "nginx.1  | ",
# colour codes around the name and bar when it writes to a terminal.
_COMPOSE = re.compile(
    rf"^{_ANSI}(?P<name>[A-Za-z0-9][\w.-]*){_ANSI} +{_ANSI}\|{_ANSI}"
    rf"(?: ?{_ANSI}(?P<rest>.*))?$", re.S)
_REPLICA = re.compile(r"[_.-]\d+$")
# Most lines of a real log are nginx's or PHP-FPM's own, with no wrapper: said at once.
_BARE_LOG_LINE = re.compile(r"\d{4}/\d\d/\d\d \d\d:|\[\d\d-[A-Z][a-z]{2}-\d{4} ")
# What a program's log line starts with: nginx's and PHP-FPM's headers (with or without
# their dates) or a collector's time. Compose's prefix counts only in front of one of
# these, unless the name or the colours already show that compose wrote it.
_LOG_LINE = re.compile(
    r"(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[|\[\d\d-[A-Z][a-z]{2}-\d{4} \d|"
    r"\[?(?:debug|info|notice|warn|error|crit|alert|emerg)\] \d+#\d+: |\*\d+ |nginx: \[|"
    r"\[(?:DEBUG|NOTICE|WARNING|ERROR|ALERT)\] |(?:DEBUG|NOTICE|WARNING|ERROR|ALERT): |"
    rf"{_RFC3339} )", re.I)


def _rfc3339(text: object) -> datetime | None:
    """An RFC 3339 time as an aware datetime (nanoseconds cut to microseconds)."""
    if not isinstance(text, str):
        return None
    text = text.replace(",", ".")
    if (m := re.match(r"^(.*?T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)) is None:
        return None
    fraction = (m[2] or "")[:7]
    try:
        stamp = fromisoformat(m[1] + fraction + m[3])
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def _bsd_time(month: str, day: str, clock: str, now: datetime | None) -> datetime | None:
    """Syslog's time has no year: the latest one that is not in the future."""
    if month[:3] not in _MONTHS:
        return None
    now = now or datetime.now()
    try:
        hh, mm, ss = (int(x) for x in clock.split(":"))
        stamp = datetime(now.year, _MONTHS.index(month[:3]) + 1, int(day), hh, mm, ss)
    except ValueError:
        return None
    if stamp > now + timedelta(days=1):
        stamp = stamp.replace(year=now.year - 1)
    return stamp


def _quote(line: str, now: datetime | None) -> _Layer | None:
    m = _QUOTE.match(line)
    return _Layer("quote", line[m.end():]) if m else None


def _docker_json(line: str, now: datetime | None) -> _Layer | None:
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}") and '"log"' in text):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("log"), str):
        return None
    log: str = obj["log"]
    partial = not log.endswith("\n") and len(log) >= DOCKER_SPLIT
    return _Layer("docker-json", log.rstrip("\r\n"), _rfc3339(obj.get("time")), None, partial)


def _kubectl_prefix(line: str, now: datetime | None) -> _Layer | None:
    m = _KUBECTL_PREFIX.match(line)
    return _Layer("kubectl-prefix", m["rest"], source=m["src"]) if m else None


def _cri(line: str, now: datetime | None) -> _Layer | None:
    m = _CRI.match(line)
    if m is None:
        return None
    return _Layer("cri", m["rest"] or "", _rfc3339(m["time"]), partial=m["tag"] == "P")


def _rfc5424(line: str, now: datetime | None) -> _Layer | None:
    m = _RFC5424.match(line)
    if m is None:
        return None
    rest = (m["rest"] or "").removeprefix("\ufeff")  # RFC 5424 marks UTF-8 with a BOM
    app = None if m["app"] == "-" else m["app"]
    return _Layer("syslog-rfc5424", rest, _rfc3339(m["time"]), app)


def _syslog(line: str, now: datetime | None) -> _Layer | None:
    if m := _SYSLOG_ISO.match(line):
        return _Layer("syslog", m["rest"], _rfc3339(m["time"]), m["tag"])
    if m := _SYSLOG_BSD.match(line):
        return _Layer("syslog", m["rest"], _bsd_time(m["mon"], m["day"], m["clock"], now),
                      m["tag"])
    if m := _SYSLOG_FULL.match(line):
        try:
            stamp: datetime | None = fromisoformat(f"{m['date']} {m['clock']}")
        except ValueError:
            stamp = None
        return _Layer("syslog", m["rest"], stamp, m["tag"])
    return None


def _timestamp(line: str, now: datetime | None) -> _Layer | None:
    m = _TIMESTAMP.match(line)
    return _Layer("timestamp", m["rest"], _rfc3339(m["time"])) if m else None


def _compose(line: str, now: datetime | None) -> _Layer | None:
    m = _COMPOSE.match(line)
    if m is None:
        return None
    rest = m["rest"] or ""
    prefix = line[: m.start("rest")] if m["rest"] is not None else line
    if not ("\x1b" in prefix or _REPLICA.search(m["name"]) or _LOG_LINE.match(rest)):
        return None  # "a | b" is not compose output unless the rest is a log line
    return _Layer("docker-compose", rest, source=m["name"])


# Tried in this order on each layer: the most specific shapes first, so that a CRI or
# syslog line is not taken for a bare time stamp, nor anything for compose's "name |".
_PEELERS: tuple[Callable[[str, datetime | None], _Layer | None], ...] = (
    _quote, _docker_json, _kubectl_prefix, _cri, _rfc5424, _syslog, _timestamp, _compose)


def unwrap(line: str, now: datetime | None = None) -> Unwrapped:
    """The line without its collectors' wrappers (the line itself when it has none).

    `now` dates syslog's year-less times; it defaults to the present."""
    if _BARE_LOG_LINE.match(line):
        return Unwrapped(line)
    inner = line
    names: tuple[str, ...] = ()
    time: datetime | None = None
    source: str | None = None
    partial = False
    for _ in range(MAX_LAYERS):
        if _JOURNAL_NOTE.match(inner):
            return Unwrapped("", (*names, "journal-note"), time, source, noise=True)
        layer = next((found for peel in _PEELERS if (found := peel(inner, now))), None)
        if layer is None:
            break
        inner, names = layer.inner, (*names, layer.name)
        time, source = time or layer.time, source or layer.source
        partial = partial or layer.partial
    return Unwrapped(inner, names, time, source, partial)
