"""Facts `resources`: what a 502 can run out of on this host: CPU, memory, swap, disk space
and inodes, nginx workers' open-file limit, local TCP ports, and OOM kills."""

from __future__ import annotations

import contextlib
import os
import re
import time
from typing import Any

import psutil

from wizard.compat import fromisoformat
from wizard.host.commands import run
from wizard.host.facts import Facts, fact
from wizard.host.nginx_part import config_part

DISK_PATHS = ("/", "/var/log", "/tmp", "/run", "/var/lib/php/sessions")
TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
MAX_TCP_LINES = 500_000  # a busy host may have many sockets; counting more adds nothing
KERN_LOG = "/var/log/kern.log"
KERN_LOG_TAIL = 2 * 1024 * 1024
TIMEOUT = 10.0
# One kill logs both an "oom-kill:" summary and an "Out of memory: Killed process" line;
# the pid lets us count it once.
_OOM = re.compile(r"(Out of memory: Kill(?:ed)? process (?P<pid>\d+) \((?P<name>[^)]*)\)"
                  r"|oom-kill:.*task=(?P<task>[^,\s]+),pid=(?P<tpid>\d+))")
TIME_WAIT, ESTABLISHED = "06", "01"


def _cpu() -> dict[str, Any]:
    load = os.getloadavg()
    return {"cores": psutil.cpu_count() or 1, "load1": load[0], "load5": load[1],
            "load15": load[2]}


def _memory() -> tuple[dict[str, Any], dict[str, Any]]:
    mem, swap = psutil.virtual_memory(), psutil.swap_memory()
    return ({"total": mem.total, "available": mem.available, "percent_used": mem.percent},
            {"total": swap.total, "used": swap.used, "percent_used": swap.percent})


def _disk(path: str) -> dict[str, Any] | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return {"path": path, "total": st.f_blocks * st.f_frsize,
            "free": st.f_bavail * st.f_frsize,
            "inodes_total": st.f_files, "inodes_free": st.f_favail}


def disk_paths(nginx: dict[str, Any] | None, phpfpm: dict[str, Any] | None) -> list[str]:
    """Fixed folders plus the folders of nginx's and PHP-FPM's sockets, pid files, logs."""
    paths = list(DISK_PATHS)
    for p in (nginx or {}).get("passes") or []:
        if p.get("socket"):
            paths.append(os.path.dirname(p["socket"]))
    for log in (nginx or {}).get("error_logs") or []:
        if str(log.get("target", "")).startswith("/"):
            paths.append(os.path.dirname(log["target"]))
    for pool in (phpfpm or {}).get("pools") or []:
        if pool.get("socket"):
            paths.append(os.path.dirname(pool["socket"]))
    for conf in (phpfpm or {}).get("configs") or []:
        if conf.get("pid_file"):
            paths.append(os.path.dirname(conf["pid_file"]))
    return list(dict.fromkeys(p for p in paths if p))


