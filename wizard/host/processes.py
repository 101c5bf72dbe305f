"""Facts `processes`: the running processes that matter for a 502 (web servers, PHP-FPM,
upstream apps), read once from /proc.

Every fact about nginx, PHP-FPM and the firewall waits for this one, so it reads the three
small files of each process itself (stat, cmdline, status) and nothing else: psutil, which
this fact used before, gives the same values at three times the cost. The values are read
as psutil reads them (its Linux module), so they stay what they were.
"""

from __future__ import annotations

import os
import pwd
import sys
from typing import Any

from wizard.host.facts import Facts, fact

PROC = "/proc"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NAME_LIMIT = 15  # the kernel cuts a process's name (comm) to 15 characters
_ENCODING, _ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def boot_time() -> float:
    """When the system booted (epoch seconds): the `btime` line of /proc/stat."""
    with open(f"{PROC}/stat", "rb") as stat:
        for line in stat:
            if line.startswith(b"btime"):
                return float(line.split()[1])
    raise OSError(f"{PROC}/stat has no btime line")


def split_cmdline(data: str) -> list[str]:
    """/proc/PID/cmdline as arguments: NUL-separated, or spaces where a program rewrote
    its title (setproctitle) without NULs."""
    if not data:
        return []
    sep = "\x00" if data.endswith("\x00") else " "
    if data.endswith(sep):
        data = data[:-1]
    args = data.split(sep)
    if sep == "\x00" and len(args) == 1 and " " in data:
        args = data.split(" ")
    return args


def _user(uid: int, names: dict[int, str]) -> str:
    if uid not in names:
        try:
            names[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:  # a uid without a name (a container's user): its number
            names[uid] = str(uid)
    return names[uid]


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _read_text(path: str) -> str:
    # Text mode as psutil reads it: a CR in an argument comes back as a newline.
    with open(path, encoding=_ENCODING, errors=_ERRORS) as handle:
        return handle.read()


def _info(pid: int, booted: float, names: dict[int, str]) -> dict[str, Any] | None:
    """One process; None when it is gone or a zombie."""
    folder = f"{PROC}/{pid}"
    try:
        stat = _read(f"{folder}/stat")
    except OSError:  # gone meanwhile (or hidden from us)
        return None
    # The name sits in parentheses and may hold spaces and parentheses itself.
    close = stat.rfind(b")")
    name = stat[stat.find(b"(") + 1:close].decode(_ENCODING, _ERRORS)
    fields = stat[close + 2:].split()
    try:
        cmdline = split_cmdline(_read_text(f"{folder}/cmdline"))
        status = _read(f"{folder}/status")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except PermissionError:
        return {"pid": pid, "ppid": None, "name": name, "cmdline": [], "username": None,
                "create_time": None}
    if not cmdline and fields[0] == b"Z":
        return None  # a zombie: it serves nothing
    if len(name) >= NAME_LIMIT and cmdline:
        full = os.path.basename(cmdline[0])
        name = full if full.startswith(name) else name
    uid = status[status.find(b"\nUid:\t") + 6:].split(b"\t", 1)[0]
    return {
        "pid": pid,
        "ppid": int(fields[1]),
        "name": name,
        "cmdline": cmdline,
        "username": _user(int(uid), names),
        "create_time": float(fields[19]) / CLOCK_TICKS + booted,
    }


@fact("processes")
def process_facts(facts: Facts) -> list[dict[str, Any]]:
    booted = boot_time()
    names: dict[int, str] = {}
    found = []
    for pid in sorted(int(entry) for entry in os.listdir(PROC) if entry.isdigit()):
        info = _info(pid, booted, names)
        if info is not None:
            found.append(info)
    return found


def named(processes: list[dict[str, Any]], *prefixes: str) -> list[dict[str, Any]]:
    """Processes whose name or argv[0] starts with one of the prefixes (e.g. 'php-fpm')."""
    def matches(p: dict[str, Any]) -> bool:
        argv0 = (p.get("cmdline") or [""])[0].rsplit("/", 1)[-1]
        return any(str(p.get("name", "")).startswith(x) or argv0.startswith(x) for x in prefixes)

    return [p for p in processes if matches(p)]
