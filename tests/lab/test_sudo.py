"""Real sudo with a real user who must type a password.

The test creates a user with a password (useradd, chpasswd) and a sudoers drop-in that
lets it run /usr/bin/true, /usr/bin/id and /usr/bin/sleep as root with its password; all
of it is removed afterwards. The privilege code then runs as that user in a forked child
of this test (setgid/setuid after fork: the test's Python may live where another user
cannot exec it), exactly as the TUI would call it with the password from its masked
input. The password must appear nowhere: not in output, transcript, any process's argv
or environment while sudo runs, nor in what the child printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

# Imported before the fork: the child, as another user, may not read site-packages.
import pexpect.pty_spawn  # noqa: F401
import ptyprocess.ptyprocess  # noqa: F401
import pytest

from tests.lab.harness import wait_for
from tests.support import require
from wizard.engine.transcript import Transcript
from wizard.fixes.apply import apply_fix
from wizard.fixes.privilege import check_access, obtain
from wizard.host.facts import Facts

pytestmark = pytest.mark.root
SLEEP_ARG = "2.345"  # a sleep only this test runs, to find sudo's command in /proc


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30,
                          check=False)


@pytest.fixture
def sudo_user() -> Iterator[tuple[str, str]]:
    require(os.geteuid() == 0, "creating a test user needs root")
    for tool in ("sudo", "useradd", "userdel", "chpasswd", "visudo"):
        require(shutil.which(tool) is not None, f"{tool} is missing (Debian: sudo, passwd)")
    require(os.path.isdir("/etc/sudoers.d"), "sudo has no /etc/sudoers.d here")
    name = f"n502s{uuid.uuid4().hex[:8]}"
    password = "Pw-" + secrets.token_urlsafe(16)
    dropin = Path(f"/etc/sudoers.d/n502-test-{name}")
    made = _run(["useradd", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", name])
    assert made.returncode == 0, made.stderr
    try:
        assert _run(["chpasswd"], f"{name}:{password}\n").returncode == 0
        dropin.write_text(f"{name} ALL=(root) /usr/bin/true, /usr/bin/id, /usr/bin/sleep\n")
        dropin.chmod(0o440)
        checked = _run(["visudo", "-cf", str(dropin)])
        assert checked.returncode == 0, checked.stdout + checked.stderr
        yield name, password
    finally:
        dropin.unlink(missing_ok=True)
        _run(["userdel", "--force", name])
        shutil.rmtree(f"/run/sudo/ts/{name}", ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"/run/sudo/ts/{name}")


class AsUser:
    """Run fn() in a forked child as `user`; its stdout/stderr go to a file we read."""

    def __init__(self, user: str, fn: Callable[[], Any], log: Path) -> None:
        account = pwd.getpwnam(user)
        self.read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns into pytest
            code = 0
            try:
                os.close(self.read_end)
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.setgroups([])
                os.setgid(account.pw_gid)
                os.setuid(account.pw_uid)
                os.environ.update(HOME=account.pw_dir, USER=user, LOGNAME=user)
                os.chdir("/")
                data = json.dumps({"result": fn()}, default=str)
            except BaseException:
                data = json.dumps({"error": traceback.format_exc()})
                code = 1
            with os.fdopen(write_end, "w") as out:
                out.write(data)
            os._exit(code)
        os.close(write_end)

    def result(self) -> Any:
        with os.fdopen(self.read_end) as pipe:
            data = json.loads(pipe.read() or '{"error": "the child wrote nothing"}')
        os.waitpid(self.pid, 0)
        assert "error" not in data, data.get("error")
        return data["result"]


def as_user(user: str, fn: Callable[[], Any], tmp_path: Path) -> tuple[Any, str]:
    log = tmp_path / f"child-{uuid.uuid4().hex[:6]}.log"
    result = AsUser(user, fn, log).result()
    return result, log.read_text(errors="replace")


def test_sudo_n_true_says_a_password_is_needed(sudo_user: tuple[str, str],
                                               tmp_path: Path) -> None:
    name, _ = sudo_user
    mode, _ = as_user(name, lambda: check_access(True).mode, tmp_path)
    assert mode == "password"


def test_the_right_password_runs_commands_as_root(sudo_user: tuple[str, str],
                                                  tmp_path: Path) -> None:
    name, password = sudo_user
    facts = Facts.from_snapshot({"format": 1, "facts": {}})
    plan = {"id": "sudo.test", "needs_root": True, "commands": [["id", "-u"], ["true"]]}

    def child() -> dict[str, Any]:
        lines: list[str] = []
        applied = apply_fix(plan, facts, lines.append, password=password, ask=None)
        transcript = Transcript("t", {}, fixes=[applied]).to_json()
        return {"lines": lines, "applied": asdict(applied), "transcript": transcript}

    got, printed = as_user(name, child, tmp_path)

    applied = got["applied"]
    assert applied["succeeded"], got["lines"]
    assert applied["commands"][0]["argv"] == ["sudo", "id", "-u"]
    assert applied["commands"][0]["stdout"].strip() == "0"  # it really ran as root
    assert got["lines"] == ["$ sudo id -u", "0", "$ sudo true"]
    everything = json.dumps(got) + printed
    assert password not in everything


def test_a_wrong_password_gives_a_clear_reason_and_runs_nothing(
        sudo_user: tuple[str, str], tmp_path: Path) -> None:
    name, password = sudo_user
    wrong = "not-" + password
    facts = Facts.from_snapshot({"format": 1, "facts": {}})
    plan = {"id": "sudo.test", "needs_root": True, "commands": [["id", "-u"]]}

    def child() -> dict[str, Any]:
        lines: list[str] = []
        applied = apply_fix(plan, facts, lines.append, password=wrong, ask=None)
        return {"lines": lines, "applied": asdict(applied)}

    got, printed = as_user(name, child, tmp_path)

    applied = got["applied"]
    assert not applied["succeeded"] and applied["commands"] == []
    assert applied["after"].startswith("not run: sudo did not accept the password")
    assert "  sudo id -u" in got["lines"]  # the command to run by hand
    assert wrong not in json.dumps(got) + printed


def test_a_command_sudoers_does_not_allow_is_named_plainly(sudo_user: tuple[str, str],
                                                           tmp_path: Path) -> None:
    name, password = sudo_user

    def child() -> dict[str, Any]:
        root = obtain(True, password, ask=None)
        result = root.run(["ls", "/"], lambda line: None, 30)
        return {"code": result.returncode, "error": result.error}

    got, _ = as_user(name, child, tmp_path)
    assert got["code"] != 0
    assert got["error"].startswith("this user may not run that command with sudo here")


def _proc_holds(secret: bytes) -> list[str]:
    """Every /proc/PID/cmdline or environ that contains secret."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        for part in ("cmdline", "environ"):
            with contextlib.suppress(OSError):
                if secret in Path(f"/proc/{entry}/{part}").read_bytes():
                    found.append(f"{entry}/{part}")
    return found


