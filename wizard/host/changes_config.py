"""Changes of kinds `config_pending` and `config`: nginx's and PHP-FPM's config files that
were modified after their running master started (the running server does not use them:
a reload or restart would load them) or modified in the window. The file lists, the
masters and the config tests come from the `nginx`, `phpfpm` and `processes` facts:
nothing is parsed again."""

from __future__ import annotations

import os
from typing import Any

from wizard.host.changes_scope import nginx_masters, phpfpm_confs
from wizard.host.changes_window import Window, change, clock
from wizard.host.facts import Facts
from wizard.host.nginx_part import config_part

# psutil's create_time adds the boot time in whole seconds, so it can be up to a second
# early: a file written just before the start must not pass for one written after it.
SLACK = 1.0
MAX_FILES = 500


def mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def started(processes: list[dict[str, Any]], pids: list[Any]) -> float | None:
    """When the oldest of these masters started (None when none runs)."""
    times = [float(p["create_time"]) for p in processes
             if p.get("pid") in set(pids) and p.get("create_time")]
    return min(times) if times else None


def _test_words(name: str, test_ok: bool | None) -> str:
    if test_ok is True:
        return "; its config test passes, so a reload would load it"
    if test_ok is False:
        return f"; its config test fails, so a reload or restart of {name} would fail"
    return ""


def file_changes(name: str, subject: str, files: list[str], since: float | None,
                 window: Window, test_ok: bool | None,
                 addresses: set[str] | None = None) -> list[dict[str, Any]]:
    """Entries for the config files of one server; `since` is when its master started;
    `addresses` are the files that say where requests go (nginx's *_pass lines, PHP-FPM's
    pools), whose change can point nginx and its upstream apart."""
    found = []
    for path in list(dict.fromkeys(files))[:MAX_FILES]:
        when = mtime(path)
        if when is None:
            continue
        facts = {"file": path, "master_started": since, "test_ok": test_ok,
                 "addresses": path in (addresses or set())}
        if since is not None and when > since + SLACK:
            what = (f"{path} was changed after {name} started at {clock(since)}: {name} runs "
                    f"without this change unless it was reloaded since"
                    f"{_test_words(name, test_ok)}")
            found.append(change(when, path, "config_pending", what, subject, **facts))
        elif window.holds(when):
            tail = f"; {name} started with it at {clock(since)}" if since is not None else \
                f" while {name} is not running"
            found.append(change(when, path, "config", f"{path} was changed{tail}", subject,
                                **facts))
    return found


def nginx_changes(facts: Facts, window: Window) -> list[dict[str, Any]]:
    nginx = facts.try_get("nginx") or {}
    processes = facts.try_get("processes", []) or []
    since = started(processes, nginx_masters(nginx))
    test_ok = (nginx.get("test") or {}).get("ok")
    passes = {p["file"] for p in nginx.get("passes") or [] if p.get("file")}
    return file_changes("nginx", "nginx", list(nginx.get("files") or []), since, window,
                        test_ok, passes)


def phpfpm_changes(facts: Facts, window: Window) -> list[dict[str, Any]]:
    phpfpm = facts.try_get("phpfpm") or {}
    processes = facts.try_get("processes", []) or []
    found = []
    serving = phpfpm_confs(config_part(facts) or {}, phpfpm)
    for config in phpfpm.get("configs") or []:
        conf = config.get("conf")
        if conf not in serving:
            continue
        pools = [p["file"] for p in phpfpm.get("pools") or []
                 if p.get("conf") == conf and p.get("file")]
        pids = [m.get("pid") for m in phpfpm.get("masters") or [] if m.get("conf") == conf]
        test_ok = (config.get("test") or {}).get("ok")
        found += file_changes("PHP-FPM", "php-fpm", [conf, *pools], started(processes, pids),
                              window, test_ok, set(pools))
    return found


def collect(facts: Facts, window: Window) -> tuple[list[dict[str, Any]], list[str]]:
    return nginx_changes(facts, window) + phpfpm_changes(facts, window), []
