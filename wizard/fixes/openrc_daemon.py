"""Does an OpenRC service's daemon really run? The guard of the OpenRC start steps.

`rc-service NAME status` answers from OpenRC's own marks, and with Debian's openrc it
keeps saying "started" (exit 0) after the daemon was killed: openrc-run starts daemons
with dpkg's start-stop-daemon, which records nothing under /run/openrc/daemons, so
OpenRC's crash check (exit 32) has nothing to look at. What openrc-run.sh does record,
on every OpenRC, is the pid file it started the daemon with, in
/run/openrc/options/NAME/pidfile; OpenRC's own start-stop-daemon and supervise-daemon
also write /run/openrc/daemons/NAME/NNN with a `pidfile=` line (both measured with
Debian's openrc 0.45 in tests/lab/test_fix_openrc_chroot.py; tests/data/openrc).

    python -I -m wizard.fixes.openrc_daemon running|down NAME [--root DIR]

`running` exits 0 when `rc-service NAME status` exits 0 and every pid file OpenRC recorded for
NAME names a live process (none recorded: OpenRC's word is all there is), 1 when not,
2 when rc-service could not be asked; `down` asks the opposite (0 when it does not run,
the guard that skips a restart of a dead daemon, which fails on Debian). It only reads.
`--root DIR` asks about the OpenRC system installed under DIR: its files are read there
and rc-service runs through `chroot DIR` (the lab test points it at a debootstrapped
root).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from wizard.fixes.helper_argv import helper
from wizard.fixes.service_backend import valid_service_name
from wizard.host.commands import CLEAN_ENV, CommandResult, run

STATE_DIR = "/run/openrc"  # OpenRC's RC_SVCDIR on Linux
STATUS_TIMEOUT = 20.0
Reader = Callable[[list[str]], CommandResult]
YES, NO, CANNOT_TELL, USAGE = 0, 1, 2, 64


def running_guard(service: str) -> list[str]:
    """The guard argv: exits 0 exactly when `service`'s daemon really runs."""
    return helper("openrc_daemon", "running", service)


def down_guard(service: str) -> list[str]:
    """The guard argv: exits 0 exactly when `service`'s daemon does not run."""
    return helper("openrc_daemon", "down", service)


def read_live(argv: list[str]) -> CommandResult:
    # as every fix command runs (also when this runs by hand): no caller's variables
    return run(argv, timeout=STATUS_TIMEOUT, env=CLEAN_ENV)


def under(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(65536)
    except OSError:
        return ""


def _names(folder: str) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:  # no daemon recorded (or OpenRC just removed the record)
        return []


def recorded_pidfiles(root: str, service: str) -> list[str]:
    """The pid files OpenRC noted for the daemons it started for `service`. A script's
    own `pidfile=` is not read from its text: it is shell (variables, conf.d), and
    openrc-run records the value it used in options/NAME/pidfile anyway."""
    state = under(root, STATE_DIR)
    found = [_read(os.path.join(state, "options", service, "pidfile")).strip()]
    daemons = os.path.join(state, "daemons", service)
    for name in _names(daemons):
        found += [line[len("pidfile="):].strip()
                  for line in _read(os.path.join(daemons, name)).splitlines()
                  if line.startswith("pidfile=")]
    return list(dict.fromkeys(path for path in found if path.startswith("/")))


def pid_alive(root: str, pid: int) -> bool:
    """A process with this pid exists and is not a zombie (killed, not yet reaped)."""
    stat = _read(under(root, f"/proc/{pid}/stat"))
    fields = stat.rpartition(")")[2].split()  # the name in (...) may hold spaces
    return bool(fields) and fields[0] not in ("Z", "X")


def dead_daemon(root: str, service: str) -> str | None:
    """Why a recorded daemon of `service` is not running, or None when all are alive."""
    for pidfile in recorded_pidfiles(root, service):
        text = _read(under(root, pidfile)).strip()
        if not text.isdigit() or int(text) <= 0:
            return f"its pid file {pidfile} is missing or holds no pid"
        if not pid_alive(root, int(text)):
            return f"pid {text} from {pidfile} is not running"
    return None


def status_argv(service: str, root: str) -> list[str]:
    argv = ["rc-service", service, "status"]
    return argv if root == "/" else ["chroot", root, *argv]


def answer(service: str, root: str = "/", reader: Reader = read_live) -> tuple[int, str]:
    """(exit code, one line saying why) for `running SERVICE`."""
    status = reader(status_argv(service, root))
    said = status.output.splitlines()[-1].strip() if status.output else ""
    if status.returncode is None:
        return CANNOT_TELL, f"could not ask rc-service: {status.error}"
    if status.returncode != 0:
        return NO, f"{service} is not running ({said or f'exit {status.returncode}'})"
    dead = dead_daemon(root, service)
    if dead:
        return NO, f"{service} is marked started, but its daemon is gone: {dead}"
    return YES, f"{service} is running"


def _main(argv: list[str]) -> int:
    root = "/"
    if len(argv) == 4 and argv[2] == "--root" and os.path.isabs(argv[3]):
        argv, root = argv[:2], argv[3]
    if len(argv) != 2 or argv[0] not in ("running", "down") \
            or not valid_service_name(argv[1]):
        print("usage: running|down SERVICE [--root DIR]", file=sys.stderr)
        return USAGE
    code, why = answer(argv[1], root)
    print(why)
    if argv[0] == "down" and code in (YES, NO):
        return NO if code == YES else YES
    return code


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
