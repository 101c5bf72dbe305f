"""SIGINT, SIGTERM and SIGHUP during a check and during a fix (issue 12): the wizard ends
in order (wizard/engine/shutdown.py). A check is stopped, the record says which signal
ended the session, the terminal is usable again, and the exit status is 128 + the
signal's number. A fix in flight is never cut half-way: it ends as its own logic decides
(validated, reloaded and proven, or rolled back), and the record says which.

Every test runs the real command in its own process. How each signal is sent follows
where it comes from in life: SIGTERM from `kill PID`, to the wizard only; SIGINT (Ctrl+C)
and SIGHUP (the terminal hangs up, or the shell passes the hang-up on to its jobs) reach
the whole foreground process group, so the commands the wizard runs get them too. The
TUI tests send every signal to the wizard alone, so the pane survives for `stty -a`.

A check is surely in flight when the diagnosis has connected to an upstream that
accepts and never answers (as in tests/lab/test_hostile_hosts.py): the listening socket
turns readable. A fix is surely mid-apply when its validation is held: the lab's nginx
runs under a program of the lab's own (bin/nginx, a bash script that `exec -a`s the real
/usr/sbin/nginx under its own name, so the wizard reads that program off the running
master, as it does for any nginx). That program's `nginx -t` of a config that already
holds the fix touches a file, then waits for a line from a FIFO the test writes: the
edit is on disk, the validation and reload are still to come.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.pane import DEADLINE, POLL, Pane
from tests.lab.harness import Lab, require_lab
from tests.support import require
from wizard.fixes.backups import BACKUP_DIR_ENV

REPO = Path(__file__).resolve().parents[2]
SIGNALS = [pytest.param(s, id=s.name) for s in
           (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
# Typically 3-4 s here (the FastCGI probe in flight gives up after 3 s). Headless, the
# stop waits for every fact the diagnosis already queued (Facts.gather's thread pool
# finishes its queue), each within its own timeout: 20 s was seen on a loaded machine.
STOPS_WITHIN = 60.0


def wait_until(condition: Callable[[], bool], what: str, seconds: float = DEADLINE) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {seconds:g}s: {what}")
        time.sleep(POLL)  # polling with a deadline, not a synchronisation sleep


def send(pid: int, signum: int, group: bool) -> None:
    """To the process, or to its whole process group as a terminal does."""
    if group:
        os.killpg(pid, signum)
    else:
        os.kill(pid, signum)


def as_in_life(signum: int) -> bool:
    """Does this signal reach the whole foreground process group (see the docstring)?"""
    return signum != signal.SIGTERM


def terminal_is_sane(stty: str) -> bool:
    """`stty -a` of a terminal a person can type in again: lines, echo and Ctrl+C."""
    flags = set(stty.split())
    return {"icanon", "echo", "isig"} <= flags


def journal(state: Path) -> list[dict[str, Any]]:
    found = sorted((state / "nginx-502-wizard").glob("session-*.jsonl"))
    if not found:
        return []
    lines = found[0].read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def journaled(state: Path, wanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    wait_until(lambda: any(wanted(r) for r in journal(state)),
               f"the journal record wanted, in {journal(state)}")
    return journal(state)


# -- a check in flight -----------------------------------------------------------------------

@pytest.fixture
def silent_upstream() -> Iterator[socket.socket]:
    """A loopback port whose connections the kernel accepts and nobody answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
def silent_conf(tmp_path: Path, silent_upstream: socket.socket) -> Path:
    require(os.path.exists("/usr/sbin/nginx"), "nginx is not installed (Debian: nginx)")
    port = silent_upstream.getsockname()[1]
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n"
        f"    server {{ listen 127.0.0.1:9; location / {{\n"
        f"        fastcgi_pass 127.0.0.1:{port}; }} }}\n}}\n")
    return conf


def wait_for_probe(listener: socket.socket) -> None:
    """The diagnosis connected to the silent upstream: a check waits on it now."""
    readable, _, _ = select.select([listener], [], [], DEADLINE)
    assert readable, f"no probe reached the silent upstream within {DEADLINE:g}s"


@pytest.mark.parametrize("signum", SIGNALS)
def test_diagnose_stopped_during_a_check_saves_its_record(
        signum: signal.Signals, silent_conf: Path, silent_upstream: socket.socket,
        tmp_path: Path) -> None:
    record = tmp_path / "transcript.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "diagnose", "--format", "json", "--nginx-conf",
         str(silent_conf), "--transcript", str(record)],
        cwd=REPO, env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for_probe(silent_upstream)
        sent = time.monotonic()
        send(proc.pid, signum, group=as_in_life(signum))
        out, err = proc.communicate(timeout=STOPS_WITHIN)
        took = time.monotonic() - sent
    finally:
        proc.kill()
        proc.wait()

    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err, err
    assert out == ""  # no half report for a script to mistake for a diagnosis
    assert f"stopped by {signum.name}: the checks were stopped" in err
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["transcript"]["error"] == f"stopped by {signum.name} before the checks finished"
    assert saved["report"]["stopped_by"] == {"signal": signum.name, "during": "checks"}
    assert took < STOPS_WITHIN


