"""Changes of kind `oom_kill`: processes the kernel's OOM killer ended in the window, from
the first kernel log that can be read: the journal (`journalctl -k`, where systemd runs),
else /var/log/kern.log or /var/log/messages (read from their end), else `dmesg`. The line
format is the one `resources` already recognises (its `find_oom_kills`)."""

from __future__ import annotations

import re
import time
from typing import Any

from wizard.compat import fromisoformat
from wizard.host.changes_tail import tail_since
from wizard.host.changes_window import Window, change
from wizard.host.commands import run
from wizard.host.facts import Facts
from wizard.host.resources import find_oom_kills

KERNEL_LOGS = ("/var/log/kern.log", "/var/log/messages")
TIMEOUT = 10.0
MAX_KERNEL_BYTES = 4 * 1024 * 1024
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})")
_SYSLOG = re.compile(r"^([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) ")


def kernel_line_time(line: str, now: float | None = None) -> float | None:
    """An ISO stamp (journal short-iso, dmesg --time-format=iso, rsyslog's newer format) or
    a classic syslog stamp without a year ("May  1 10:00:00 host kernel: ...")."""
    m = _ISO.match(line)
    if m:
        stamp = line.split(" ", 1)[0].replace(",", ".")
        try:
            return fromisoformat(stamp).timestamp()
        except ValueError:
            return fromisoformat(m.group(1)).timestamp()
    m = _SYSLOG.match(line)
    if not m:
        return None
    now = time.time() if now is None else now
    year = time.localtime(now).tm_year
    for candidate in (year, year - 1):
        try:
            epoch = time.mktime(time.strptime(f"{candidate} {m.group(1)}", "%Y %b %d %H:%M:%S"))
        except ValueError:
            return None
        if epoch <= now + 86400:
            return epoch
    return None


def oom_entries(text: str, source: str, window: Window) -> list[dict[str, Any]]:
    found = []
    for kill in find_oom_kills(text, source, window.start):
        epoch = kill.get("time") or kernel_line_time(kill["line"], window.now)
        if not window.holds(epoch):
            continue
        process = kill.get("process") or "a process"
        subject = "nginx" if process.startswith("nginx") else \
            "php-fpm" if "php" in process else "other"
        found.append(change(float(epoch or 0.0), source, "oom_kill",
                            f"the kernel's OOM killer killed {process} ({kill['pid']})",
                            subject, line=kill["line"], pid=kill["pid"]))
    return found


def _journal(window: Window) -> tuple[str | None, str]:
    result = run(["journalctl", "-k", "-q", "--no-pager", "-o", "short-iso",
                  "--since", f"@{int(window.start)}"], timeout=TIMEOUT)
    if result.ok:
        return result.stdout, "journalctl -k"
    return None, f"journalctl -k: {result.error or result.stderr.strip() or 'failed'}"


def _files(window: Window) -> tuple[str | None, str, list[str]]:
    notes: list[str] = []
    for path in KERNEL_LOGS:
        tail = tail_since(path, window.start, lambda line: kernel_line_time(line, window.now),
                          MAX_KERNEL_BYTES)
        if tail.readable:
            return "\n".join(tail.lines), path, notes
        if tail.note != "not present":
            notes.append(f"{path}: {tail.note}")
    return None, "", notes


def _dmesg() -> tuple[str | None, str]:
    result = run(["dmesg", "--time-format=iso"], timeout=TIMEOUT)
    if result.ok:
        return result.stdout, "dmesg"
    return None, f"dmesg: {result.error or result.stderr.strip() or 'failed'}"


def collect(facts: Facts, window: Window) -> tuple[list[dict[str, Any]], list[str]]:
    system = facts.try_get("system") or {}
    tried: list[str] = []
    if system.get("service_manager") == "systemd":
        text, said = _journal(window)
        if text is not None:
            return oom_entries(text, said, window), []
        tried.append(said)
    text, source, notes = _files(window)
    tried += notes
    if text is not None:
        return oom_entries(text, source, window), []
    text, said = _dmesg()
    if text is not None:
        return oom_entries(text, said, window), []
    tried.append(said)
    return [], ["the kernel log could not be read (" + "; ".join(tried) + ")"]
