"""Issue 5's promise, end to end on Debian's own services: PHP-FPM is stopped, the site
answers 502, and a person at an 80x24 terminal finds the cause and fixes it with `f`, `y`.

This drives the real `service` scripts of Debian's nginx and php8.2-fpm packages (no
systemd here), with a site of the test's own on 127.0.0.1. Everything it changes (the
site file, the services' running state) is put back afterwards.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.pane import POLL, Pane
from tests.support import require

REPO = Path(__file__).resolve().parents[2]
PORT = 18502
SITE = Path("/etc/nginx/sites-enabled/n502-e2e")
PHP_SERVICE = "php8.2-fpm"


def service(name: str, verb: str) -> int:
    return subprocess.run(["service", name, verb], capture_output=True, timeout=60,
                          check=False).returncode


def status_of(path: str) -> int | None:
    """HTTP status of a GET to the test site, None when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def wait_status(path: str, wanted: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if status_of(path) == wanted:
            return
        time.sleep(POLL)
    raise AssertionError(f"GET {path} never answered {wanted} (last: {status_of(path)})")


def steps_done(screen: str) -> int:
    """Steps with a verdict in the step list (not pending, not running)."""
    marks = ("[ok]", "[!!]", "[! ]", "[??]", "[--]")
    return sum(line[:34].count(mark) for line in screen.splitlines() for mark in marks)


def wait_until(condition: Callable[[], bool], pane: Pane, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, pane.text()
        time.sleep(POLL)


@pytest.fixture
def debian_site(tmp_path: Path) -> Iterator[Path]:
    require(os.geteuid() == 0, "starting Debian's nginx and PHP-FPM services needs root")
    for tool in ("service", "tmux", "nginx", "php-fpm8.2"):
        require(shutil.which(tool) is not None or Path(f"/usr/sbin/{tool}").exists(),
                f"{tool} is missing (tests/install-deps installs it)")
    require(SITE.parent.is_dir(), "Debian's /etc/nginx/sites-enabled is missing")
    was_running = {name: service(name, "status") == 0 for name in ("nginx", PHP_SERVICE)}
    docroot = Path("/var/www/n502-e2e")
    docroot.mkdir(parents=True, exist_ok=True)
    (docroot / "index.php").write_text("<?php echo 'hello from php';\n")
    SITE.write_text(
        f"server {{\n  listen 127.0.0.1:{PORT};\n  root {docroot};\n  index index.php;\n"
        "  location ~ \\.php$ {\n    include snippets/fastcgi-php.conf;\n"
        "    fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n  }\n}\n")
    try:
        assert service(PHP_SERVICE, "start") == 0
        assert service("nginx", "restart" if was_running["nginx"] else "start") == 0
        wait_status("/index.php", 200)
        yield docroot
    finally:
        SITE.unlink(missing_ok=True)
        shutil.rmtree(docroot, ignore_errors=True)
        for name, running in was_running.items():
            service(name, "restart" if running else "stop")


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
    pane.wait_for("Press Enter to run this check.")
    # One Enter per step, reading each finding, until the walk reaches PHP-FPM's: the
    # finished step stays highlighted, so its fix shows in the footer.
    for _ in range(12):
        if "> [!!] PHP-FPM running" in pane.text():
            break
        done = steps_done(pane.text())
        pane.keys("Enter")
        wait_until(lambda before=done: steps_done(pane.text()) > before, pane)
    screen = pane.wait_for("f Fix: Start php8.2-fpm")
    assert "[!!] PROBLEM  PHP-FPM running" in screen, screen
    assert "php8.2-fpm) is not running" in screen

    pane.keys("f")
    confirm = pane.wait_for("Run it? y = yes")
    assert "$ service php8.2-fpm start" in confirm
    assert status_of("/index.php") == 502, "nothing may run before the person says yes"
    pane.keys("y")
    verdict = pane.wait_for("Escape goes back to the steps.", seconds=60)
    assert "Fixed: the check now passes." in verdict  # the verdict is on screen, not hidden
    assert status_of("/index.php") == 200
    pane.keys("Escape")  # (a key right after Escape would read as Alt+key: wait first)
    pane.wait_for("Enter Next")
    pane.keys("q")
    assert pane.wait_exit() == "0"
