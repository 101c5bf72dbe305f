"""Helpers for the practice tests: run the real `practice` command with its temporary
folders in a folder of the test's own, and find whatever a sandbox left behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from tests.support import require
from wizard.practice.parts import PartMissing, find_parts

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 120.0
GONE_TIMEOUT = 20.0  # a sweep waits 5 s for a server to stop before it kills it
POLL = 0.05


def require_practice(phpfpm: bool = True) -> None:
    """Skip (fail under CI=true) where practice cannot run: root, nginx, PHP-FPM."""
    try:
        parts = find_parts()
        if phpfpm:
            parts.require_phpfpm()
    except PartMissing as exc:
        require(False, str(exc))


@contextmanager
def sandbox_home() -> Iterator[Path]:
    """A folder for the sandboxes (TMPDIR of the practice command). Not under pytest's
    tmp_path: that sits in /tmp/pytest-of-root (0700), where the workers' user could not
    reach the sandbox's files."""
    home = Path(tempfile.mkdtemp(prefix="practice-test-", dir="/tmp"))
    home.chmod(0o755)
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(home)}


def practice(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m wizard practice ARGS` with its sandboxes in `home`."""
    return subprocess.run([sys.executable, "-m", "wizard", "practice", *args],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
                          cwd=REPO, env=environment(home))


def headless(home: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """`practice --headless ARGS`: (exit code, the JSON it printed)."""
    done = practice(home, "--headless", *args)
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"practice printed no JSON (exit {done.returncode}):\n"
                             f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}") from None


def processes_in(home: Path) -> dict[int, str]:
    """Every process whose command line names a path in `home`, and all their children
    (nginx and PHP-FPM workers name no path): pid -> command line."""
    found: dict[int, str] = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if f"{home}/" not in line:
            continue
        found[proc.pid] = line
        with contextlib.suppress(psutil.Error):
            found.update({child.pid: " ".join(child.cmdline())
                          for child in proc.children(recursive=True)})
    return found


def alive(pids: set[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid)
            and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def leftovers(home: Path, seen: set[int] | None = None) -> list[str]:
    """What a practice left: processes naming `home`, any of `seen` (the pids it ran,
    workers too) still alive, and files in `home` (sockets included)."""
    running = {**processes_in(home), **{pid: "(seen running)" for pid in alive(seen or set())}}
    return [f"{pid} {line}" for pid, line in running.items()] + [
        str(path) for path in home.iterdir()]


def wait_until_clean(home: Path, seen: set[int] | None = None,
                     timeout: float = GONE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while leftovers(home, seen) and time.monotonic() < deadline:
        time.sleep(POLL)  # polling for the sweep to finish, with a deadline
    assert not leftovers(home, seen), leftovers(home, seen)


def wait_for_sandbox(home: Path, timeout: float = GONE_TIMEOUT) -> set[int]:
    """The pids of the sandbox's processes (workers too), once a master runs there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = processes_in(home)
        if any("master process" in line for line in running.values()):
            return set(running)
        time.sleep(POLL)
    raise AssertionError(f"no sandbox server started in {home}")
