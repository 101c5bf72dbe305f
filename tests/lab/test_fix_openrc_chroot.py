"""The OpenRC back-end against real OpenRC: Debian's openrc package in a debootstrapped
root, made once into /var/tmp. OpenRC is not PID 1 there: the test gives the root a /run
of its own (OpenRC's state, marked as booted into the default runlevel, as `openrc`
writes when it boots) and /proc, both unmounted afterwards, after every process of the
test service (found by the RC_SVCNAME OpenRC hands it) is stopped or killed. The daemon
really starts, dies and starts again.

Fixes are applied through the wizard's own code path, `apply_fix`, with each argv of the
plan run in the root: commands, undo and the other guards through `chroot`, as they
would on Alpine or Gentoo. The start guard is our helper module
(wizard.fixes.openrc_daemon), and the root has no Python and no wizard: mounting the
interpreter in would shadow the root's own /usr whenever it is Debian's /usr/bin/python3
(a venv made by tests/install-deps on Debian). So that one guard runs from the host with
`--root ROOTFS`: it reads the root's /run (the fixture's mount) and /proc (a chroot
shares the host's pids), and asks `chroot ROOTFS rc-service`; all else is as on a host.

What the killed-daemon test shows: with Debian's openrc, `rc-service status` still says
"started" (exit 0) after the daemon was killed and reaped, because openrc-run starts it
with dpkg's start-stop-daemon, which records no daemon for OpenRC's crash check (so exit
32 is only in tests/data/openrc, typed by hand); under supervise-daemon a killed
supervisor reads "unsupervised" (exit 64). Either way `start` alone would do nothing
("already been started"); the plan's zap + start brings the daemon back, and applying it
again, or to a daemon that runs, runs nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.rootfs import debootstrap_once
from tests.support import require
from wizard.fixes import load_all
from wizard.fixes.apply import apply_fix
from wizard.fixes.helper_argv import helper_module
from wizard.fixes.result import AppliedFix
from wizard.fixes.service_backend import CRASHED, RUNNING, STOPPED
from wizard.fixes.service_openrc import OpenRC
from wizard.host.facts import Facts

ROOTFS = Path("/var/tmp/n502-wizard-openrc-rootfs")
STATE_DIRS = ("started", "starting", "stopping", "inactive", "wasinactive", "failed",
              "hotplugged", "daemons", "options", "exclusive", "scheduled", "tmp")
SUPERVISORS = {  # how the test service's script starts its daemon
    "start-stop-daemon": "command_background=true\n",  # Debian's: dpkg's s-s-d
    "supervise-daemon": "supervisor=supervise-daemon\n",  # OpenRC's own supervisor
}
GONE_DEADLINE = 30.0  # for a killed process to be reaped by init
POLL = 0.05  # poll interval of a wait with a deadline

pytestmark = pytest.mark.root


def in_root(argv: list[str]) -> list[str]:
    """argv as run against the root: our helper from the host (see the docstring), the
    rest through chroot."""
    if helper_module(argv) == "openrc_daemon":
        return [*argv, "--root", str(ROOTFS)]
    return ["chroot", str(ROOTFS), *argv]


def plan_in_root(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with every argv (commands, guards, undo) run against the root."""
    return {**plan, "commands": [in_root(argv) for argv in plan["commands"]],
            "guards": [in_root(argv) if argv else None for argv in plan["guards"]],
            "undo": [in_root(argv) for argv in plan["undo"]]}


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GONE_DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"not within {GONE_DEADLINE:g}s: {what}"
        time.sleep(POLL)


