"""Nothing is left behind, however a practice ends: the wizard quit with `q` (and names
the scenario only then), its terminal went away (tmux kill-session: SIGHUP, as a dropped
SSH session), Ctrl+C while it works headless, or a hard kill (SIGKILL: the watcher
process sweeps). Each run's sandboxes live in a folder of the test's own, so
"nothing left" is: no process naming it or started in it, no file in it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.e2e.pane import Pane
from tests.practice.support import (
    REPO,
    environment,
    processes_in,
    require_practice,
    sandbox_home,
    wait_for_sandbox,
    wait_until_clean,
)
from tests.support import require

pytestmark = [pytest.mark.root, pytest.mark.lab]
SCREEN_DEADLINE = 60.0  # the first screen waits for every check to run once


@pytest.fixture
def home() -> Iterator[Path]:
    require_practice()
    with sandbox_home() as folder:
        yield folder


@pytest.fixture
def pane(home: Path, tmp_path: Path) -> Iterator[Pane]:
    """`practice php_fpm_down` in a real terminal (tmux, 100x30)."""
    require(shutil.which("tmux") is not None, "tmux is not installed (apt-get install tmux)")
    pane = Pane(f"practice-{os.getpid()}", tmp_path / "exit-status")
    command = [sys.executable, "-m", "wizard", "practice", "php_fpm_down"]
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"; sleep 30', str(pane.status_file)]
    pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "wiz", "-x", "100", "-y", "30",
              "-c", str(REPO), "-e", f"TMPDIR={home}", "-e", f"XDG_STATE_HOME={tmp_path}",
              *record, *command)
    yield pane
    pane.tmux("kill-server")


def test_quitting_names_the_scenario_and_removes_the_sandbox(pane: Pane, home: Path) -> None:
    screen = pane.wait_for("The answer (practice)", SCREEN_DEADLINE)
    assert "PHP-FPM is stopped" not in screen  # the scenario is not given away
    seen = wait_for_sandbox(home)
    pane.keys("Enter")  # the walk: its title bar says practice too
    pane.wait_for("practice - nginx answers 502")
    pane.keys("q")
    assert pane.wait_exit() == "0"
    screen = pane.text()
    assert "Practice scenario: PHP-FPM is stopped, so every PHP page fails." in screen
    assert "The cause to find: PHP-FPM is not running." in screen
    wait_until_clean(home, seen)


def test_killing_the_terminal_removes_the_sandbox(pane: Pane, home: Path) -> None:
    pane.wait_for("The answer (practice)", SCREEN_DEADLINE)
    seen = wait_for_sandbox(home)
    pane.tmux("kill-session", "-t", "wiz")  # the pty goes: SIGHUP, as when SSH drops
    wait_until_clean(home, seen)


def test_a_hard_kill_of_the_wizard_is_swept_by_its_watcher(pane: Pane, home: Path) -> None:
    pane.wait_for("The answer (practice)", SCREEN_DEADLINE)
    seen = wait_for_sandbox(home)
    wizard = [pid for pid, line in _wizards().items() if "practice php_fpm_down" in line]
    assert len(wizard) == 1, wizard
    os.kill(wizard[0], signal.SIGKILL)
    wait_until_clean(home, seen)


def test_ctrl_c_while_headless_removes_the_sandbox(home: Path) -> None:
    # the timeout scenario's diagnosis waits on slow requests: time to interrupt it
    proc = subprocess.Popen([sys.executable, "-m", "wizard", "practice", "--headless",
                             "php_fpm_timeout"], cwd=REPO, env=environment(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = wait_for_sandbox(home)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 3, err
    assert "interrupted" in err
    wait_until_clean(home, seen | set(processes_in(home)))


def _wizards() -> dict[int, str]:
    found = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline[:1] == [sys.executable] and "wizard" in cmdline:
            found[proc.info["pid"]] = " ".join(cmdline)
    return found
