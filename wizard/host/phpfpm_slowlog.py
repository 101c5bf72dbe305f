"""PHP-FPM's slow log: for every request that ran longer than the pool's
request_slowlog_timeout, PHP-FPM writes where the script was at that moment (its PHP
stack, innermost call first). That names what a slow page waits for: a database query,
an HTTP call to another service, a sleep.

An entry, as fpm_php_trace.c writes it (the blank line first):

    [30-Nov-2026 04:25:58]  [pool www] pid 21639
    script_filename = /var/www/html/report.php
    [0x00007f1fe9e150c0] curl_exec() /var/www/html/lib/api.php:42
    [0x00007f1fe9e15020] fetch_rates() /var/www/html/report.php:7

Only the window's entries are kept (the --since window, or what was written after a fix).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from wizard.host.changes_tail import tail_since
from wizard.host.facts import Facts, fact
from wizard.host.phpfpm import DEFAULT_PREFIX

MAX_BYTES = 2 * 1024 * 1024  # per slow log: its newest part says what is slow now
MAX_ENTRIES = 200  # kept in the fact, newest last
MAX_FRAMES = 8  # of each stack: the innermost calls say what it waited for

_HEADER = re.compile(r"^\[(\d{2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}:\d{2})\]\s+"
                     r"\[pool (?P<pool>[^\]]+)\] pid (?P<pid>\d+)")
_SCRIPT = re.compile(r"^script_filename = (?P<script>.*)$")
_FRAME = re.compile(r"^\[0x[0-9a-f]+\] (?P<call>.+?\(\)) (?P<where>\S+)$")


def header_time(line: str) -> float | None:
    """The epoch of an entry's first line (PHP-FPM writes local time); None for the rest."""
    m = _HEADER.match(line)
    if not m:
        return None
    try:
        return time.mktime(time.strptime(m.group(1), "%d-%b-%Y %H:%M:%S"))
    except ValueError:
        return None


def parse_entries(lines: list[str], source: str) -> list[dict[str, Any]]:
    """The entries in `lines` (oldest first). Lines before the first header belong to an
    entry older than the window and are left out."""
    entries: list[dict[str, Any]] = []
    for line in lines:
        header = _HEADER.match(line)
        if header:
            entries.append({"source": source, "pool": header.group("pool"),
                            "pid": int(header.group("pid")), "epoch": header_time(line),
                            "time": line[1:21], "script": None, "frames": []})
            continue
        if not entries:
            continue
        script, frame = _SCRIPT.match(line), _FRAME.match(line)
        if script:
            entries[-1]["script"] = script.group("script")
        elif frame and len(entries[-1]["frames"]) < MAX_FRAMES:
            entries[-1]["frames"].append({"call": frame.group("call"),
                                          "where": frame.group("where")})
    return entries


def slowlog_path(pool: dict[str, Any]) -> str | None:
    """The pool's slow log as PHP-FPM resolves it ($pool expanded, relative to its prefix)."""
    path = pool.get("slowlog")
    if not path:
        return None
    path = str(path).replace("$pool", str(pool.get("name") or ""))
    return path if os.path.isabs(path) else os.path.join(DEFAULT_PREFIX, path)


def _window_start(facts: Facts, now: float) -> float:
    after_fix = facts.options.logs_after_time
    return after_fix if after_fix is not None else now - float(facts.options.since_seconds)


@fact("phpfpm_slowlog")
def phpfpm_slowlog(facts: Facts) -> dict[str, Any]:
    pools = (facts.try_get("phpfpm") or {}).get("pools") or []
    now = time.time()
    start = _window_start(facts, now)
    by_path: dict[str, list[dict[str, Any]]] = {}
    off: list[dict[str, Any]] = []
    for pool in pools:
        path = slowlog_path(pool)
        if path and float(pool.get("request_slowlog_timeout") or 0) > 0:
            by_path.setdefault(path, []).append(pool)
        else:
            off.append({"pool": pool.get("name"), "file": pool.get("file"),
                        "conf": pool.get("conf"), "slowlog": pool.get("slowlog")})
    files: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for path, served in by_path.items():
        tail = tail_since(path, start, header_time, MAX_BYTES)
        files.append({"path": path, "pools": [p.get("name") for p in served],
                      "timeout": min(float(p["request_slowlog_timeout"]) for p in served),
                      "readable": tail.readable, "note": tail.note})
        entries += parse_entries(tail.lines, path)
    entries.sort(key=lambda e: e["epoch"] or 0.0)
    return {"now": now, "start": start, "files": files, "off": off,
            "entries": entries[-MAX_ENTRIES:]}