# -- the TUI in a terminal -------------------------------------------------------------------

@pytest.fixture
def panes(tmp_path: Path) -> Iterator[list[Pane]]:
    require(shutil.which("tmux") is not None, "tmux is not installed (apt-get install tmux)")
    opened: list[Pane] = []
    yield opened
    for pane in opened:
        pane.tmux("kill-server")


def open_pane(panes: list[Pane], tmp_path: Path, command: list[str],
              env: dict[str, str]) -> Pane:
    """`command` in a real terminal (tmux, 100x30); when it ends, the wrapper shell writes
    its exit status, then `stty -a` of that terminal, to files beside each other."""
    pane = Pane(f"wizard-signals-{os.getpid()}-{len(panes)}", tmp_path / f"exit-{len(panes)}")
    panes.append(pane)
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"; stty -a > "$0.stty"; sleep 60',
              str(pane.status_file)]
    settings = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
    pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "wiz", "-x", "100", "-y", "30",
              "-c", str(REPO), *settings, "env", "TERM=xterm-256color", *record, *command)
    return pane


def stty_after(pane: Pane) -> str:
    stty = pane.status_file.with_name(pane.status_file.name + ".stty")
    wait_until(lambda: stty.exists() and "icanon" in stty.read_text(), "stty -a in the pane")
    return stty.read_text()


@pytest.mark.parametrize("signum", SIGNALS)
def test_the_tui_stopped_during_a_check_closes_its_record_and_the_terminal(
        signum: signal.Signals, silent_conf: Path, silent_upstream: socket.socket,
        tmp_path: Path, panes: list[Pane]) -> None:
    state = tmp_path / "state"
    pane = open_pane(panes, tmp_path, [sys.executable, "-m", "wizard", "--nginx-conf",
                                       str(silent_conf)], {"XDG_STATE_HOME": str(state)})
    header = journaled(state, lambda r: r["type"] == "session")[0]
    wait_for_probe(silent_upstream)

    os.kill(header["pid"], signum)

    code = pane.wait_exit()
    assert code == str(128 + signum), pane.text()
    assert terminal_is_sane(stty_after(pane))
    records = journal(state)
    assert {"signal": signum.name, "during": "checks"} in [
        {k: r.get(k) for k in ("signal", "during")} for r in records if r["type"] == "signal"]
    assert records[-1]["type"] == "close" and records[-1]["ended_by"] == signum.name
    assert "Traceback" not in pane.text()


def wizard_in(pane: Pane) -> psutil.Process:
    """The wizard the pane's shell started (its only child)."""
    shell = psutil.Process(int(pane.tmux("list-panes", "-t", "wiz", "-F", "#{pane_pid}")))
    children = shell.children()
    assert len(children) == 1, children
    return children[0]


def hang_up(pane: Pane, wizard: psutil.Process) -> None:
    """Close the terminal, as a dropped SSH connection does: its shell and the wizard get
    SIGHUP (and SIGCONT), and the terminal answers writes with EIO from then on. No exit
    status is left to read: the wizard must just be gone, within the deadline."""
    pane.tmux("kill-server")
    _, alive = psutil.wait_procs([wizard], timeout=DEADLINE)
    assert not alive, f"the wizard did not end within {DEADLINE:g}s of the hang-up"


def test_the_tui_ends_in_order_when_its_terminal_hangs_up_during_a_check(
        silent_conf: Path, silent_upstream: socket.socket, tmp_path: Path,
        panes: list[Pane]) -> None:
    """The SIGCONT that comes with a hang-up once left the exit waiting forever on
    Textual's output thread (see wizard/tui/signal_stop.py)."""
    state = tmp_path / "state"
    pane = open_pane(panes, tmp_path, [sys.executable, "-m", "wizard", "--nginx-conf",
                                       str(silent_conf)], {"XDG_STATE_HOME": str(state)})
    journaled(state, lambda r: r["type"] == "session")
    wait_for_probe(silent_upstream)

    hang_up(pane, wizard_in(pane))

    records = journal(state)
    assert [r["signal"] for r in records if r["type"] == "signal"] == ["SIGHUP"]
    assert records[-1]["type"] == "close" and records[-1]["ended_by"] == "SIGHUP"


# -- a fix in flight -------------------------------------------------------------------------

