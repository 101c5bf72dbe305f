"""Fact `access_log`: the requests nginx answered with 502, 503 or 504 in the `--since`
window, read from the access logs of the loaded config.

Which files: every `access_log` of the config, the way nginx applies them: a server's own
access_log lines replace the http-level ones (all of them; several may log at once),
`access_log off` silences its level, a location may log to a file of its own, and with no
access_log at all nginx writes its compiled-in default (Debian: /var/log/nginx/access.log).
Each file remembers the server blocks that write to it, so an entry can name its site.

How: a file is read from its END backwards in blocks (errorlog.reverse_lines), within a byte
budget, then its rotation `FILE.1`. Lines are parsed with a regex made from the file's own
`log_format` (so `$status`, `$request` and `$host` are found wherever the format puts them),
else with a tolerant pattern for `"METHOD URI PROTO" STATUS`. Garbage, huge lines and
unreadable files end up as plain notes, never as errors.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from wizard.compat import fromisoformat, zip_strict
from wizard.host.errorlog import reverse_lines
from wizard.host.facts import Facts, fact
from wizard.host.nginx_config import (
    IMPLICIT_LISTEN,
    Directive,
    blocks_named,
    http_blocks,
    parse_config,
    parse_listen,
    resolve_path,
    shared,
)
from wizard.host.nginx_part import config_part

GATEWAY_STATUSES = (502, 503, 504)
# nginx's predefined format (ngx_http_log_module.c).
COMBINED = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
            '"$http_referer" "$http_user_agent"')
DEFAULT_ACCESS_LOG = "/var/log/nginx/access.log"  # Debian's --http-log-path
MAX_SCAN_BYTES = 32 * 1024 * 1024  # per log with its rotation: access logs grow fast
MAX_LINE_CHARS = 8192  # a longer line is no request line; parsing it would only cost time
MAX_ENTRIES = 2000  # failing requests kept, newest first, across all files
# Lines are stamped when the request ends, so a slow request can sit below a newer one:
# reading stops only once lines are this much older than the window.
SLACK_SECONDS = 120.0


# --- which files ----------------------------------------------------------------------

@dataclass
class LogTarget:
    """One access-log file, its format and the server blocks that write to it."""

    path: str
    format_name: str
    format: str | None  # None: the format is not defined in the config
    directive: str | None  # "file:line" of the access_log line; None for nginx's default
    servers: list[dict[str, Any]] = field(default_factory=list)


def log_formats(root: list[Directive]) -> dict[str, str]:
    """Format name -> format text; `log_format NAME [escape=...] 'part' 'part'...`."""
    formats = {"combined": COMBINED}
    for http in http_blocks(root):
        for d in http.find("log_format"):
            args = [a for a in d.args[1:] if not a.startswith("escape=")]
            if d.args and args:
                formats[d.args[0]] = "".join(args)
    return formats


def _location_logs(block: Directive) -> list[Directive]:
    """access_log lines inside the locations (and ifs) of a server, at any depth."""
    found: list[Directive] = []
    for d in block.block or []:
        if d.block is not None and d.name in ("location", "if", "limit_except"):
            found += d.find("access_log") + _location_logs(d)
    return found


def _server_ref(index: int, server: Directive, same: dict[Any, Any]) -> dict[str, Any]:
    """A server block's place, names and listens, as server_info gives them (without the
    root, index and logs it also works out: 5,000 servers made that a tenth of a second).
    Equal listens are one shared dict, as in the nginx fact."""
    listens = [_listen(same, d.args) for d in server.find("listen")]
    names: list[str] = []
    for d in server.find("server_name"):
        names.extend(d.args)
    return {"index": index, "file": server.file, "line": server.line, "server_names": names,
            "listen": listens or [shared(same, "implicit listen", dict(IMPLICIT_LISTEN))]}


def _listen(same: dict[Any, Any], args: list[str]) -> dict[str, Any]:
    key = ("listen", *args)
    found = same.get(key)
    return found if found is not None else shared(same, key, parse_listen(args))


def _default_path(prefix: str | None) -> str:
    if os.path.exists(DEFAULT_ACCESS_LOG) or not prefix:
        return DEFAULT_ACCESS_LOG
    return resolve_path("logs/access.log", prefix)


def access_log_targets(root: list[Directive], prefix: str | None
                       ) -> tuple[list[LogTarget], list[str]]:
    """Every access-log file of the config with the servers writing to it, and notes on
    the ones that cannot be read as files (syslog, variables in the path, gzip)."""
    formats = log_formats(root)
    targets: dict[tuple[str, str], LogTarget] = {}
    notes: list[str] = []
    index = 0
    same: dict[Any, Any] = {}
    for http in http_blocks(root):
        http_logs = http.find("access_log")
        for server in blocks_named(http, "server"):
            ref = _server_ref(index, server, same)
            index += 1
            own = server.find("access_log")
            lines = (own or http_logs) + _location_logs(server)
            if not own and not http_logs:
                _add(targets, _default_path(prefix), "combined", formats, None, ref)
            for d in lines:
                target = _file_of(d, prefix, notes)
                if target is not None:
                    name = d.args[1] if len(d.args) > 1 and "=" not in d.args[1] else "combined"
                    _add(targets, target, name, formats, f"{d.file}:{d.line}", ref)
    return list(targets.values()), list(dict.fromkeys(notes))


def _file_of(d: Directive, prefix: str | None, notes: list[str]) -> str | None:
    """The file an access_log line writes, or None (off, syslog, variables, gzip)."""
    if not d.args or d.args[0] == "off":
        return None
    target = d.args[0]
    where = f"{d.file}:{d.line}"
    if target.startswith("syslog:"):
        notes.append(f"the access log at {where} goes to syslog, not to a file")
        return None
    if "$" in target:
        notes.append(f"the access log at {where} names its file with a variable "
                     f"({target}), so the wizard cannot tell which files to read")
        return None
    if any(a == "gzip" or a.startswith("gzip=") for a in d.args[1:]):
        notes.append(f"the access log at {where} is written compressed (gzip); "
                     "it was not read")
        return None
    return resolve_path(target, prefix)


def _add(targets: dict[tuple[str, str], LogTarget], path: str, name: str,
         formats: dict[str, str], directive: str | None, ref: dict[str, Any]) -> None:
    target = targets.setdefault((path, name), LogTarget(path, name, formats.get(name),
                                                        directive))
    # A server's refs arrive one after another, so comparing with the last is enough
    # (searching the whole list was quadratic with thousands of servers on one log).
    if not target.servers or target.servers[-1]["index"] != ref["index"]:
        target.servers.append(ref)


# --- reading one line -----------------------------------------------------------------

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# Variables whose values hold spaces or commas ("502, 504", "10.0.0.1:80 : 10.0.0.2:80").
_SPACED = {"time_local", "request", "upstream_status", "upstream_addr",
           "upstream_response_time", "upstream_connect_time", "upstream_header_time",
           "upstream_response_length", "upstream_bytes_received", "upstream_bytes_sent",
           "upstream_cache_status", "http_user_agent", "http_referer"}
WANTED = {"status", "request", "request_method", "request_uri", "uri", "args", "query_string",
          "host", "http_host", "server_name", "server_port", "scheme", "https",
          "time_local", "time_iso8601", "msec"}
_QUOTED_VALUE = r'(?:[^"\\]|\\.)*'  # nginx escapes '"' as \x22 (or \" with escape=json)
# Any format that keeps the request line: `"GET /x HTTP/1.1" 502`.
TOLERANT = re.compile(
    r'"(?P<v_request_method>[A-Z]{3,12}) (?P<v_request_uri>[^\s"]+)(?: HTTP/[\d.]+)?" '
    r"(?P<v_status>\d{3})(?=\s|$)")
_TIME_LOCAL = re.compile(r"\[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def _variable_pattern(name: str, following: str | None) -> str:
    """The regex for one variable's value, given the literal text that follows it."""
    if name == "status":
        return r"\d{3}"
    if following == '"':
        return _QUOTED_VALUE
    if following == "]":
        return r"[^\]]*"
    if following is None:
        return r".*"
    if name in _SPACED or following == "":
        return r".*?"
    return rf"[^{re.escape(following)}]*"


