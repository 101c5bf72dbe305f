"""Service fixes judged on fresh evidence, on Debian's real nginx and php8.2-fpm services
(`service`, sysvinit scripts), through Session.apply_fix after a real walk of the flow.

No --url is given: the proof is the failing request nginx logged, sent again. The window
of the logs still holds the lines that found the problem; they must not decide anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.debian_site import PHP_SERVICE, PORT, SITE, service, status_of
from tests.lab.harness import Lab, wait_for
from tests.lab.test_fix_proof import apply, offered
from wizard.engine.runner import Session
from wizard.flow.library import find_flow
from wizard.flow.loader import parse_flow
from wizard.flow.model import Flow
from wizard.host.facts import Facts
from wizard.options import Options

pytestmark = pytest.mark.root

POOL = Path("/etc/php/8.2/fpm/pool.d/www.conf")
NGINX_LOG = Path("/var/log/nginx/error.log")
PHPFPM_LOG = Path("/var/log/php8.2-fpm.log")
SLOW = "<?php sleep((int)($_GET['s'] ?? 5)); echo 'slept';\n"


def log_has(path: Path, needle: str, start: int) -> bool:
    with contextlib.suppress(OSError), path.open("rb") as fh:
        fh.seek(start)
        return needle.encode() in fh.read()
    return False


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def walk(flow: Flow | None = None) -> Session:
    session = Session(flow or find_flow("nginx-502"),
                      Facts(Options(nginx_conf="/etc/nginx/nginx.conf", since_seconds=3600)))
    session.run()
    return session


# A team's runbook that restarts PHP-FPM when its log shows killed scripts (the built-in
# flow offers the timeout setting instead): the restart must be judged on what happens
# after it, not on the lines that led to it.
RESTART_RUNBOOK = """\
flow: restart-runbook
start: phpfpm_log
nodes:
  - id: phpfpm_log
    kind: check
    check: logs.phpfpm_errors
    title: PHP-FPM log
    on:
      timeouts:
        text: "{summary}"
        fixes:
          - {action: service.restart, args: {service: php8.2-fpm}}
        next: done
    default: {text: "{summary}", next: done}
  - id: done
    kind: end
    text: done
"""


def stop_phpfpm(then: Callable[[], object] = lambda: None) -> None:
    """Stop the site's PHP-FPM (`then` runs right after) until nginx logs its 502."""
    start = size(NGINX_LOG)
    assert service(PHP_SERVICE, "stop") == 0  # (it kills every php-fpm8.2 process there is)
    then()
    assert status_of("/index.php") == 502
    wait_for(lambda: log_has(NGINX_LOG, "php8.2-fpm.sock failed", start), 10,
             "nginx to log the missing socket")


def test_starting_phpfpm_is_proven_by_the_logged_request(debian_site: Path) -> None:
    stop_phpfpm()
    session = walk()
    step, offer = offered(session, "service.start")

    applied, lines = apply(session, step, offer)

    assert applied.proof == "fixed", "\n".join(lines)
    assert applied.after == f"http://127.0.0.1:{PORT}/index.php now answers 200: fixed"
    assert "Is php8.2-fpm already running? no, so:" in lines
    assert status_of("/index.php") == 200


@pytest.fixture
def short_timeout(debian_site: Path) -> Iterator[Path]:
    """The www pool ends scripts after 2s; put back exactly as it was afterwards."""
    original = POOL.read_bytes()
    (debian_site / "slow.php").write_text(SLOW)
    POOL.write_bytes(original + b"\nrequest_terminate_timeout = 2\n")
    try:
        assert service(PHP_SERVICE, "restart") == 0
        yield debian_site
    finally:
        POOL.write_bytes(original)
        service(PHP_SERVICE, "restart")


def test_a_restart_that_cannot_help_is_judged_on_new_lines_and_the_timeout_fix_is_kept(
        short_timeout: Path) -> None:
    start = size(PHPFPM_LOG)
    assert status_of("/slow.php?s=4", timeout=30) == 502
    wait_for(lambda: log_has(PHPFPM_LOG, "execution timed out", start), 10,
             "PHP-FPM to log the killed script")
    runbook = walk(parse_flow(RESTART_RUNBOOK, "restart-runbook.yaml"))
    restart_step, restart = offered(runbook, "service.restart")

    applied, lines = apply(runbook, restart_step, restart)

    # the request sent again after the restart fails again: a fresh 502, not the old lines
    assert applied.proof == "failing", "\n".join(lines)
    assert applied.after.startswith(f"http://127.0.0.1:{PORT}/slow.php?s=4 still answers "
                                    "502: ")
    assert applied.backups == [] and not applied.succeeded

    session = walk()
    step, offer = offered(session, "phpfpm.set_request_terminate_timeout")
    applied, lines = apply(session, step, offer)

    assert applied.proof == "fixed", "\n".join(lines)
    assert applied.after == f"http://127.0.0.1:{PORT}/slow.php?s=4 now answers 200: fixed"
    assert "request_terminate_timeout = 60s" in POOL.read_text()
    wait_for(lambda: status_of("/slow.php?s=4", timeout=30) == 200, 30, "the slow page to answer")


def test_starting_nginx_is_proven_by_the_live_check(debian_site: Path) -> None:
    assert service("nginx", "stop") == 0
    assert status_of("/index.php") is None
    session = walk()
    step, offer = offered(session, "service.start")
    assert step.node == "nginx_running"

    applied, lines = apply(session, step, offer)

    # nginx logs nothing for a refused connection, so no request stands for the problem:
    # the check of the live host judges
    assert applied.proof == "fixed", "\n".join(lines)
    assert applied.after.startswith("fixed: nginx master running")
    assert status_of("/index.php") == 200


def test_reloading_nginx_for_a_new_listen_line_is_proven_by_the_live_check(
        debian_site: Path) -> None:
    site = SITE.read_text()
    SITE.write_text(site.replace(f"listen 127.0.0.1:{PORT};",
                                 f"listen 127.0.0.1:{PORT};\n  listen 127.0.0.1:{PORT + 1};"))
    session = walk()
    step, offer = offered(session, "service.reload")
    assert step.node == "ports"

    applied, lines = apply(session, step, offer)

    assert applied.proof == "fixed", "\n".join(lines)
    wait_for(lambda: status_of("/index.php", PORT + 1) == 200, 20,
             "nginx to answer on the new port")



def test_a_service_status_that_lies_does_not_skip_the_start(
        debian_site: Path, make_lab: Callable[..., Lab]) -> None:
    # Another php-fpm8.2 master on the host (here a lab's own pool): Debian's init script
    # has no pid file to read for `status` and falls back to pidof, so it answers
    # "running" while the site's PHP-FPM is stopped. The guard asks the master instead.
    stop_phpfpm(then=lambda: make_lab(start_nginx=False))
    assert service(PHP_SERVICE, "status") == 0  # the lie this guard must not believe
    session = walk()
    step, offer = offered(session, "service.start")

    applied, lines = apply(session, step, offer)

    assert "Is php8.2-fpm already running? no, so:" in lines, "\n".join(lines)
    assert applied.proof == "fixed", "\n".join(lines)
    assert status_of("/index.php") == 200