HOLD_PROGRAM = """#!/bin/bash
# The lab's nginx (tests/e2e/test_signals.py): the real one under this program's name,
# except that the first `nginx -t` of a config that holds the fix waits for the test.
if [ "$1" = "-t" ] && [ ! -e '{held}' ] && grep -qF '{fixed}' '{conf}'; then
    : > '{held}'
    read -r _ < '{fifo}'
fi
exec -a "$0" /usr/sbin/nginx "$@"
"""


class HeldLab(Lab):
    """A lab whose nginx master runs `program` (set before start_nginx)."""

    program: str | None = None

    def nginx_argv(self) -> list[str]:
        argv = super().nginx_argv()
        return [self.program, *argv[1:]] if self.program else argv

    @property
    def held(self) -> Path:
        return self.prefix / "validation-held"

    def release(self) -> None:
        with open(self.prefix / "hold.fifo", "w", encoding="ascii") as fifo:
            fifo.write("go on\n")


@pytest.fixture
def held_lab() -> Iterator[HeldLab]:
    """nginx passes PHP to a socket nobody listens on (PHP-FPM listens beside it): the fix
    offered points fastcgi_pass at PHP-FPM's socket; its `nginx -t` is held."""
    require_lab()
    lab = HeldLab(fastcgi_pass="unix:{prefix}/other.sock", start_nginx=False)
    try:
        os.mkfifo(lab.prefix / "hold.fifo")
        program = lab.prefix / "bin" / "nginx"
        program.parent.mkdir()
        program.write_text(HOLD_PROGRAM.format(
            held=lab.held, fifo=lab.prefix / "hold.fifo", conf=lab.nginx_conf,
            fixed=f"fastcgi_pass unix:{lab.php_socket};"))
        program.chmod(0o755)
        lab.program = str(program)
        lab.start_nginx()
        yield lab
    finally:
        lab.stop()


def lab_env(lab: Lab) -> dict[str, str]:
    # a config fix keeps its backup in the lab, not in the machine's /var/backups
    return {"XDG_STATE_HOME": str(lab.prefix / "state"),
            BACKUP_DIR_ENV: str(lab.prefix / "backups")}


def offered_fix(lab: Lab) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "diagnose", "--format", "json", "--nginx-conf",
         lab.nginx_conf, "--url", lab.url("/index.php")],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        env={**os.environ, **lab_env(lab)})
    causes = json.loads(done.stdout)["causes"]
    assert causes[0]["id"] == "upstream_address_mismatch", causes
    fix_id: str = causes[0]["fixes"][0]["id"]
    assert fix_id.startswith("nginx.set_fastcgi_pass:")
    return fix_id


def page_status(lab: Lab) -> int:
    try:
        return lab.request("/index.php", timeout=10)[0]
    except OSError:
        return 0


@pytest.mark.parametrize("signum", SIGNALS)
def test_diagnose_fix_stopped_mid_apply_ends_the_fix_first(
        signum: signal.Signals, held_lab: HeldLab) -> None:
    """SIGTERM to the wizard alone: the held validation goes on once released, the fix
    is reloaded and proven, then the wizard ends. SIGINT or SIGHUP to the group also end
    the held `nginx -t`: the validation failed, so the edit is rolled back and the config
    is byte for byte what it was."""
    lab = held_lab
    fix_id = offered_fix(lab)
    before = Path(lab.nginx_conf).read_bytes()
    record, out, err = (lab.prefix / name for name in ("transcript.json", "out", "err"))
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wizard", "diagnose", "--nginx-conf", lab.nginx_conf,
             "--url", lab.url("/index.php"), "--fix", fix_id, "--yes",
             "--transcript", str(record)],
            cwd=REPO, env={**os.environ, **lab_env(lab)}, stdout=stdout, stderr=stderr,
            start_new_session=True)
    try:
        wait_until(lab.held.exists, "the fix's validation to start", 60)
        send(proc.pid, signum, group=as_in_life(signum))
        wait_until(lambda: "finishes first" in err.read_text(), "the wizard to say it waits")
        if not as_in_life(signum):
            assert proc.poll() is None  # it waits for the fix, which waits for us
            lab.release()
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()

    errors = err.read_text()
    assert proc.returncode == 128 + signum, errors
    assert "Traceback" not in errors, errors
    assert f"stopped by {signum.name}: once the fix that was running had ended" in errors
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["report"]["stopped_by"] == {"signal": signum.name, "during": "fix"}
    fix = saved["transcript"]["fixes"][0]
    if as_in_life(signum):  # the held validation was ended too: rolled back
        assert fix["succeeded"] is False
        assert fix["after"].startswith("rolled back:"), fix["after"]
        assert Path(lab.nginx_conf).read_bytes() == before
        assert "Restored " in out.read_text()
    else:  # completed: validated, reloaded and proven on the page itself
        assert fix["succeeded"] is True and fix["proof"] == "fixed", fix["after"]
        assert f"fastcgi_pass unix:{lab.php_socket};" in Path(lab.nginx_conf).read_text()
        assert page_status(lab) == 200


