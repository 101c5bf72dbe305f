"""A session survives `kill -9` of the wizard: the real TUI in tmux on a recorded snapshot
is killed once a step is journaled; `sessions list|show|export` still render it, and
`nginx-502-wizard --resume` (from another folder) reopens it at the question where it
stopped, with the checks run again, and closes it as finished."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pane import DEADLINE, POLL, Pane
from tests.support import require

REPO = Path(__file__).resolve().parents[2]
FLOW = "tests/tui/flows/tui-test.yaml"  # relative: --resume must find it from elsewhere
SNAPSHOT = "tests/tui/data/nginx-stopped.json"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    require(shutil.which("tmux") is not None, "tmux is not installed (apt-get install tmux)")
    return tmp_path / "state"


@pytest.fixture
def panes(tmp_path: Path) -> Iterator[list[Pane]]:
    opened: list[Pane] = []
    yield opened
    for pane in opened:
        pane.tmux("kill-server")


def open_wizard(panes: list[Pane], state: Path, cwd: Path, *args: str) -> Pane:
    pane = Pane(f"wizard-kill9-{os.getpid()}-{len(panes)}", state.parent / f"exit-{len(panes)}")
    panes.append(pane)
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"', str(pane.status_file)]
    pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "wiz", "-x", "80", "-y", "24",
              "-c", str(cwd), "-e", f"XDG_STATE_HOME={state}",
              "-e", f"PYTHONPATH={REPO}", "env", "TERM=xterm-256color", *record,
              sys.executable, "-m", "wizard", *args)
    return pane


def journal_records(state: Path) -> list[dict[str, Any]]:
    found = sorted((state / "nginx-502-wizard").glob("session-*.jsonl"))
    if not found:
        return []
    lines = found[0].read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def wait_for_record(state: Path, wanted: Callable[[dict[str, Any]], bool]
                    ) -> list[dict[str, Any]]:
    """The journal's records once one of them is `wanted`; fails after a deadline."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        records = journal_records(state)
        if any(wanted(r) for r in records):
            return records
        time.sleep(POLL)  # polling a file with a deadline, not a synchronisation sleep
    raise AssertionError(f"not journaled within {DEADLINE}s: {journal_records(state)}")


def sessions(state: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "wizard", "sessions", *args],
                          capture_output=True, text=True, timeout=60, check=True, cwd=REPO,
                          env={**os.environ, "XDG_STATE_HOME": str(state)})
    return done.stdout


def test_a_session_killed_with_kill_9_lists_renders_and_resumes(
        state: Path, panes: list[Pane], tmp_path: Path) -> None:
    pane = open_wizard(panes, state, REPO, "tui", "--flow", FLOW, "--from-snapshot", SNAPSHOT)
    pane.wait_for("1. nginx is not running")
    pane.keys("Enter")  # the walk, to its question
    pane.wait_for("nginx 1.22.1 | conf /etc/nginx/nginx.conf")
    pane.keys("Enter")
    pane.wait_for("Answer with 1-2")
    # a step, and where the person is (written as they walk), are on disk
    header = wait_for_record(state, lambda r: r["type"] == "step")[0]
    wait_for_record(state, lambda r: r["type"] == "position" and r["revealed"] == 1)
    assert header["type"] == "session"
    os.kill(header["pid"], signal.SIGKILL)  # no chance to close its record
    assert pane.wait_exit() == str(128 + signal.SIGKILL)
    assert all(r["type"] != "close" for r in journal_records(state))

    listed = sessions(state, "list").splitlines()
    assert len(listed) == 2 and "unfinished" in listed[1]
    assert listed[1].endswith("nginx is not running")
    shown = sessions(state, "show", "last")
    assert "State: unfinished: the wizard ended without closing its record" in shown
    assert "Stopped at the question: Does every page answer 502, or only PHP pages?" in shown
    assert "[PROBLEM] Is nginx running?: no nginx master process is running" in shown
    assert "1. nginx is not running" in shown and "$ service nginx start" in shown
    exported = sessions(state, "export", "last")
    assert exported.startswith("# 502 diagnosis (tui-test)")
    assert "- State: unfinished" in exported

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pane = open_wizard(panes, state, elsewhere, "--resume")
    pane.wait_for("Resumed the session of")
    pane.wait_for("Enter: walk through the checks")  # the answer opens once they ran
    pane.keys("Escape")  # from the answer to the walk: it waits at the same question
    pane.wait_for("Answer with 1-2")
    pane.keys("2")
    pane.wait_for("Most likely: nginx is not running")  # the walk ran on to its end
    pane.keys("q")
    assert pane.wait_exit() == "0"
    listed = sessions(state, "list").splitlines()
    assert len(listed) == 2 and " finished " in listed[1]  # one session, now finished
    shown = sessions(state, "show", "last")
    assert "Resumed: 1 time(s)" in shown
    assert "Does every page answer 502, or only PHP pages?: Only PHP pages" in shown
