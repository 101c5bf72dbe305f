"""OpenRC: `rc-service NAME VERB`; `rc-update add NAME default` starts it at boot.

`rc-service NAME status` exits 0 when started, 3 when stopped, 32 when the service
crashed (a daemon OpenRC recorded died) and 64 when its supervise-daemon is gone
("unsupervised"). "Started" is OpenRC's mark, not the daemon: with Debian's openrc a
killed daemon still reads "started", so a start is guarded by the daemon's real process
(wizard.fixes.openrc_daemon) instead."""

from __future__ import annotations

from wizard.fixes.openrc_daemon import down_guard, running_guard
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

    def running_argv(self, service: str) -> list[str]:
        return running_guard(service)

    def start_steps(self, service: str) -> list[list[str]]:
        # A service marked started whose daemon died is not started again by `start`
        # ("has already been started", exit 0, nothing runs), and `restart` fails on
        # Debian: its stop finds no process and stops there. `zap` only resets OpenRC's
        # mark to stopped, then `start` really starts. Both only run while the daemon is
        # not running: a zap of a live daemon would make that start fail ("already
        # running") and leave it unmarked. (Measured: tests/lab/test_fix_openrc_chroot.)
        return [["rc-service", service, "zap"], ["rc-service", service, "start"]]

    def restart_steps(self, service: str) -> list[tuple[list[str], list[str] | None, str]]:
        # `restart` of a dead daemon still marked started fails (its stop finds nothing):
        # a live one is restarted; a dead one is brought back like a start.
        running, now = running_guard(service), f"Is {service} running now?"
        return [(["rc-service", service, "restart"], down_guard(service),
                 f"Is {service} down, so there is nothing to restart?"),
                *[(step, running, now) for step in self.start_steps(service)]]

    def enabled_argv(self, service: str) -> list[str] | None:
        # rc-update keeps a runlevel as a folder of links: the link is the setting itself
        return ["test", "-e", f"/etc/runlevels/{RUNLEVEL}/{service}"]

    def state(self, returncode: int | None, output: str) -> str:
        if "does not exist" in output:
            return UNKNOWN
        return {0: RUNNING, 3: STOPPED, 32: CRASHED, 64: CRASHED}.get(
            returncode if returncode is not None else -1, UNKNOWN)

    def describe_status(self, service: str) -> str:
        return (f"`rc-service {service} status` says started and the daemon in its pid "
                f"file is alive")
