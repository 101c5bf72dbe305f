"""A site of the tests' own on Debian's real nginx and php8.2-fpm services, and helpers
to walk the wizard to a finding in tmux. Everything changed is put back afterwards."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.pane import POLL, Pane
from tests.support import require

REPO = Path(__file__).resolve().parents[2]
PORT = 18502
SITE = Path("/etc/nginx/sites-enabled/n502-e2e")
SYSTEM_LOGS = (Path("/var/log/nginx/error.log"), Path("/var/log/php8.2-fpm.log"))
PHP_SERVICE = "php8.2-fpm"


def service(name: str, verb: str) -> int:
    return subprocess.run(["service", name, verb], capture_output=True, timeout=60,
                          check=False).returncode


def status_of(path: str, port: int = PORT, timeout: float = 10.0) -> int | None:
    """HTTP status of a GET to the test site, None when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
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
    log_sizes = {log: log.stat().st_size for log in SYSTEM_LOGS if log.exists()}
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
        # The lines this test made the services write (killed scripts, a stopped pool)
        # would be "recent" evidence for every later diagnosis on this machine that reads
        # the system logs: cut them off again.
        for log, size in log_sizes.items():
            with contextlib.suppress(OSError):
                os.truncate(log, size)




def walk_to(pane: Pane, title: str) -> None:
    """Press Enter once per step, letting each finish, until the step `title` has found
    a problem; the finished step stays highlighted, so its fix shows in the footer."""
    for _ in range(30):
        if f"> [!!] {title}" in pane.text():
            return
        done = steps_done(pane.text())
        pane.keys("Enter")
        wait_until(lambda before=done: steps_done(pane.text()) > before, pane)
    raise AssertionError(f"the walk never reached a problem at {title!r}:\n{pane.text()}")
