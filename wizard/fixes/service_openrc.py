"""OpenRC: `rc-service NAME VERB`; `rc-update add NAME default` starts it at boot.

`rc-service NAME status` exits 0 when started, 3 when stopped and 32 when the service
crashed (its daemon died without OpenRC stopping it)."""

from __future__ import annotations

from wizard.fixes.service_backend import CRASHED, RUNNING, STOPPED, UNKNOWN, ServiceManager

RUNLEVEL = "default"


class OpenRC(ServiceManager):
    name = "openrc"

    def verb(self, verb: str, service: str) -> list[list[str]]:
        if verb == "enable":
            return [["rc-update", "add", service, RUNLEVEL]]
        if verb == "disable":
            return [["rc-update", "del", service, RUNLEVEL]]
        return [["rc-service", service, verb]]

    def status_argv(self, service: str) -> list[str]:
        return ["rc-service", service, "status"]

    def enabled_argv(self, service: str) -> list[str] | None:
        # rc-update keeps a runlevel as a folder of links: the link is the setting itself
        return ["test", "-e", f"/etc/runlevels/{RUNLEVEL}/{service}"]

    def state(self, returncode: int | None, output: str) -> str:
        if "does not exist" in output:
            return UNKNOWN
        return {0: RUNNING, 3: STOPPED, 32: CRASHED}.get(
            returncode if returncode is not None else -1, UNKNOWN)