def test_a_terminal_that_hangs_up_mid_fix_leaves_the_config_as_it_was(
        held_lab: HeldLab, tmp_path: Path, panes: list[Pane]) -> None:
    """`diagnose --fix --yes` over SSH, and the connection drops while the validation
    runs: the held `nginx -t` ends with the hang-up, the edit is rolled back, and the
    fix's output, written to a terminal that is gone, does not cut that rollback."""
    lab = held_lab
    fix_id = offered_fix(lab)
    before = Path(lab.nginx_conf).read_bytes()
    record = lab.prefix / "transcript.json"
    pane = open_pane(panes, tmp_path, [
        sys.executable, "-m", "wizard", "diagnose", "--nginx-conf", lab.nginx_conf, "--url",
        lab.url("/index.php"), "--fix", fix_id, "--yes", "--transcript", str(record)],
        lab_env(lab))
    wait_until(lab.held.exists, "the fix's validation to start", 60)

    hang_up(pane, wizard_in(pane))

    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["report"]["stopped_by"] == {"signal": "SIGHUP", "during": "fix"}
    fix = saved["transcript"]["fixes"][0]
    assert fix["succeeded"] is False and fix["after"].startswith("rolled back:"), fix
    assert Path(lab.nginx_conf).read_bytes() == before


def press_until(pane: Pane, key: str, needle: str, tries: int = 3) -> None:
    """Press `key` until `needle` shows, as a person presses again when nothing happened:
    a key that lands while the screen is still being put up can be lost."""
    for _ in range(tries - 1):
        pane.keys(key)
        try:
            pane.wait_for(needle, DEADLINE / 2)
            return
        except AssertionError:
            continue
    pane.keys(key)
    pane.wait_for(needle)


def test_the_tui_stopped_mid_fix_ends_the_fix_then_closes(
        held_lab: HeldLab, tmp_path: Path, panes: list[Pane]) -> None:
    """The fix runs in the app's worker thread; SIGTERM waits for it, then the wizard
    closes its record (the fix in it) and restores the terminal."""
    lab = held_lab
    state = lab.prefix / "state"
    pane = open_pane(panes, tmp_path, [sys.executable, "-m", "wizard", "--nginx-conf",
                                       lab.nginx_conf, "--url", lab.url("/index.php")],
                     lab_env(lab))
    pane.wait_for("press f or 1", 60)
    press_until(pane, "f", "y Run it")  # the first cause's fix: its plan (and `y` below)
    pane.keys("y")
    wait_until(lab.held.exists, "the fix's validation to start", 60)
    pid = journal(state)[0]["pid"]

    os.kill(pid, signal.SIGTERM)
    journaled(state, lambda r: r["type"] == "signal" and r["during"] == "fix")
    assert psutil.pid_exists(pid)  # it waits for the fix, which waits for us
    lab.release()

    assert pane.wait_exit() == str(128 + signal.SIGTERM)
    assert terminal_is_sane(stty_after(pane))
    records = journal(state)
    fixes = [r["fix"] for r in records if r["type"] == "fix"]
    assert len(fixes) == 1 and fixes[0]["succeeded"] is True, fixes
    assert records[-1]["type"] == "close" and records[-1]["ended_by"] == "SIGTERM"
    assert page_status(lab) == 200


# -- practice --------------------------------------------------------------------------------

@pytest.mark.root
def test_practice_stopped_by_sigterm_restores_the_terminal_and_sweeps(
        tmp_path: Path, panes: list[Pane]) -> None:
    from tests.practice.support import (
        require_practice,
        sandbox_home,
        wait_for_sandbox,
        wait_until_clean,
    )

    require_practice()
    with sandbox_home() as home:
        pane = open_pane(panes, tmp_path, [sys.executable, "-m", "wizard", "practice",
                                           "php_fpm_down"],
                         {"TMPDIR": str(home), "XDG_STATE_HOME": str(tmp_path)})
        pane.wait_for("The answer (practice)", 60)
        seen = wait_for_sandbox(home)
        wizard = [p.pid for p in psutil.process_iter(["cmdline"])
                  if (p.info["cmdline"] or [])[-2:] == ["practice", "php_fpm_down"]
                  and p.info["cmdline"][0] == sys.executable]
        assert len(wizard) == 1, wizard

        os.kill(wizard[0], signal.SIGTERM)

        assert pane.wait_exit() == str(128 + signal.SIGTERM)
        assert terminal_is_sane(stty_after(pane))
        wait_until_clean(home, seen)