def format_regex(fmt: str) -> re.Pattern[str] | None:
    """A regex matching one line of `fmt`, with groups `v_NAME` for the wanted variables;
    None when the format logs no status or no request."""
    pieces = _VARIABLE.split(fmt)  # literal, (braced, plain), literal, ...
    literals, names = pieces[0::3], [b or p for b, p in zip_strict(pieces[1::3], pieces[2::3])]
    have = set(names)
    if "status" not in have or not have & {"request", "request_uri", "uri"}:
        return None
    pattern, seen = ["^", re.escape(literals[0])], set()
    for position, name in enumerate(names):
        after = literals[position + 1]
        last = position + 1 == len(names)
        following = None if last and not after else after[:1]
        body = _variable_pattern(name, following)
        if name in WANTED and name not in seen:
            seen.add(name)
            pattern.append(f"(?P<v_{name}>{body})")
        else:
            pattern.append(f"(?:{body})")
        pattern.append(re.escape(after))
    pattern.append("$")
    try:
        return re.compile("".join(pattern))
    except re.error:
        return None


def _epoch(values: dict[str, str], line: str) -> float | None:
    if values.get("msec"):
        try:
            return float(values["msec"])
        except ValueError:
            pass
    if values.get("time_iso8601"):
        try:
            return fromisoformat(values["time_iso8601"]).timestamp()
        except ValueError:
            pass
    stamp = values.get("time_local")
    if not stamp:
        found = _TIME_LOCAL.search(line)
        stamp = found.group(1) if found else None
    return _time_local(stamp) if stamp else None


