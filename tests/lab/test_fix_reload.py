"""How config fixes reload a hand-started nginx and PHP-FPM, on the real lab.

The reload goes through the server_reload helper: `nginx -s reload -c CONF -p PREFIX`
(the admin's own command), or SIGUSR2 to the PHP-FPM master its config's pid file names,
checked first to be a live master running that config. The step ends only when the
reloaded server serves, so the tests send their request right after the fix returns,
without waiting: a 200 then is the reloaded server's.

The plans carry no pid, so the rollback reaches the master that runs *then*, even after a
restart gave it another pid (the old `kill -USR2 PID` undo failed there), or after a
daemonizing PHP-FPM came back from its reload as a new process.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.lab.harness import PHPFPM_BIN, Lab, wait_for
from wizard.fixes import ACTIONS
from wizard.fixes import load_all as load_fixes
from wizard.fixes.apply import apply_fix, rollback
from wizard.fixes.result import AppliedFix
from wizard.fixes.server_reload import runs_fpm_conf
from wizard.host.facts import Facts

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root


def plan(lab: Lab, action: str, args: dict[str, str]) -> dict[str, Any]:
    load_fixes()
    return ACTIONS[action].plan(args, Facts(lab.options())).to_json()


def timeout_plan(lab: Lab, seconds: str) -> dict[str, Any]:
    # conf: a lab of a parallel test run may have a pool named www too
    return plan(lab, "phpfpm.set_request_terminate_timeout",
                {"pool": "www", "seconds": seconds, "conf": lab.phpfpm_conf})


def apply(lab: Lab, the_plan: dict[str, Any]) -> tuple[AppliedFix, str]:
    lines: list[str] = []
    applied = apply_fix(the_plan, Facts(lab.options()), lines.append, ask=None)
    return applied, "\n".join(lines)


def status(lab: Lab, path: str) -> int:
    try:
        return lab.request(path, timeout=15)[0]
    except OSError:
        return 0


def argv_words(the_plan: dict[str, Any]) -> set[str]:
    return {word for argv in the_plan["commands"] + the_plan["undo"] for word in argv}


def reloads(applied: AppliedFix, role: str) -> list[dict[str, Any]]:
    return [r for r in applied.commands if r["role"] == role
            and "wizard.fixes.server_reload" in r["argv"]]


def workers(pid: int | None) -> set[int]:
    return {child.pid for child in psutil.Process(pid or 0).children()}


@pytest.fixture
def unrelated() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is no server: SIGUSR2 or SIGHUP would end it (their default
    action), so it still running afterwards proves nobody signalled it."""
    proc = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL,
                            start_new_session=True)
    yield proc
    proc.kill()
    proc.wait(timeout=10)


# -- (a) the fix's reload makes the repaired server answer ------------------------------

def test_a_hand_started_nginx_serves_the_fix_when_the_step_ends(make_lab: MakeLab) -> None:
    lab = make_lab(fastcgi_pass="unix:{prefix}/other.sock")
    assert status(lab, "/index.php") == 502
    nginx = Facts(lab.options()).get("nginx")
    the_plan = plan(lab, "nginx.set_fastcgi_pass",
                    {"file": lab.nginx_conf, "line": str(nginx["passes"][0]["line"]),
                     "target": lab.php_listen})
    assert str(lab.nginx_pid) not in argv_words(the_plan)  # nothing frozen at plan time

    applied, output = apply(lab, the_plan)

    assert applied.succeeded, output
    (reload,) = reloads(applied, "command")
    assert reload["argv"][-7:] == ["/usr/sbin/nginx", "-s", "reload", "-c", lab.nginx_conf,
                                   "-p", f"{lab.prefix}/"]
    assert "runs new workers with the reloaded config" in reload["stdout"]
    assert status(lab, "/index.php") == 200  # at once: the old workers take no more


def test_a_hand_started_phpfpm_serves_the_fix_when_the_step_ends(make_lab: MakeLab) -> None:
    lab = make_lab(request_terminate_timeout="1")
    assert status(lab, "/slow.php?s=3") == 502
    the_plan = timeout_plan(lab, "60")
    assert str(lab.php_pid) not in argv_words(the_plan)

    applied, output = apply(lab, the_plan)

    assert applied.succeeded, output
    (reload,) = reloads(applied, "command")
    assert reload["argv"][-2:] == ["php-fpm", lab.phpfpm_conf]
    assert f"pools ready: www (unix:{lab.php_socket})" in reload["stdout"]
    assert status(lab, "/slow.php?s=3") == 200


# -- (b) the rollback after PHP-FPM was reloaded by the fix --------------------------------

def assert_rolled_back(lab: Lab, applied: AppliedFix, before: bytes) -> None:
    """The file is byte for byte as before AND the running PHP-FPM uses it again: the
    1 s request_terminate_timeout ends a 3 s script, so nginx answers 502 once more."""
    lines: list[str] = []
    assert rollback(applied, Facts(lab.options()), lines.append, ask=None), "\n".join(lines)
    assert Path(lab.phpfpm_conf).read_bytes() == before
    assert [r["returncode"] for r in reloads(applied, "rollback")] == [0]
    assert status(lab, "/slow.php?s=3") == 502


def test_the_rollback_reloads_the_phpfpm_the_fix_reloaded(make_lab: MakeLab) -> None:
    lab = make_lab(request_terminate_timeout="1")
    before = Path(lab.phpfpm_conf).read_bytes()
    applied, output = apply(lab, timeout_plan(lab, "60"))
    assert applied.succeeded, output
    assert status(lab, "/slow.php?s=3") == 200  # the fix is live

    assert_rolled_back(lab, applied, before)