class OpenRCRoot:
    """Runs argv inside the root with OpenRC's state in `run_dir` (its /run)."""

    def __init__(self, run_dir: Path, service: str, supervisor: str) -> None:
        self.run_dir = run_dir
        self.service = service
        self.supervisor = supervisor
        self.facts = Facts.from_snapshot({"format": 1, "errors": {},
                                          "facts": {"system": {"service_manager": "openrc"}}})

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(in_root(argv), capture_output=True, text=True, timeout=60,
                              check=False)

    def status(self) -> subprocess.CompletedProcess[str]:
        return self.run(["rc-service", self.service, "status"])

    def state(self) -> str:
        done = self.status()
        return OpenRC().state(done.returncode, done.stdout + done.stderr)

    def plan(self, verb: str) -> dict[str, Any]:
        """The fix action's own plan, as the wizard makes it for this host."""
        made = load_all()[f"service.{verb}"].plan({"service": self.service}, self.facts)
        return made.to_json()

    def apply(self, verb: str) -> tuple[AppliedFix, list[str]]:
        lines: list[str] = []
        applied = apply_fix(plan_in_root(self.plan(verb)), self.facts, lines.append, ask=None)
        return applied, lines

    def pid(self) -> int:
        """The pid in the service's pid file (the supervisor's, under supervise-daemon)."""
        return int((self.run_dir / f"{self.service}.pid").read_text())

    def daemon_pids(self) -> list[int]:
        """Every process of this service: OpenRC passes RC_SVCNAME on to them."""
        mark = f"RC_SVCNAME={self.service}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if (entry.name.isdigit() and os.readlink(entry / "root") == str(ROOTFS)
                        and mark in (entry / "environ").read_bytes().split(b"\0")):
                    found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
        return found

    def start(self) -> int:
        started = self.run(["rc-service", self.service, "start"])
        assert started.returncode == 0, started.stdout + started.stderr
        # rc-service returns once the pid file is written; the daemon's /proc entry may
        # not show the service's environment until it has exec'd.
        wait_until(lambda: bool(self.daemon_pids()), "the daemon to show in /proc")
        return self.pid()


@pytest.fixture(params=["start-stop-daemon"])
def openrc(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenRCRoot]:
    require(os.geteuid() == 0, "chroot and mount namespaces need root")
    for tool in ("debootstrap", "chroot", "mount"):
        require(shutil.which(tool) is not None, f"{tool} is missing (Debian: debootstrap)")
    debootstrap_once(ROOTFS, "openrc", "sbin/rc-service")
    service = f"n502-{uuid.uuid4().hex[:6]}"
    script = ROOTFS / "etc/init.d" / service
    script.write_text("#!/sbin/openrc-run\ndescription=\"nginx-502-wizard test service\"\n"
                      "command=/bin/sleep\ncommand_args=infinity\n"
                      f"{SUPERVISORS[request.param]}pidfile=/run/{service}.pid\n")
    script.chmod(0o755)
    (ROOTFS / "etc/insserv.conf").touch()  # Debian's openrc reads it for dependencies
    run_dir = tmp_path / "run"
    for name in STATE_DIRS:
        (run_dir / "openrc" / name).mkdir(parents=True)
    (run_dir / "openrc" / "softlevel").write_text("default\n")
    # One set of mounts for the whole test, so the daemon and every later command see
    # the same files (its /proc/PID/exe must resolve to the root's /bin/sleep).
    mounts = [ROOTFS / "run", ROOTFS / "proc"]
    mounted: list[Path] = []
    box = OpenRCRoot(run_dir, service, request.param)
    try:
        for argv, target in ((["mount", "--bind", str(run_dir), str(mounts[0])], mounts[0]),
                             (["mount", "-t", "proc", "proc", str(mounts[1])], mounts[1])):
            assert subprocess.run(argv, timeout=30, check=False).returncode == 0
            mounted.append(target)
        yield box
    finally:
        if mounted:
            box.run(["rc-service", service, "stop"])
            # whatever a failed test left running (e.g. a daemon OpenRC marks stopped)
            for pid in box.daemon_pids():
                os.kill(pid, signal.SIGKILL)
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], timeout=30, check=False)
        script.unlink(missing_ok=True)
        (ROOTFS / "etc/runlevels/default" / service).unlink(missing_ok=True)


def commands_run(applied: AppliedFix) -> list[list[str]]:
    """The plan's commands that really ran (not skipped by their guard)."""
    return [r["argv"][2:] for r in applied.commands if r["role"] == "command"]


def test_start_runs_skips_when_running_and_undoes(openrc: OpenRCRoot) -> None:
    assert openrc.state() == STOPPED
    applied, lines = openrc.apply("start")
    assert applied.succeeded, "\n".join(lines)
    service = openrc.service
    # zap on a stopped service only says "resetting to stopped state"
    assert commands_run(applied) == [["rc-service", service, "zap"],
                                     ["rc-service", service, "start"]]
    assert openrc.state() == RUNNING
    assert alive(openrc.pid()), "the daemon really runs"
    again, _ = openrc.apply("start")  # applying it again runs nothing
    assert again.succeeded and commands_run(again) == []
    (undo,) = openrc.plan("start")["undo"]
    assert openrc.run(undo).returncode == 0
    assert openrc.state() == STOPPED


