"""The systemd back-end against a real systemd: a minimal Debian, debootstrapped once
into /var/tmp and booted with `systemd-nspawn -b`, so systemd is PID 1 in there. The
plan's own commands and guards run inside it through `nsenter`, exactly as they would on
a host booted with systemd.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.rootfs import debootstrap_once
from tests.support import require
from wizard.compat import zip_strict
from wizard.fixes.service import plan_verb
from wizard.fixes.service_backend import RUNNING, STOPPED
from wizard.fixes.service_systemd import Systemd

ROOTFS = Path("/var/tmp/n502-wizard-debian-rootfs")
UNIT = "n502-demo"
BOOT_DEADLINE = 90.0
POLL = 0.1  # poll interval of a wait with a deadline

pytestmark = pytest.mark.root


def _descendant_named(pid: int, comm: str) -> int | None:
    """The first process below `pid` called `comm` (nspawn forks a helper before init)."""
    todo = [pid]
    while todo:
        parent = todo.pop(0)
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            try:
                if Path(f"/proc/{child}/comm").read_text().strip() == comm:
                    return child
            except OSError:
                continue
            todo.append(child)
    return None


class Machine:
    """A booted container: run argv inside it with its systemd as PID 1."""

    def __init__(self, nspawn: subprocess.Popen[bytes]) -> None:
        self.nspawn = nspawn
        self.pid = self._wait_for_init()

    def _wait_for_init(self) -> int:
        deadline = time.monotonic() + BOOT_DEADLINE
        while time.monotonic() < deadline:
            assert self.nspawn.poll() is None, "systemd-nspawn ended before booting"
            found = _descendant_named(self.nspawn.pid, "systemd")
            if found is not None:
                return found
            time.sleep(POLL)
        raise AssertionError("the container's systemd did not start")

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["nsenter", "-t", str(self.pid), "-a", *argv],
                              capture_output=True, text=True, timeout=60, check=False)

    def wait_running(self) -> None:
        """Until systemd says it has booted (its bus may not be up yet at first)."""
        deadline = time.monotonic() + BOOT_DEADLINE
        while True:
            done = self.run(["systemctl", "is-system-running", "--wait"])
            if done.stdout.strip() in ("running", "degraded"):
                return
            assert time.monotonic() < deadline, done.stdout + done.stderr
            time.sleep(POLL)

    def power_off(self) -> None:
        with_deadline = time.monotonic() + 30
        os.kill(self.pid, signal.SIGRTMIN + 4)  # systemd's "power off" signal
        while self.nspawn.poll() is None and time.monotonic() < with_deadline:
            time.sleep(POLL)
        if self.nspawn.poll() is None:
            self.nspawn.kill()
            self.nspawn.wait(10)


@pytest.fixture(scope="module")
def machine() -> Iterator[Machine]:
    require(os.geteuid() == 0, "booting a container needs root")
    for tool in ("systemd-nspawn", "debootstrap", "nsenter"):
        require(shutil.which(tool) is not None,
                f"{tool} is missing (Debian: systemd-container, debootstrap, util-linux)")
    debootstrap_once(ROOTFS, "systemd,dbus", "usr/lib/systemd/systemd")
    unit = ROOTFS / "etc/systemd/system" / f"{UNIT}.service"
    unit.write_text("[Unit]\nDescription=nginx-502-wizard test service\n\n"
                    "[Service]\nExecStart=/bin/sleep infinity\n\n"
                    "[Install]\nWantedBy=multi-user.target\n")
    # --register=no and --keep-unit: this host has no systemd of its own to register with.
    nspawn = subprocess.Popen(
        ["systemd-nspawn", "-D", str(ROOTFS), "-b", "-M", f"n502-{uuid.uuid4().hex[:6]}",
         "--register=no", "--keep-unit", "--console=pipe"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    box = Machine(nspawn)
    try:
        box.wait_running()
        yield box
    finally:
        box.power_off()


def state(machine: Machine, argv: list[str]) -> str:
    done = machine.run(argv)
    return Systemd().state(done.returncode, done.stdout)


def test_start_runs_skips_when_running_and_undoes(machine: Machine) -> None:
    plan = plan_verb("start", UNIT, Systemd())
    (command,), (guard,) = plan.commands, plan.guards
    assert command == ["systemctl", "start", UNIT] and guard is not None
    assert state(machine, guard) == STOPPED
    assert machine.run(guard).returncode != 0  # so the command runs
    assert machine.run(command).returncode == 0
    assert state(machine, ["systemctl", "is-active", UNIT]) == RUNNING
    assert machine.run(guard).returncode == 0  # applying it again skips the command
    (undo,) = plan.undo
    assert machine.run(undo).returncode == 0
    assert state(machine, ["systemctl", "is-active", UNIT]) == STOPPED


def test_enable_sets_boot_start_and_starts_now(machine: Machine) -> None:
    plan = plan_verb("enable", UNIT, Systemd())
    for command, guard in zip_strict(plan.commands, plan.guards):
        if guard is None or machine.run(guard).returncode != 0:
            assert machine.run(command).returncode == 0, command
    assert machine.run(["systemctl", "is-enabled", UNIT]).stdout.strip() == "enabled"
    assert state(machine, ["systemctl", "is-active", UNIT]) == RUNNING
    for guard in plan.guards:  # a second run would skip every step
        assert guard is not None and machine.run(guard).returncode == 0
    for undo in plan.undo:
        assert machine.run(undo).returncode == 0
    assert machine.run(["systemctl", "is-enabled", UNIT]).stdout.strip() == "disabled"
    machine.run(["systemctl", "stop", UNIT])


def test_a_failed_unit_reads_as_crashed_not_stopped(machine: Machine) -> None:
    broken = ROOTFS / "etc/systemd/system/n502-broken.service"
    broken.write_text("[Service]\nExecStart=/bin/false\n")
    machine.run(["systemctl", "daemon-reload"])
    machine.run(["systemctl", "start", "n502-broken"])
    done = machine.run(["systemctl", "is-active", "n502-broken"])
    assert (done.stdout.strip(), done.returncode) == ("failed", 3)
    assert Systemd().state(done.returncode, done.stdout) == "crashed"
