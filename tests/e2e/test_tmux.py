"""The real program in a real terminal: tmux at 80x24 runs `python -m wizard tui` on a
recorded facts snapshot; the test types keys and reads the screen like a person would."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.pane import Pane
from tests.e2e.recorded_walk import FLOW, REPO, SNAPSHOT, walk_to_nginx_evidence
from tests.support import require


@pytest.fixture(params=["xterm-256color", "linux"])
def pane(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pane]:
    require(shutil.which("tmux") is not None, "tmux is not installed (apt-get install tmux)")
    pane = Pane(f"wizard-e2e-{os.getpid()}-{request.param}", tmp_path / "exit-status")
    command = [sys.executable, "-m", "wizard", "tui", "--flow", str(FLOW),
               "--from-snapshot", str(SNAPSHOT)]
    # tmux does not always keep a dead pane's status, so a shell records it in a file.
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"', str(pane.status_file)]
    pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "wiz", "-x", "80", "-y", "24",
              "-c", str(REPO), "-e", f"TERM={request.param}",
              "-e", f"XDG_STATE_HOME={tmp_path}", "env", f"TERM={request.param}",
              *record, *command)
    yield pane
    pane.tmux("kill-server")


def test_walk_to_the_finding_in_a_real_terminal(pane: Pane, tmp_path: Path) -> None:
    # the answer first, with no key pressed: the cause and its fix one key away
    screen = pane.wait_for("Fix: Start nginx")
    assert "1. nginx is not running" in screen and "f or 1" in screen, screen
    screen = walk_to_nginx_evidence(pane)  # then the walk, step by step
    assert "[!!] Is nginx running?" in screen
    if "TERM=linux" in pane.tmux("show-environment", "-t", "wiz", "TERM"):
        assert screen.isascii(), "the Linux console cannot show every Unicode glyph"
    pane.keys("q")
    assert pane.wait_exit() == "0"
    saved = list((tmp_path / "nginx-502-wizard").glob("session-*.json"))
    assert len(saved) == 1
