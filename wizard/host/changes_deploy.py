"""Changes of kind `deploy`: files under the sites' document roots (the `root` of nginx's
server blocks and locations, from the `nginx` fact) and under the working folders of
running app servers, modified in the window ("42 files under /var/www/shop changed
10:01-10:03"). The walk is bounded in entries and time, never follows links, and skips
folders an app rewrites all day (caches, sessions, logs).

The modification time is what a deploy by git, cp, unzip or a build sets; `rsync -a` and
`tar x` keep the source's times, so such a deploy can go unseen here.
"""

from __future__ import annotations

import os
import time
from typing import Any

import psutil

from wizard.host.changes_window import Window, change, clock
from wizard.host.facts import Facts
from wizard.host.nginx_part import config_part
from wizard.host.processes import named

MAX_ENTRIES = 5000  # per folder
MAX_SECONDS = 2.0  # per folder
BURST_GAP = 600.0  # changes further apart than this are separate deploys
MAX_BURSTS = 3  # newest kept per folder
SKIP_DIRS = {"cache", "caches", ".cache", "tmp", "temp", "log", "logs", "sessions",
             "node_modules", "__pycache__", ".git"}
SKIP_ROOTS = {"/", "/usr", "/etc", "/var", "/home", "/root", "/tmp", "/proc", "/sys", "/dev"}
APP_SERVERS = ("gunicorn", "uwsgi", "node", "puma", "unicorn")


def folders(facts: Facts) -> list[str]:
    """Document roots and app folders, outermost only (a root inside another is walked once)."""
    nginx = config_part(facts) or {}
    found = [s.get("root") for s in nginx.get("servers") or []]
    found += [p.get("root") for p in nginx.get("passes") or []]
    for proc in named(facts.try_get("processes", []) or [], *APP_SERVERS):
        try:
            found.append(psutil.Process(proc["pid"]).cwd())
        except (psutil.Error, KeyError):
            continue
    roots = sorted({os.path.normpath(str(r)) for r in found if r} - SKIP_ROOTS)
    return [r for r in roots
            if not any(r != o and r.startswith(o.rstrip("/") + "/") for o in roots)]


def modified_times(root: str, window: Window) -> tuple[list[float], bool]:
    """mtimes in the window of the files under root; True when the walk was cut short."""
    deadline = time.monotonic() + MAX_SECONDS
    pending, seen = [root], 0
    found: list[float] = []
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    seen += 1
                    if seen > MAX_ENTRIES or time.monotonic() > deadline:
                        return found, True
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in SKIP_DIRS:
                            pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        when = entry.stat(follow_symlinks=False).st_mtime
                        if window.holds(when):
                            found.append(when)
        except OSError:
            continue  # unreadable or vanished: the rest still counts
    return found, False


def bursts(times: list[float]) -> list[list[float]]:
    groups: list[list[float]] = []
    for when in sorted(times):
        if groups and when - groups[-1][-1] <= BURST_GAP:
            groups[-1].append(when)
        else:
            groups.append([when])
    return groups[-MAX_BURSTS:]


def entries_for(root: str, times: list[float], cut_short: bool) -> list[dict[str, Any]]:
    found = []
    for group in bursts(times):
        count, first, last = len(group), group[0], group[-1]
        span = clock(first) if clock(first) == clock(last) else f"{clock(first)}-{clock(last)}"
        noun = "file" if count == 1 else "files"
        found.append(change(first, root, "deploy", f"{count} {noun} under {root} changed {span}",
                            "site", folder=root, count=count, last=last, cut_short=cut_short))
    return found


def collect(facts: Facts, window: Window) -> tuple[list[dict[str, Any]], list[str]]:
    entries: list[dict[str, Any]] = []
    notes: list[str] = []
    for root in folders(facts):
        if not os.path.isdir(root):
            continue
        times, cut_short = modified_times(root, window)
        if cut_short:
            notes.append(f"{root}: looked at the first {MAX_ENTRIES} entries only")
        entries += entries_for(root, times, cut_short)
    return entries, notes
