"""Changes of kind `disk_full`: a file system nginx or PHP-FPM writes to that is (nearly)
full now. The `resources` fact already measured /, /var/log, /tmp, /run and the folders
of the sockets, logs and pid files; only /var and nginx's usual temp folders are added.
A full disk has no time of its own, so the entry is stamped now."""

from __future__ import annotations

import os
from typing import Any

from wizard.host.changes_window import Window, change
from wizard.host.facts import Facts
from wizard.host.nginx_part import config_part

EXTRA_PATHS = ("/var", "/var/lib/nginx", "/var/cache/nginx", "/var/lib/nginx/tmp")
NGINX_TEMP = ("client_body_temp", "proxy_temp", "fastcgi_temp")  # under a source build's prefix
MIN_FREE_BYTES = 100 * 1024 * 1024
MIN_FREE_SHARE = 0.02


def measure(path: str) -> dict[str, Any] | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return {"path": path, "total": st.f_blocks * st.f_frsize, "free": st.f_bavail * st.f_frsize,
            "inodes_total": st.f_files, "inodes_free": st.f_favail}


def _device(path: str) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def human(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def shortage(disk: dict[str, Any]) -> str | None:
    """Words for what is running out on this file system, or None."""
    total, free = disk.get("total") or 0, disk.get("free") or 0
    if total and (free < MIN_FREE_BYTES or free / total < MIN_FREE_SHARE):
        return f"{disk['path']} is nearly full: {human(free)} free of {human(total)}"
    inodes, inodes_free = disk.get("inodes_total") or 0, disk.get("inodes_free") or 0
    if inodes and inodes_free / inodes < MIN_FREE_SHARE:
        return (f"{disk['path']} has almost no free inodes left ({inodes_free} of {inodes}), "
                "so no new file can be created there")
    return None


def _paths(facts: Facts) -> list[str]:
    nginx = config_part(facts) or {}
    prefix = nginx.get("prefix")
    extra = list(EXTRA_PATHS)
    if prefix:
        extra += [os.path.join(prefix, name) for name in NGINX_TEMP]
    return [p for p in extra if os.path.isdir(p)]


def collect(facts: Facts, window: Window) -> tuple[list[dict[str, Any]], list[str]]:
    resources = facts.try_get("resources") or {}
    disks = list(resources.get("disks") or [])
    known = {d.get("path") for d in disks}
    disks += [d for d in map(measure, (p for p in _paths(facts) if p not in known)) if d]
    entries, devices = [], set()
    for disk in disks:
        device = _device(disk["path"])
        if device is not None and device in devices:
            continue  # one file system, named once
        devices.add(device)
        words = shortage(disk)
        if words:
            entries.append(change(window.now, "statvfs", "disk_full", words, "disk",
                                  path=disk["path"], free=disk.get("free"),
                                  total=disk.get("total")))
    return entries, []