_TIME_LOCAL_PARTS = re.compile(
    r"(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})")


@functools.lru_cache(maxsize=256)  # a busy log repeats each second's stamp many times
def _time_local(stamp: str) -> float | None:
    """'10/Oct/2024:13:55:36 -0700' -> epoch (month names in English, whatever the locale)."""
    m = _TIME_LOCAL_PARTS.fullmatch(stamp)
    if not m or m.group(2) not in _MONTHS:
        return None
    sign = 1 if m.group(7) == "+" else -1
    offset = timedelta(hours=int(m.group(8)), minutes=int(m.group(9))) * sign
    try:
        when = datetime(int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1)), int(m.group(4)),
                        int(m.group(5)), int(m.group(6)), tzinfo=timezone(offset))
    except ValueError:
        return None
    return when.timestamp()


def _value(values: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = values.get(name)
        if value and value != "-":
            return value
    return None


def parse_line(line: str, regex: re.Pattern[str] | None) -> dict[str, Any] | None:
    """One access-log line -> {method, uri, status, host, port, scheme, epoch}; None when
    neither the format nor the tolerant pattern finds a request and a status in it."""
    m = regex.match(line) if regex is not None else None
    if m is None:
        m = TOLERANT.search(line)
        if m is None:
            return None
    values = {k[2:]: v for k, v in m.groupdict().items() if v is not None}
    method, uri = _request_parts(values)
    if uri is None:
        return None
    host = _value(values, "http_host", "host", "server_name")
    port = _value(values, "server_port")
    scheme = _value(values, "scheme") or ("https" if values.get("https") == "on" else None)
    return {"method": method, "uri": uri, "status": int(values["status"]), "host": host,
            "port": int(port) if port and port.isdigit() else None, "scheme": scheme,
            "epoch": _epoch(values, line)}


def _request_parts(values: dict[str, str]) -> tuple[str | None, str | None]:
    request = values.get("request")
    if request:
        parts = request.split(" ")
        if len(parts) >= 2 and parts[0].isalpha() and parts[1].startswith("/"):
            return parts[0], parts[1]
        return None, None  # a garbled request line (TLS on a plain port, a scanner)
    uri = _value(values, "request_uri")
    if uri is None and (plain := _value(values, "uri")) is not None:
        query = _value(values, "args", "query_string")
        uri = f"{plain}?{query}" if query else plain
    return _value(values, "request_method"), uri


# --- reading one file backwards -------------------------------------------------------

@dataclass
class Reading:
    """What reading one access-log file (and its rotation) gave."""

    target: LogTarget
    status: str = "ok"  # ok | missing | unreadable
    reason: str | None = None
    read_files: list[str] = field(default_factory=list)
    lines: int = 0
    unparsed: int = 0
    binary: int = 0
    too_long: int = 0
    truncated: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        t = self.target
        return {"path": t.path, "format": t.format_name, "format_known": t.format is not None,
                "directive": t.directive, "servers": t.servers, "status": self.status,
                "reason": self.reason, "read_files": self.read_files, "lines": self.lines,
                "unparsed": self.unparsed, "binary": self.binary, "too_long": self.too_long,
                "truncated": self.truncated}

    def notes(self) -> list[str]:
        path, notes = self.target.path, []
        if self.status != "ok":
            notes.append(f"the access log {path} could not be read: {self.reason}")
        if self.binary:
            notes.append(f"{path}: {self.binary} lines held binary data and were skipped")
        if self.too_long:
            notes.append(f"{path}: {self.too_long} lines longer than {MAX_LINE_CHARS} "
                         "characters were skipped")
        if self.unparsed:
            notes.append(f"{path}: {self.unparsed} of {self.lines} lines were not in a "
                         "known access-log format")
        if self.truncated:
            notes.append(f"{path}: {self.truncated}")
        return notes


def _open_reason(exc: OSError) -> tuple[str, str]:
    if exc.errno == errno.ENOENT:
        return "missing", "the file does not exist"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "unreadable", ("needs root to read" if os.geteuid() != 0
                              else "permission denied even for root (SELinux or AppArmor?)")
    if exc.errno == errno.EISDIR:
        return "unreadable", "is a folder, not a file"
    return "unreadable", f"cannot read it: {exc.strerror}"


class _Window:
    """Parses lines newest first and keeps the failing ones inside the time window."""

    def __init__(self, reading: Reading, regex: re.Pattern[str] | None, cutoff: float,
                 limit: int) -> None:
        self.reading, self.regex = reading, regex
        self.cutoff, self.limit = cutoff, limit
        self.hint: float | None = None  # time of the newer line, for lines without one
        self.done = False

    def add(self, raw: bytes, source: str) -> None:
        reading = self.reading
        if not raw.strip():
            return
        reading.lines += 1
        if b"\x00" in raw:
            reading.binary += 1
            return
        if len(raw) > MAX_LINE_CHARS:
            reading.too_long += 1
            return
        entry = parse_line(raw.rstrip(b"\r").decode("utf-8", errors="replace"), self.regex)
        if entry is None:
            reading.unparsed += 1
            return
        epoch = entry["epoch"] if entry["epoch"] is not None else self.hint
        if epoch is not None:
            if epoch < self.cutoff - SLACK_SECONDS:
                self.done = True  # everything above is older still
                return
            self.hint = epoch
            if epoch < self.cutoff:
                return
        if entry["status"] in GATEWAY_STATUSES:
            entry.update(epoch=epoch, source=source, time=_iso(epoch))
            reading.entries.append(entry)
            if len(reading.entries) >= self.limit:
                reading.truncated = f"only the newest {self.limit} failing requests are kept"
                self.done = True


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch).astimezone().isoformat() if epoch else None