def read_limits(pid: int) -> dict[str, int | None]:
    """Soft/hard 'Max open files' of a process from /proc/PID/limits (None: unlimited)."""
    with open(f"/proc/{pid}/limits", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return {"soft": None if soft == "unlimited" else int(soft),
                        "hard": None if hard == "unlimited" else int(hard)}
    return {"soft": None, "hard": None}


def _workers(nginx: dict[str, Any] | None) -> dict[str, Any]:
    workers: list[dict[str, Any]] = []
    unreadable: list[str] = []
    for pid in (nginx or {}).get("worker_pids") or []:
        try:
            limits = read_limits(int(pid))
            open_files = len(os.listdir(f"/proc/{pid}/fd"))
        except PermissionError:
            unreadable.append(f"pid {pid}: reading its limits needs root")
            continue
        except (OSError, ValueError):
            continue  # the worker exited meanwhile
        workers.append({"pid": pid, "nofile_soft": limits["soft"], "nofile_hard": limits["hard"],
                        "open_files": open_files})
    wc = (nginx or {}).get("worker_connections")
    return {"workers": workers, "unreadable": unreadable, "worker_connections": wc,
            "worker_rlimit_nofile": (nginx or {}).get("worker_rlimit_nofile"),
            # each proxied connection holds two descriptors: the client's and the upstream's
            "files_needed": wc * 2 if isinstance(wc, int) else None}


def _port_range() -> list[int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="utf-8") as fh:
            low, high = fh.read().split()[:2]
        return [int(low), int(high)]
    except (OSError, ValueError):
        return [32768, 60999]  # the kernel's default


def count_tcp(tables: tuple[str, ...] = TCP_TABLES) -> dict[str, Any]:
    """TIME_WAIT and ephemeral-port use, from /proc/net/tcp (no root needed)."""
    low, high = _port_range()
    time_wait = established = ephemeral = 0
    for table in tables:
        try:
            with open(table, encoding="ascii", errors="replace") as fh:
                next(fh, None)  # header
                for n, line in enumerate(fh):
                    if n >= MAX_TCP_LINES:
                        break
                    fields = line.split()
                    if len(fields) < 4:
                        continue
                    state, local_port = fields[3], int(fields[1].rsplit(":", 1)[1], 16)
                    time_wait += state == TIME_WAIT
                    established += state == ESTABLISHED
                    ephemeral += low <= local_port <= high and state in (TIME_WAIT, ESTABLISHED)
        except (OSError, ValueError, IndexError):
            continue
    return {"time_wait": time_wait, "established": established, "ephemeral_in_use": ephemeral,
            "ephemeral_range": [low, high], "ephemeral_size": high - low + 1}


def _line_time(line: str) -> float | None:
    """Epoch of a dmesg --time-format=iso or syslog ISO line; None when it has none."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:[,.]\d+)?([+-]\d{2}:?\d{2}|Z)?",
                 line.strip())
    if not m:
        return None
    with contextlib.suppress(ValueError):
        return fromisoformat(m.group(1) + (m.group(2) or "")).timestamp()
    return None


def find_oom_kills(text: str, source: str, since: float) -> list[dict[str, Any]]:
    kills: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        m = _OOM.search(line)
        if not m:
            continue
        when = _line_time(line)
        if when is not None and when < since:
            continue
        pid = m.group("pid") or m.group("tpid")
        kills.setdefault(pid, {"source": source, "line": line.strip()[:300], "time": when,
                               "pid": int(pid), "process": m.group("name") or m.group("task")})
    return list(kills.values())


def _kern_log_tail() -> str | None:
    try:
        with open(KERN_LOG, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - KERN_LOG_TAIL))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None


def oom_kills(since_seconds: float) -> dict[str, Any]:
    """OOM kills in the kernel log, from the first source we can read."""
    since = time.time() - since_seconds
    tried: list[str] = []
    result = run(["dmesg", "--time-format=iso"], timeout=TIMEOUT)
    if result.ok:
        return {"readable": True, "source": "dmesg", "reason": None,
                "kills": find_oom_kills(result.stdout, "dmesg", since)}
    tried.append(f"dmesg: {result.error or (result.output.splitlines() or ['failed'])[0]}")
    text = _kern_log_tail()
    if text is not None:
        return {"readable": True, "source": KERN_LOG, "reason": None,
                "kills": find_oom_kills(text, KERN_LOG, since)}
    tried.append(f"{KERN_LOG}: not readable")
    result = run(["journalctl", "-k", "-q", "--no-pager", "-o", "short-iso",
                  "--since", f"@{int(since)}"], timeout=TIMEOUT)
    if result.ok:
        return {"readable": True, "source": "journalctl -k", "reason": None,
                "kills": find_oom_kills(result.stdout, "journalctl -k", since)}
    tried.append(f"journalctl -k: {result.error or (result.output.splitlines() or ['failed'])[0]}")
    return {"readable": False, "source": None, "kills": [],
            "reason": "the kernel log could not be read (" + "; ".join(tried) + ")"}


@fact("resources")
def resource_facts(facts: Facts) -> dict[str, Any]:
    nginx, phpfpm = config_part(facts), facts.try_get("phpfpm")
    memory, swap = _memory()
    disks = [d for d in (_disk(p) for p in disk_paths(nginx, phpfpm)) if d is not None]
    return {"cpu": _cpu(), "memory": memory, "swap": swap, "disks": disks,
            "nginx_files": _workers(nginx), "tcp": count_tcp(),
            "oom": oom_kills(facts.options.since_seconds)}
