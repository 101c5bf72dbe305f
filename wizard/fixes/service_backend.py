"""One small interface for the service managers (systemd, sysvinit `service`, OpenRC).

A back-end only *spells* commands and *reads* their answers; it never runs anything
itself, so plans stay pure and the spelling is tested against recorded outputs.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

RUNNING, STOPPED, CRASHED, UNKNOWN = "running", "stopped", "crashed", "unknown"
VERBS = ("start", "stop", "restart", "reload", "enable", "disable")
# Unit / init script names: letters, digits and the punctuation systemd allows. A name
# that starts with "-" would be read as an option by the tool, so it is refused.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:+-]{0,200}$")


def valid_service_name(name: str) -> bool:
    return bool(_NAME.match(name))


class ServiceManager(ABC):
    name: str = ""

    @abstractmethod
    def verb(self, verb: str, service: str) -> list[list[str]]:
        """The commands that perform `verb` (one of VERBS) on `service`."""

    @abstractmethod
    def status_argv(self, service: str) -> list[str]:
        """A command whose exit code is 0 exactly when the service is running."""

    @abstractmethod
    def state(self, returncode: int | None, output: str) -> str:
        """RUNNING / STOPPED / CRASHED / UNKNOWN from the status command's answer."""

    def running_argv(self, service: str) -> list[str]:
        """The guard of every start step: exits 0 exactly when the service's process
        really runs. The status command, unless the manager's status can be wrong."""
        return self.status_argv(service)

    def start_steps(self, service: str) -> list[list[str]]:
        """The commands that bring the service up, each run only while `running_argv`
        says it does not run (a step may be unsafe on a running service)."""
        return self.verb("start", service)

    def restart_steps(self, service: str) -> list[tuple[list[str], list[str] | None, str]]:
        """(command, guard, what the guard asks) that restart the service, whatever state
        it is in; a guard that exits 0 skips its command."""
        return [(command, None, "") for command in self.verb("restart", service)]

    def enabled_argv(self, service: str) -> list[str] | None:
        """A command that exits 0 when the service already starts at boot (None: no
        reliable test, so `enable` always runs; it is idempotent anyway)."""
        return None

    def describe_status(self, service: str) -> str:
        return f"`{' '.join(self.status_argv(service))}` says it is running"