@pytest.mark.parametrize(("openrc", "status"), [
    # Debian: OpenRC never notices; still "started", exit 0
    ("start-stop-daemon", (0, RUNNING)),
    # the supervisor OpenRC recorded is gone: "unsupervised", exit 64
    ("supervise-daemon", (64, CRASHED)),
], indirect=["openrc"])
def test_a_killed_daemon_is_started_again(openrc: OpenRCRoot, status: tuple[int, str]) -> None:
    killed = openrc.start()
    # the pid file's process first: a supervisor left alive would respawn its daemon
    for pid in [killed, *openrc.daemon_pids()]:
        os.kill(pid, signal.SIGKILL)
    # reaped by init, as a crashed daemon is: a zombie would still count for OpenRC's
    # supervise-daemon, which refuses to start over one
    wait_until(lambda: not openrc.daemon_pids() and not Path(f"/proc/{killed}").exists(),
               f"the killed daemon {killed} is gone")
    said = openrc.status()
    assert (said.returncode, openrc.state()) == status, said.stdout + said.stderr
    stuck = openrc.run(["rc-service", openrc.service, "start"])  # why start is not enough
    assert "already been started" in stuck.stdout + stuck.stderr
    assert not openrc.daemon_pids()

    applied, lines = openrc.apply("start")
    revived = openrc.pid()
    assert revived != killed and alive(revived), "no daemon again:\n" + "\n".join(lines)
    assert revived in openrc.daemon_pids(), "in the root, as this service's"
    assert applied.succeeded, "\n".join(lines)
    assert f"Is {openrc.service} already running? no, so:" in lines
    assert [argv[-1] for argv in commands_run(applied)] == ["zap", "start"]
    assert openrc.state() == RUNNING

    again, lines = openrc.apply("start")
    assert again.succeeded and commands_run(again) == [], "\n".join(lines)
    skipped = f"Is {openrc.service} already running? yes, so this is skipped: "
    assert len([line for line in lines if line.startswith(skipped)]) == 2, "\n".join(lines)
    assert openrc.pid() == revived


def test_a_running_daemon_is_not_restarted(openrc: OpenRCRoot) -> None:
    pid = openrc.start()
    before = sorted(openrc.daemon_pids())
    applied, lines = openrc.apply("start")
    assert applied.succeeded, "\n".join(lines)
    assert commands_run(applied) == [], "\n".join(lines)  # neither zap nor start ran
    assert openrc.pid() == pid and alive(pid)
    assert sorted(openrc.daemon_pids()) == before
    assert openrc.state() == RUNNING


def test_enable_adds_it_to_the_default_runlevel(openrc: OpenRCRoot) -> None:
    applied, lines = openrc.apply("enable")
    assert applied.succeeded, "\n".join(lines)
    link = ROOTFS / "etc/runlevels/default" / openrc.service
    assert link.is_symlink()  # to /etc/init.d/NAME inside the root
    assert openrc.state() == RUNNING
    for guard in openrc.plan("enable")["guards"]:  # a second run would skip every step
        assert guard is not None and openrc.run(guard).returncode == 0
    for undo in openrc.plan("enable")["undo"]:
        assert openrc.run(undo).returncode == 0
    assert not link.is_symlink()


def test_restart_restarts_a_live_daemon_and_revives_a_dead_one(openrc: OpenRCRoot) -> None:
    first = openrc.start()
    applied, lines = openrc.apply("restart")
    assert applied.succeeded, "\n".join(lines)
    assert [argv[-1] for argv in commands_run(applied)] == ["restart"], "\n".join(lines)
    wait_until(lambda: openrc.pid() != first and alive(openrc.pid()), "a restarted daemon")

    dead = openrc.pid()
    for pid in [dead, *openrc.daemon_pids()]:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not openrc.daemon_pids() and not Path(f"/proc/{dead}").exists(),
               f"the killed daemon {dead} is gone")
    # Debian's `rc-service restart` fails here: its stop finds no process
    assert openrc.run(["rc-service", openrc.service, "restart"]).returncode != 0
    applied, lines = openrc.apply("restart")
    assert applied.succeeded, "\n".join(lines)
    assert [argv[-1] for argv in commands_run(applied)] == ["zap", "start"], "\n".join(lines)
    assert f"Is {openrc.service} down, so there is nothing to restart? yes, so this is " \
           "skipped: " in "\n".join(lines)
    assert alive(openrc.pid()) and openrc.pid() != dead
