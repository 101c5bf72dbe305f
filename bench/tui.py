"""TUI figures: the first screen in tmux against a bare Textual app launched the same
way, the TUI's peak memory on the largest config and log, and the key answer while a
check waits on an upstream that never answers (tests/tui/test_responsiveness.py, Pilot).

    python bench/run.py tui [--short]
"""

from __future__ import annotations

import atexit
import os
import shlex
import statistics
import subprocess
import time
import uuid
from pathlib import Path

from biglog import write_error_log
from config import big_site
from diagnose import closed_port_lab
from measure import PY, ROOT, Figure, run_once

MB = 1024 * 1024
DEADLINE = 60.0


# One tmux server of the bench's own, kept up by a session that outlives every run: with
# the default server, killing the last session shut it down while the next run's
# new-session was starting ("server exited unexpectedly"; that run then waited DEADLINE).
SOCKET = f"nginx-502-wizard-bench-{os.getpid()}"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
                          capture_output=True, text=True, timeout=10, check=False).stdout


def _keep_server() -> None:
    if subprocess.run(["tmux", "-L", SOCKET, "has-session", "-t", "keep"],
                      capture_output=True, timeout=10, check=False).returncode != 0:
        _tmux("new-session", "-d", "-s", "keep", "sleep 3600")
        atexit.register(_tmux, "kill-server")


def first_paint(argv: list[str]) -> tuple[float, int]:
    """Seconds from starting argv in a new 100x30 tmux session until its pane shows text,
    and the pid of the process in the pane (still running)."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    command = "cd " + shlex.quote(str(ROOT)) + " && exec " + shlex.join(argv)
    _keep_server()
    started = time.perf_counter()
    _tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", command)
    while time.perf_counter() - started < DEADLINE:
        if _tmux("capture-pane", "-p", "-t", name).strip():
            break
        time.sleep(0.005)
    painted = time.perf_counter() - started
    pid = int(_tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip() or 0)
    return painted, pid


def _quit(pid: int) -> None:
    for session in _tmux("list-sessions", "-F", "#{session_name} #{pane_pid}").splitlines():
        name, _, pane = session.partition(" ")
        if pane == str(pid):
            _tmux("kill-session", "-t", name)


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _settled(pid: int, quiet: float = 2.0) -> None:
    """Wait until the process has used no CPU for `quiet` seconds (its facts gathered)."""
    started, last, since = time.monotonic(), -1, time.monotonic()
    while time.monotonic() - started < DEADLINE:
        ticks = _cpu_ticks(pid)
        if ticks != last:
            last, since = ticks, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def paint_figure(runs: int) -> Figure:
    with closed_port_lab() as lab:
        ours = [PY, "-m", "wizard", "--nginx-conf", lab.nginx_conf,
                "--url", lab.url("/api/items")]
        base = [PY, str(ROOT / "bench" / "bare_app.py")]
        a, b = [], []
        for _ in range(runs):
            for argv, into in ((ours, a), (base, b)):
                painted, pid = first_paint(argv)
                _quit(pid)
                into.append(painted)
    ma, mb = statistics.median(a), statistics.median(b)
    return Figure("first paint: TUI vs bare Textual app (tmux)", ma / mb, 1.3, "x",
                  f"TUI {ma:.3f} s vs bare app {mb:.3f} s until the pane shows text",
                  "tmux new-session -d -x 100 -y 30 'python -m wizard --nginx-conf LAB "
                  "--url URL' (and bench/bare_app.py); poll capture-pane",
                  {"tui_s": ma, "bare_s": mb})


def memory_figure(work: Path, short: bool) -> Figure:
    servers, size = (200, 64 * MB) if short else (5000, 2048 * MB)
    site = big_site(work, servers)
    log = site.prefix / "logs" / "error.log"
    write_error_log(log, size)
    try:
        _painted, pid = first_paint([PY, "-m", "wizard", "--nginx-conf", site.nginx_conf])
        _settled(pid)
        peak = _peak_rss_mib(pid)
        _quit(pid)
    finally:
        log.unlink()
    return Figure(f"memory: TUI peak RSS ({servers} servers, {size // MB} MB log)", peak,
                  120.0, "MiB", f"TUI {peak:.1f} MiB (VmHWM once its checks settled)",
                  "python -m wizard --nginx-conf BIG/nginx.conf in tmux; VmHWM")


def responsiveness_figure() -> Figure:
    """The Pilot test asserts both halves: keys answer within 100 ms (median of twelve
    presses) while the check waits, and the check ends at its timeout as unknown."""
    test = ROOT / "tests" / "tui" / "test_responsiveness.py"
    done = run_once([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)])
    return Figure("responsiveness: key answer while a check waits (Pilot)",
                  float(done.code != 0), 0.0, "failed",
                  "passed" if done.code == 0 else f"pytest exit {done.code}",
                  "python -m pytest -q tests/tui/test_responsiveness.py")


def figures(work: Path, short: bool, runs: int) -> list[Figure]:
    return [paint_figure(runs), memory_figure(work, short), responsiveness_figure()]
