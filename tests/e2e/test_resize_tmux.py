"""The terminal window shrinks to 40x10 and grows back (issue 12), in a real terminal:
tmux runs `python -m wizard tui`, `tmux resize-window` resizes it, the test reads the
screen. No crash, the too-small notice, and at 80x24 the same step with its content."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.pane import Pane
from tests.e2e.recorded_walk import FLOW, REPO, SNAPSHOT, walk_to_nginx_evidence
from tests.support import require

NOTICE = "terminal too small: need 80x24, have"
REQUEST_WAITS = 30.0  # the check cut at --check-timeout, and the rest of the walk


def start(pane: Pane, tmp_path: Path, *wizard_args: str) -> None:
    require(shutil.which("tmux") is not None, "tmux is not installed (apt-get install tmux)")
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"', str(pane.status_file)]
    pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "wiz", "-x", "80", "-y", "24",
              "-c", str(REPO), "-e", "TERM=xterm-256color", "-e", f"XDG_STATE_HOME={tmp_path}",
              # COLUMNS and LINES (set in this pytest process by the time it runs) would
              # pin the wizard's idea of its size at 80x24 whatever the window is.
              "env", "-u", "COLUMNS", "-u", "LINES", "TERM=xterm-256color", *record,
              sys.executable, "-m", "wizard", "tui",
              *wizard_args)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    pane = Pane(f"wizard-resize-{os.getpid()}", tmp_path / "exit-status")
    yield pane
    pane.tmux("kill-server")


def resize(pane: Pane, width: int, height: int) -> None:
    pane.tmux("resize-window", "-t", "wiz", "-x", str(width), "-y", str(height))


def shrink_and_grow(pane: Pane) -> str:
    """40x10, the notice; then 80x24 again: the screen once the notice is gone."""
    resize(pane, 40, 10)
    small = pane.wait_for("have")
    assert NOTICE in " ".join(small.split()) and "40x10" in small, small  # 40 columns wrap it
    resize(pane, 80, 24)
    return pane.wait_for("palette")  # the footer: the wizard's own screen is back


def test_shrinking_on_the_walk_screen_keeps_the_step_and_its_evidence(
        pane: Pane, tmp_path: Path) -> None:
    start(pane, tmp_path, "--flow", str(FLOW), "--from-snapshot", str(SNAPSHOT))
    pane.wait_for("Fix: Start nginx")
    before = walk_to_nginx_evidence(pane)

    shrink_and_grow(pane)

    # the footer fits its words to the width a moment after the rest is drawn again
    after = pane.wait_for("f Plan: Start nginx")
    assert "process: no process named nginx: master" in after, after
    assert after == before
    pane.keys("q")
    assert pane.wait_exit() == "0"


@pytest.fixture
def silent_address() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: the wizard's request
    to it is a check that runs until its timeout."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_shrinking_while_a_check_runs_keeps_the_walk_going(
        pane: Pane, tmp_path: Path, silent_address: int) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n"
                    "    server { listen 127.0.0.1:9; location / { return 200; } }\n}\n")
    # The request would wait 15 s; 8 s is room enough to resize twice while it runs.
    start(pane, tmp_path, "--nginx-conf", str(conf), "--check-timeout", "8",
          "--url", f"http://127.0.0.1:{silent_address}/")
    running = pane.wait_for("now The address")  # the request waits on the silent address
    assert "> [  ] nginx installed" in running, running

    after = shrink_and_grow(pane)

    assert "> [  ] nginx installed" in after, after  # the same step, where it was
    assert "Checking:" in after or "The answer" in after, after
    pane.wait_for("The answer", REQUEST_WAITS)  # the checks went on and ended
    pane.keys("q")
    assert pane.wait_exit() == "0"
