"""SysV init scripts through `service NAME VERB`; boot links with `update-rc.d` (Debian).

The LSB status codes: 0 running, 1/2 dead with a pid/lock file left (crashed), 3 stopped,
4 unknown (also "unrecognized service" from `service`, which exits 1 with that text)."""

from __future__ import annotations

from wizard.fixes.service_backend import CRASHED, RUNNING, STOPPED, UNKNOWN, ServiceManager


class SysVInit(ServiceManager):
    name = "sysvinit"

    def verb(self, verb: str, service: str) -> list[list[str]]:
        if verb == "enable":  # `defaults` makes the links if missing, `enable` turns them on
            return [["update-rc.d", service, "defaults"], ["update-rc.d", service, "enable"]]
        if verb == "disable":
            return [["update-rc.d", service, "disable"]]
        return [["service", service, verb]]

    def status_argv(self, service: str) -> list[str]:
        return ["service", service, "status"]

    def state(self, returncode: int | None, output: str) -> str:
        if "unrecognized service" in output:
            return UNKNOWN
        return {0: RUNNING, 1: CRASHED, 2: CRASHED, 3: STOPPED}.get(
            returncode if returncode is not None else -1, UNKNOWN)
