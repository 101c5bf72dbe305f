"""Issue 5's promise, end to end on Debian's own services: PHP-FPM is stopped, the site
answers 502, and a person at an 80x24 terminal finds the cause and fixes it with `f`, `y`.

This drives the real `service` scripts of Debian's nginx and php8.2-fpm packages (no
systemd here), with a site of the test's own on 127.0.0.1. Everything it changes (the
site file, the services' running state) is put back afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.debian_site import (
    PHP_SERVICE,
    PORT,
    REPO,
    service,
    status_of,
    wait_status,
)
from tests.e2e.pane import Pane
from tests.support import require


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    pane = Pane(f"wizard-fix-{os.getpid()}", tmp_path / "exit-status")
    yield pane
    pane.tmux("kill-server")


def test_stopped_phpfpm_is_found_and_fixed_with_f_then_y(debian_site: Path, pane: Pane,
                                                         tmp_path: Path) -> None:
    assert service(PHP_SERVICE, "stop") == 0
    wait_status("/index.php", 502)

    command = [sys.executable, "-m", "wizard", "--url",
               f"http://127.0.0.1:{PORT}/index.php", "--since", "5m"]
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"', str(pane.status_file)]
    pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "wiz", "-x", "80", "-y", "24",
              "-c", str(REPO), "-e", f"XDG_STATE_HOME={tmp_path}", *record, *command)
    # No key pressed: once the checks ran, the cause and its fix are on screen.
    screen = pane.wait_for("press f or 1", seconds=60)
    assert "1. PHP-FPM is not running" in screen, screen
    assert "Fix: Start php8.2-fpm (needs root)" in screen

    pane.keys("f")
    confirm = pane.wait_for("Run it? y = yes")
    assert "$ service php8.2-fpm start" in confirm
    assert status_of("/index.php") == 502, "nothing may run before the person says yes"
    pane.keys("y")
    verdict = pane.wait_for("Escape goes back to the steps.", seconds=60)
    # the verdict is on screen, not hidden: the address asked again after the fix
    assert "/index.php now answers 200: fixed" in " ".join(verdict.split()), verdict
    assert status_of("/index.php") == 200
    pane.keys("Escape")  # (a key right after Escape would read as Alt+key: wait first)
    # every check ran again: the answer now is about the site as it is after the fix
    after = pane.wait_for("after the fix, ", seconds=60)
    assert "now answers 200: fixed" in " ".join(after.split()), after
    assert "PHP-FPM is not running" not in after, after
    pane.keys("Enter")
    pane.wait_for("Enter Next")
    pane.keys("q")
    assert pane.wait_exit() == "0"


@pytest.fixture
def sudo_user() -> Iterator[tuple[str, str, Path]]:
    """A real user whose sudo asks for its password, allowed to run `service` only."""
    for tool in ("sudo", "useradd", "userdel", "chpasswd", "visudo", "runuser"):
        require(shutil.which(tool) is not None, f"{tool} is missing (Debian: sudo, passwd)")
    name = f"n502t{uuid.uuid4().hex[:8]}"
    password = "Pw-" + secrets.token_urlsafe(12)
    dropin = Path(f"/etc/sudoers.d/n502-e2e-{name}")
    acl_before: dict[str, str] = {}
    # pytest's own temp folders are root-only: the user's home must be reachable by it.
    home = Path(tempfile.mkdtemp(prefix="n502-home-"))
    assert run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell",
                "/bin/sh", name]).returncode == 0
    try:
        shutil.chown(home, name)
        home.chmod(0o700)
        assert run(["chpasswd"], f"{name}:{password}\n").returncode == 0
        dropin.write_text(f"{name} ALL=(root) /usr/sbin/service\n")
        dropin.chmod(0o440)
        assert run(["visudo", "-cf", str(dropin)]).returncode == 0
        # The interpreter may live under /root (pyenv); let this user pass through /root
        # (x only, no listing) for the length of the test.
        grants = [d for d in ("/root",) if Path(sys.executable).resolve().is_relative_to(d)]
        for folder in grants:
            require(shutil.which("setfacl") is not None, "setfacl is missing (Debian: acl)")
            acl_before[folder] = run(["getfacl", "-c", "-p", folder]).stdout
            assert run(["setfacl", "-m", f"u:{name}:x", folder]).returncode == 0
        readable = run(["runuser", "-u", name, "--", sys.executable, "-c", "import wizard"],
                       cwd=str(REPO))
        require(readable.returncode == 0, f"the test user cannot run the wizard from {REPO}: "
                                          f"{readable.stderr.strip()[-200:]}")
        yield name, password, home
    finally:
        for folder, acl in acl_before.items():  # put the folder's ACL back as it was
            run(["setfacl", "-b", folder])
            extended = [ln for ln in acl.splitlines() if ln.strip()
                        and not ln.startswith(("user::", "group::", "other::"))]
            if extended:  # setting the base entries back would add a mask of its own
                run(["setfacl", "--set-file=-", folder], stdin=acl)
        dropin.unlink(missing_ok=True)
        run(["userdel", "--force", name])
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(f"/run/sudo/ts/{name}", ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"/run/sudo/ts/{name}")


def run(argv: list[str], stdin: str | None = None,
        cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                          check=False, cwd=cwd)


def test_sudo_password_typed_in_the_tui_session_runs_the_fix(
        debian_site: Path, pane: Pane, sudo_user: tuple[str, str, Path]) -> None:
    name, password, home = sudo_user
    assert service(PHP_SERVICE, "stop") == 0
    wait_status("/index.php", 502)
    command = ["runuser", "-u", name, "--", "env", f"HOME={home}",
               f"XDG_STATE_HOME={home}", sys.executable, "-m", "wizard", "--url",
               f"http://127.0.0.1:{PORT}/index.php", "--since", "5m"]
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"', str(pane.status_file)]
    pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "wiz", "-x", "80", "-y", "24",
              "-c", str(REPO), *record, *command)
    pane.wait_for("Fix: Start php8.2-fpm", seconds=60)
    pane.keys("f")
    pane.wait_for("Run it? y = yes")
    pane.keys("y")
    # The wizard steps aside; sudo itself asks on the terminal, and nothing is echoed.
    pane.wait_for(f"[sudo] password for {name}:")
    pane.keys("-l", password)
    pane.keys("Enter")
    verdict = pane.wait_for("Escape goes back to the steps.", seconds=60)
    assert "/index.php now answers 200: fixed" in " ".join(verdict.split()), verdict
    assert status_of("/index.php") == 200
    assert password not in pane.tmux("capture-pane", "-p", "-S", "-200", "-t", "wiz")
    pane.keys("Escape")
    pane.wait_for("after the fix, ", seconds=60)
    pane.keys("Enter")
    pane.wait_for("Enter Next")
    pane.keys("q")
    assert pane.wait_exit() == "0"
    transcripts = list((home / "nginx-502-wizard").glob("session-*.json"))
    assert transcripts, "the session left no transcript"
    saved = transcripts[0].read_text()
    assert password not in saved
    fixes = json.loads(saved)["transcript"]["fixes"]
    ran = [c["argv"] for f in fixes for c in f["commands"]]
    assert ["sudo", "-n", "service", "php8.2-fpm", "start"] in ran, ran
    # After the fix the visitor's request was sent again: that is the proof.
    assert fixes[0]["proof"] == "fixed"
    assert fixes[0]["after"] == f"http://127.0.0.1:{PORT}/index.php now answers 200: fixed"
