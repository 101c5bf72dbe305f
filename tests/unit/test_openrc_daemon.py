"""The OpenRC start guard (wizard.fixes.openrc_daemon) on recorded OpenRC state.

tests/data/openrc/root holds what Debian's openrc wrote under /run/openrc for two real
services (see the README there), and the status_*.json files what `rc-service status`
answered. Each test copies that root, points its /proc at the real one and writes the pid
of a real process into the service's pid file: this test's own (alive), a child killed
and reaped (dead) or a child killed and not yet reaped (a zombie).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.fixes.helper_argv import helper_module
from wizard.fixes.openrc_daemon import (
    CANNOT_TELL,
    NO,
    USAGE,
    YES,
    _main,
    answer,
    pid_alive,
    recorded_pidfiles,
    running_guard,
)
from wizard.host.commands import CommandResult

DATA = Path(__file__).parent.parent / "data" / "openrc"
SSD, SUPERVISED = "n502-exp1", "n502-exp2"  # the recorded services (see the README)


def status(name: str) -> CommandResult:
    return CommandResult.from_json(json.loads((DATA / f"status_{name}.json").read_text()))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the recorded root whose /proc is this machine's."""
    copy = tmp_path / "root"
    shutil.copytree(DATA / "root", copy)
    (copy / "proc").symlink_to("/proc")
    return copy


def _child() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"])


@pytest.fixture
def zombie() -> Iterator[int]:
    """The pid of a child killed and not reaped yet (as a daemon is until init reaps it)."""
    child = _child()
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    stat = Path(f"/proc/{child.pid}/stat")
    while " Z " not in stat.read_text():
        assert time.monotonic() < deadline, "the killed child did not turn into a zombie"
        time.sleep(0.01)
    yield child.pid
    child.wait(timeout=10)


def killed_pid() -> int:
    child = _child()
    child.kill()
    child.wait(timeout=10)
    return child.pid


def ask(root: Path, service: str, said: CommandResult) -> tuple[int, str]:
    asked: list[list[str]] = []

    def reader(argv: list[str]) -> CommandResult:
        asked.append(argv)
        return said

    result = answer(service, str(root), reader)
    assert asked == [["chroot", str(root), "rc-service", service, "status"]]
    return result


def test_the_recorded_pid_files_are_found(root: Path) -> None:
    # Debian's start-stop-daemon: only openrc-run's options/NAME/pidfile
    assert recorded_pidfiles(str(root), SSD) == [f"/run/{SSD}.pid"]
    # supervise-daemon: options/NAME/pidfile and daemons/NAME/001 `pidfile=`, the same
    assert recorded_pidfiles(str(root), SUPERVISED) == [f"/run/{SUPERVISED}.pid"]
    assert recorded_pidfiles(str(root), "nosuch") == []


def test_started_with_a_live_daemon_is_running(root: Path) -> None:
    (root / f"run/{SSD}.pid").write_text(f"{os.getpid()}\n")
    assert ask(root, SSD, status("started")) == (YES, f"{SSD} is running")


def test_started_with_a_killed_daemon_is_not_running(root: Path) -> None:
    """The bug: rc-service still says started (recorded), the pid file says otherwise."""
    pid = killed_pid()
    (root / f"run/{SSD}.pid").write_text(f"{pid}\n")
    code, why = ask(root, SSD, status("started_daemon_killed"))
    assert code == NO
    assert f"pid {pid} from /run/{SSD}.pid is not running" in why


def test_a_zombie_daemon_is_not_running(root: Path, zombie: int) -> None:
    assert not pid_alive(str(root), zombie)
    (root / f"run/{SUPERVISED}.pid").write_text(str(zombie))
    assert ask(root, SUPERVISED, status("started"))[0] == NO


def test_a_missing_pid_file_is_not_running(root: Path) -> None:
    code, why = ask(root, SSD, status("started"))
    assert code == NO and "missing or holds no pid" in why


def test_started_without_a_recorded_daemon_trusts_openrc(root: Path) -> None:
    # e.g. a service with its own start() and no daemon OpenRC knows of
    assert ask(root, "nosuch-daemon", status("started"))[0] == YES


@pytest.mark.parametrize("name", ["stopped", "unsupervised", "crashed", "missing"])
def test_status_other_than_started_is_not_running(root: Path, name: str) -> None:
    (root / f"run/{SSD}.pid").write_text(f"{os.getpid()}\n")  # never looked at
    code, why = ask(root, SSD, status(name))
    assert code == NO
    assert status(name).output.strip() in why


def test_rc_service_that_cannot_run_cannot_tell(root: Path) -> None:
    missing = CommandResult(["rc-service"], None, error="rc-service is not installed")
    assert ask(root, SSD, missing) == (CANNOT_TELL,
                                      "could not ask rc-service: rc-service is not installed")


def test_the_guard_argv_runs_this_module() -> None:
    argv = running_guard("php-fpm82")
    assert helper_module(argv) == "openrc_daemon"
    assert argv[-2:] == ["running", "php-fpm82"]


@pytest.mark.parametrize("argv", [[], ["running"], ["running", "../etc"], ["stop", "nginx"],
                                  ["running", "nginx", "--root", "relative"],
                                  ["running", "-x"]])
def test_bad_arguments_are_refused(argv: list[str]) -> None:
    assert _main(argv) == USAGE
