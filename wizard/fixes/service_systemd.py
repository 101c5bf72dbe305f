"""systemd: `systemctl VERB UNIT`; running means `systemctl is-active` prints "active"."""

from __future__ import annotations

from wizard.fixes.service_backend import CRASHED, RUNNING, STOPPED, UNKNOWN, ServiceManager

# `systemctl is-active` prints one of these words (exit 0 only for active/reloading).
_WORDS = {"active": RUNNING, "reloading": RUNNING, "activating": RUNNING,
          "inactive": STOPPED, "deactivating": STOPPED, "failed": CRASHED}


class Systemd(ServiceManager):
    name = "systemd"

    def verb(self, verb: str, service: str) -> list[list[str]]:
        return [["systemctl", verb, service]]

    def status_argv(self, service: str) -> list[str]:
        return ["systemctl", "is-active", "--quiet", service]

    def enabled_argv(self, service: str) -> list[str] | None:
        return ["systemctl", "is-enabled", "--quiet", service]

    def state(self, returncode: int | None, output: str) -> str:
        words = output.split()
        # without --quiet the first line is the state word; with it only the code speaks
        if words and words[0] in _WORDS:
            return _WORDS[words[0]]
        if returncode == 0:
            return RUNNING
        # exit 3 is "not active" (LSB), anything else (e.g. 1 "not booted with systemd")
        # tells us nothing about the unit
        return STOPPED if returncode == 3 else UNKNOWN

    def describe_status(self, service: str) -> str:
        return f"`systemctl is-active {service}` prints active"
