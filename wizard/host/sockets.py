"""Fact `listening`: every listening TCP socket (and unix stream socket) with the process
and service that holds it.

Shape:
  {"tcp": [{"address": "127.0.0.1", "port": 80, "family": "ipv4|ipv6", "pid": 123|null,
            "process": "nginx"|null, "username": "root"|null, "unit": "nginx.service"|null}],
   "unix": [{"path": "/run/php/php8.2-fpm.sock", "pid": ..., "process": ..., "unit": ...}],
   "pids_hidden": false,
   "note": null | "plain sentence (e.g. without root the holders of other users' sockets
                   are hidden)"}
"""

from __future__ import annotations

import os
import socket
from typing import Any

import psutil

from wizard.host.facts import Facts, FactUnavailable, fact


def unit_of(pid: int | None) -> str | None:
    """The systemd service a process belongs to, from /proc/PID/cgroup (v1 or v2).

    '0::/system.slice/nginx.service' -> 'nginx.service'. Processes started by hand in a
    login session live in a *.scope and have no service: None."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="replace") as handle:
            text = handle.read(64 * 1024)
    except OSError:
        return None
    return unit_from_cgroup(text)


def unit_from_cgroup(text: str) -> str | None:
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        for part in reversed(path.split("/")):
            if part.endswith(".service"):
                return part
    return None


def _process(pid: int | None, cache: dict[int, tuple[str | None, str | None]],
             ) -> tuple[str | None, str | None]:
    if not pid:
        return None, None
    if pid not in cache:
        try:
            proc = psutil.Process(pid)
            cache[pid] = (proc.name(), proc.username())
        except psutil.AccessDenied:
            cache[pid] = (None, None)
        except psutil.Error:
            cache[pid] = (None, None)
    return cache[pid]


def _connections(kind: str) -> list[Any]:
    try:
        return list(psutil.net_connections(kind=kind))
    except psutil.AccessDenied as exc:  # some platforms refuse the whole table to non-root
        raise FactUnavailable("listing sockets needs root on this system") from exc
    except OSError as exc:
        raise FactUnavailable(f"could not list sockets: {exc.strerror or exc}") from exc


@fact("listening")
def listening_facts(facts: Facts) -> dict[str, Any]:
    names: dict[int, tuple[str | None, str | None]] = {}
    tcp: list[dict[str, Any]] = []
    seen: set[tuple[str, int, int | None]] = set()
    for conn in _connections("tcp"):
        if conn.status != psutil.CONN_LISTEN or not conn.laddr:
            continue
        address, port = conn.laddr[0], conn.laddr[1]
        key = (address, port, conn.pid)
        if key in seen:  # nginx workers share the master's socket: one entry per holder
            continue
        seen.add(key)
        name, user = _process(conn.pid, names)
        tcp.append({
            "address": address, "port": port,
            "family": "ipv6" if conn.family == socket.AF_INET6 else "ipv4",
            "pid": conn.pid, "process": name, "username": user, "unit": unit_of(conn.pid),
        })
    unix: list[dict[str, Any]] = []
    for conn in _connections("unix"):
        path = conn.laddr if isinstance(conn.laddr, str) else ""
        if not path or conn.status not in (psutil.CONN_LISTEN, psutil.CONN_NONE):
            continue
        if conn.type != socket.SOCK_STREAM or any(u["path"] == path and u["pid"] == conn.pid
                                                  for u in unix):
            continue
        name, user = _process(conn.pid, names)
        unix.append({"path": path, "pid": conn.pid, "process": name, "username": user,
                     "unit": unit_of(conn.pid)})
    tcp.sort(key=lambda s: (s["port"], s["address"], s["pid"] or 0))
    hidden = any(s["pid"] is None for s in tcp)
    note = None
    if hidden and os.geteuid() != 0:
        note = ("without root, the process holding another user's socket is hidden; "
                "run as root to see every holder")
    elif hidden:
        note = "some sockets belong to processes outside this system's view (another container)"
    return {"tcp": tcp, "unix": unix, "pids_hidden": hidden, "note": note}