def _read_backwards(path: str, window: _Window, budget: list[int]) -> None:
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        if window.hint is None:
            window.hint = os.fstat(fh.fileno()).st_mtime
        window.reading.read_files.append(path)
        for raw in reverse_lines(fh, end, budget):
            window.add(raw, path)
            if window.done:
                return


def read_failures(target: LogTarget, since_seconds: float, now: float | None = None,
                  limit: int = MAX_ENTRIES) -> Reading:
    """The failing requests of one access log (and FILE.1) newer than now - since_seconds,
    newest first."""
    now = time.time() if now is None else now
    reading = Reading(target)
    regex = format_regex(target.format) if target.format else None
    window = _Window(reading, regex, now - since_seconds, limit)
    budget = [MAX_SCAN_BYTES]
    for path in (target.path, f"{target.path}.1"):
        if path != target.path and not os.path.isfile(path):
            break
        try:
            _read_backwards(path, window, budget)
        except OSError as exc:
            if path == target.path:
                reading.status, reading.reason = _open_reason(exc)
            else:
                reading.truncated = f"could not read {path}: {exc.strerror or exc}"
            break
        if window.done:
            break
        if budget[0] <= 0:
            reading.truncated = (f"only the last {MAX_SCAN_BYTES // (1024 * 1024)} MB were "
                                 "read; older lines were not looked at")
            break
    return reading


# --- the fact -------------------------------------------------------------------------

def read_access_logs(nginx: dict[str, Any], since_seconds: float, now: float | None = None
                     ) -> dict[str, Any]:
    """The fact's value for the config that `nginx` (the `nginx` fact) describes."""
    now = time.time() if now is None else now
    conf = nginx.get("conf_path")
    parsed = parse_config(str(conf)) if conf else None
    if parsed is None or not parsed.files:
        why = parsed.errors[0]["error"] if parsed and parsed.errors else "it was not found"
        return {"now": now, "since_seconds": since_seconds, "files": [], "entries": [],
                "notes": [f"nginx's access logs are unknown: its configuration could not be "
                          f"read ({why})"]}
    targets, notes = access_log_targets(parsed.root, nginx.get("prefix"))
    readings = [read_failures(t, since_seconds, now) for t in targets]
    entries = [dict(e, server=r.target.servers[0] if len(r.target.servers) == 1 else None)
               for r in readings for e in r.entries]
    entries.sort(key=lambda e: e["epoch"] or 0, reverse=True)
    notes += [note for r in readings for note in r.notes()]
    return {"now": now, "since_seconds": since_seconds,
            "files": [r.to_json() for r in readings], "entries": entries[:MAX_ENTRIES],
            "notes": notes}


@fact("access_log")
def access_log_facts(facts: Facts) -> dict[str, Any]:
    """The requests answered 502/503/504 in the window, from every access log nginx writes."""
    nginx = config_part(facts) or {}
    return read_access_logs(nginx, float(facts.options.since_seconds))
