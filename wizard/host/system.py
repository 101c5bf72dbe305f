"""Facts `system`: distro, service manager, who we run as, and whether sudo is there."""

from __future__ import annotations

import os
import socket
from typing import Any

import distro

from wizard.host.commands import which
from wizard.host.distro_layouts import layout_for
from wizard.host.facts import Facts, fact


def detect_service_manager() -> str:
    # systemd's own test (sd_booted): this folder exists only when systemd is PID 1.
    if os.path.isdir("/run/systemd/system"):
        return "systemd"
    if os.path.isdir("/run/openrc") or which("openrc-run"):
        return "openrc"
    if which("service") or os.path.isdir("/etc/init.d"):
        return "sysvinit"
    return "none"


@fact("system")
def system_facts(facts: Facts) -> dict[str, Any]:
    like = distro.like().split()
    layout = layout_for(distro.id(), like)  # the table of families: distro_layouts.py
    family = layout.family if layout else (distro.id() if not like else like[0])
    return {
        "distro": distro.id() or "unknown",
        "distro_version": distro.version() or "",
        "distro_name": distro.name(pretty=True) or "",
        "family": family or "unknown",
        "service_manager": detect_service_manager(),
        "hostname": socket.gethostname(),
        "uid": os.geteuid(),
        "is_root": os.geteuid() == 0,
        "sudo": which("sudo"),
    }