def test_the_rollback_finds_a_phpfpm_master_restarted_since_the_fix(
        make_lab: MakeLab) -> None:
    # The case that used to fail: the undo signalled the pid seen at plan time.
    lab = make_lab(request_terminate_timeout="1")
    before = Path(lab.phpfpm_conf).read_bytes()
    applied, output = apply(lab, timeout_plan(lab, "60"))
    assert applied.succeeded, output
    old_pid = lab.php_pid
    lab.stop_php()
    lab.start_php()
    assert lab.php_pid != old_pid and status(lab, "/slow.php?s=3") == 200

    assert_rolled_back(lab, applied, before)


@pytest.fixture
def daemonized(make_lab: MakeLab) -> Iterator[Lab]:
    """A lab whose PHP-FPM is started by hand the classic way, daemonize = yes: it forks
    away from its starter, and forks again at every reload (a new master pid each time).
    The harness does not own it, so it is stopped here through its pid file."""
    lab = make_lab(start_php=False, request_terminate_timeout="1")
    lab.write_phpfpm_conf(Path(lab.phpfpm_conf).read_text().replace("daemonize = no",
                                                                     "daemonize = yes"))
    subprocess.run([PHPFPM_BIN, "--fpm-config", lab.phpfpm_conf, "-p", str(lab.prefix)],
                   stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=30)
    wait_for(lambda: status(lab, "/index.php") == 200, 15, "the daemonized PHP-FPM")
    yield lab
    stop_daemonized(lab)


def stop_daemonized(lab: Lab) -> None:
    pid_file = lab.prefix / "php-fpm.pid"
    try:
        master = psutil.Process(int(pid_file.read_text().strip()))
    except (OSError, ValueError, psutil.Error):
        return
    if not runs_fpm_conf(master, lab.phpfpm_conf):
        return  # never signal what is not this lab's master
    family = [master, *master.children()]
    master.send_signal(signal.SIGQUIT)  # PHP-FPM's graceful stop
    _, alive = psutil.wait_procs(family, timeout=10)
    for proc in alive:
        proc.kill()


def master_pid(lab: Lab) -> int:
    return int((lab.prefix / "php-fpm.pid").read_text().strip())


def test_fix_and_rollback_follow_a_daemonizing_phpfpm_master(daemonized: Lab) -> None:
    lab = daemonized
    before, first = Path(lab.phpfpm_conf).read_bytes(), master_pid(lab)
    applied, output = apply(lab, timeout_plan(lab, "60"))

    assert applied.succeeded, output
    second = master_pid(lab)
    assert second != first and "a daemonizing master forks again" in output
    assert status(lab, "/slow.php?s=3") == 200

    assert_rolled_back(lab, applied, before)
    assert master_pid(lab) not in (first, second)


# -- (c) a stale pid file is never trusted -------------------------------------------------

def test_a_stale_phpfpm_pid_file_naming_another_process_is_not_signalled(
        make_lab: MakeLab, unrelated: subprocess.Popen[bytes]) -> None:
    lab = make_lab(request_terminate_timeout="1")
    before = Path(lab.phpfpm_conf).read_bytes()
    the_plan = timeout_plan(lab, "60")
    pool_workers = workers(lab.php_pid)
    Path(lab.prefix / "php-fpm.pid").write_text(f"{unrelated.pid}\n")

    applied, output = apply(lab, the_plan)

    assert not applied.succeeded and applied.after.startswith("rolled back: a command failed")
    assert Path(lab.phpfpm_conf).read_bytes() == before
    refused = reloads(applied, "command")[0]
    assert refused["returncode"] == 1
    assert (f"names pid {unrelated.pid}, which is not a php-fpm master running "
            f"{lab.phpfpm_conf} (a stale pid file?); nothing was signalled") in output
    assert unrelated.poll() is None  # SIGUSR2 would have ended it
    assert workers(lab.php_pid) == pool_workers  # nor was the real master reloaded


def test_a_pid_file_naming_another_configs_phpfpm_master_is_not_signalled(
        make_lab: MakeLab) -> None:
    lab = make_lab(request_terminate_timeout="1")
    other = make_lab(start_nginx=False)
    other_workers = workers(other.php_pid)
    Path(lab.prefix / "php-fpm.pid").write_text(f"{other.php_pid}\n")

    applied, output = apply(lab, timeout_plan(lab, "60"))

    assert not applied.succeeded
    assert f"names pid {other.php_pid}, which is not a php-fpm master running" in output
    assert workers(other.php_pid) == other_workers  # its pool was not restarted


def test_a_stale_nginx_pid_file_naming_another_process_is_not_signalled(
        make_lab: MakeLab, unrelated: subprocess.Popen[bytes]) -> None:
    lab = make_lab()
    before = Path(lab.nginx_conf).read_bytes()
    the_plan = plan(lab, "nginx.set_buffer_size", {"kind": "fastcgi", "size": "16k"})
    Path(lab.prefix / "nginx.pid").write_text(f"{unrelated.pid}\n")

    applied, output = apply(lab, the_plan)

    assert not applied.succeeded and Path(lab.nginx_conf).read_bytes() == before
    assert (f"names pid {unrelated.pid}, which is not an nginx master running "
            f"{lab.nginx_conf} (a stale pid file?); nothing was signalled") in output
    assert unrelated.poll() is None  # `nginx -s reload` would have sent it SIGHUP