def _sleeping() -> bool:
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if entry.isdigit() and Path(f"/proc/{entry}/cmdline").read_bytes() \
                    .split(b"\0")[:2] == [b"/usr/bin/sleep", SLEEP_ARG.encode()]:
                return True
    return False


def test_the_password_is_in_no_argv_or_environment_while_sudo_runs(
        sudo_user: tuple[str, str], tmp_path: Path) -> None:
    name, password = sudo_user

    def child() -> int | None:
        root = obtain(True, password, ask=None)
        return root.run(["/usr/bin/sleep", SLEEP_ARG], lambda line: None, 30).returncode

    child_run = AsUser(name, child, tmp_path / "sleep.log")
    wait_for(_sleeping, 15, "sudo to start the test's sleep")
    holders = _proc_holds(password.encode())

    assert child_run.result() == 0
    assert holders == []
    assert password not in (tmp_path / "sleep.log").read_text(errors="replace")


def test_a_user_sudoers_does_not_know_gets_a_plain_reason(sudo_user: tuple[str, str],
                                                          tmp_path: Path) -> None:
    name, password = sudo_user
    Path(f"/etc/sudoers.d/n502-test-{name}").unlink()  # now the user has no sudo rights

    def child() -> dict[str, Any]:
        root = obtain(True, password, ask=None)
        ok, why = root.verify()
        return {"mode": root.access.mode, "ok": ok, "why": why}

    got, _ = as_user(name, child, tmp_path)
    assert got["mode"] == "password"  # sudo -n cannot tell before the password
    assert not got["ok"]
    assert got["why"].startswith("this user may not run that command with sudo here")
    assert "may not run sudo" in got["why"]
