"""The OpenRC back-end against real OpenRC: Debian's openrc package in a debootstrapped
root, made once into /var/tmp. OpenRC is not PID 1 there: the test gives the root a /run
of its own (OpenRC's state, marked as booted into the default runlevel, as `openrc`
writes when it boots) and /proc, both unmounted afterwards. The plan's own commands and
guards run through `chroot`, as they would on Alpine or Gentoo; the daemon really starts
and stops. A killed daemon is not shown as crashed (exit 32): with Debian's openrc,
`rc-service status` still says "started" after the daemon was killed and reaped, so here
exit 32 is covered only by the outputs in tests/data/openrc, typed from OpenRC's format.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.rootfs import debootstrap_once
from tests.support import require
from wizard.fixes.service import plan_verb
from wizard.fixes.service_backend import RUNNING, STOPPED
from wizard.fixes.service_openrc import OpenRC

ROOTFS = Path("/var/tmp/n502-wizard-openrc-rootfs")
STATE_DIRS = ("started", "starting", "stopping", "inactive", "wasinactive", "failed",
              "hotplugged", "daemons", "options", "exclusive", "scheduled", "tmp")

pytestmark = pytest.mark.root


class OpenRCRoot:
    """Runs argv inside the root with OpenRC's state in `run_dir` (its /run)."""

    def __init__(self, run_dir: Path, service: str) -> None:
        self.run_dir = run_dir
        self.service = service

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["chroot", str(ROOTFS), *argv], capture_output=True,
                              text=True, timeout=60, check=False)

    def state(self) -> str:
        done = self.run(["rc-service", self.service, "status"])
        return OpenRC().state(done.returncode, done.stdout + done.stderr)


@pytest.fixture
def openrc(tmp_path: Path) -> Iterator[OpenRCRoot]:
    require(os.geteuid() == 0, "chroot and mount namespaces need root")
    for tool in ("debootstrap", "chroot", "mount"):
        require(shutil.which(tool) is not None, f"{tool} is missing (Debian: debootstrap)")
    debootstrap_once(ROOTFS, "openrc", "sbin/rc-service")
    service = f"n502-{uuid.uuid4().hex[:6]}"
    script = ROOTFS / "etc/init.d" / service
    script.write_text("#!/sbin/openrc-run\ndescription=\"nginx-502-wizard test service\"\n"
                      "command=/bin/sleep\ncommand_args=infinity\ncommand_background=true\n"
                      f"pidfile=/run/{service}.pid\n")
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
    box = OpenRCRoot(run_dir, service)
    try:
        for argv, target in ((["mount", "--bind", str(run_dir), str(mounts[0])], mounts[0]),
                             (["mount", "-t", "proc", "proc", str(mounts[1])], mounts[1])):
            assert subprocess.run(argv, timeout=30, check=False).returncode == 0
            mounted.append(target)
        yield box
    finally:
        if mounted:
            box.run(["rc-service", service, "stop"])
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], timeout=30, check=False)
        script.unlink(missing_ok=True)
        (ROOTFS / "etc/runlevels/default" / service).unlink(missing_ok=True)


def test_start_runs_skips_when_running_and_undoes(openrc: OpenRCRoot) -> None:
    plan = plan_verb("start", openrc.service, OpenRC())
    (command,), (guard,) = plan.commands, plan.guards
    assert command == ["rc-service", openrc.service, "start"] and guard is not None
    assert openrc.state() == STOPPED
    assert openrc.run(guard).returncode != 0  # so the command runs
    assert openrc.run(command).returncode == 0
    assert openrc.state() == RUNNING
    pid = int((openrc.run_dir / f"{openrc.service}.pid").read_text())
    assert Path(f"/proc/{pid}").exists(), "the daemon really runs"
    assert openrc.run(guard).returncode == 0  # applying it again skips the command
    (undo,) = plan.undo
    assert openrc.run(undo).returncode == 0
    assert openrc.state() == STOPPED


def test_enable_adds_it_to_the_default_runlevel(openrc: OpenRCRoot) -> None:
    plan = plan_verb("enable", openrc.service, OpenRC())
    for command, guard in zip(plan.commands, plan.guards, strict=True):
        if guard is None or openrc.run(guard).returncode != 0:
            assert openrc.run(command).returncode == 0, command
    link = ROOTFS / "etc/runlevels/default" / openrc.service
    assert link.is_symlink()  # to /etc/init.d/NAME inside the root
    assert openrc.state() == RUNNING
    for guard in plan.guards:  # a second run would skip every step
        assert guard is not None and openrc.run(guard).returncode == 0
    for undo in plan.undo:
        assert openrc.run(undo).returncode == 0
    assert not link.is_symlink()
