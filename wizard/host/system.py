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


OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")


def distribution() -> distro.LinuxDistribution:
    """What os-release says, which every current distro ships. distro's default also runs
    `lsb_release -a` (a Python program: tens of milliseconds, ahead of everything that
    waits for this fact) and `uname`; they are asked only on a host without os-release."""
    legacy = not any(os.path.isfile(path) for path in OS_RELEASE)
    return distro.LinuxDistribution(include_lsb=legacy, include_uname=legacy)


@fact("system")
def system_facts(facts: Facts) -> dict[str, Any]:
    found = distribution()
    like = found.like().split()
    layout = layout_for(found.id(), like)  # the table of families: distro_layouts.py
    family = layout.family if layout else (found.id() if not like else like[0])
    return {
        "distro": found.id() or "unknown",
        "distro_version": found.version() or "",
        "distro_name": found.name(pretty=True) or "",
        "family": family or "unknown",
        "service_manager": detect_service_manager(),
        "hostname": socket.gethostname(),
        "uid": os.geteuid(),
        "is_root": os.geteuid() == 0,
        "sudo": which("sudo"),
    }
