"""Facts `processes`: the running processes that matter for a 502 (web servers, PHP-FPM,
upstream apps), read once with psutil."""

from __future__ import annotations

from typing import Any

import psutil

from wizard.host.facts import Facts, fact


def _info(proc: psutil.Process) -> dict[str, Any] | None:
    try:
        with proc.oneshot():
            return {
                "pid": proc.pid,
                "ppid": proc.ppid(),
                "name": proc.name(),
                "cmdline": proc.cmdline(),
                "username": proc.username(),
                "create_time": proc.create_time(),
            }
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        return {"pid": proc.pid, "ppid": None, "name": proc.name(), "cmdline": [],
                "username": None, "create_time": None}


@fact("processes")
def process_facts(facts: Facts) -> list[dict[str, Any]]:
    found = []
    for proc in psutil.process_iter():
        info = _info(proc)
        if info is not None:
            found.append(info)
    return found


def named(processes: list[dict[str, Any]], *prefixes: str) -> list[dict[str, Any]]:
    """Processes whose name or argv[0] starts with one of the prefixes (e.g. 'php-fpm')."""
    def matches(p: dict[str, Any]) -> bool:
        argv0 = (p.get("cmdline") or [""])[0].rsplit("/", 1)[-1]
        return any(str(p.get("name", "")).startswith(x) or argv0.startswith(x) for x in prefixes)

    return [p for p in processes if matches(p)]
