"""Measuring whole processes: wall time and peak memory, medians over several runs.

Every figure compares the wizard with a baseline measured in the same run on the same
machine (a bare Textual app, a shell runbook, grep, `nginx -t`), so a busy machine moves
both sides and the ratio stays meaningful.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass
class Run:
    wall: float  # seconds
    rss_mib: float  # peak resident memory of the process (and its waited-for children)
    code: int
    cpu: float = 0.0  # user + system seconds, children included


TIME = shutil.which("time", path="/usr/bin:/bin")


def run_once(argv: list[str], stdout: Path | None = None, stdin: Path | None = None,
             env: dict[str, str] | None = None, cwd: Path = ROOT) -> Run:
    """One run of argv. The peak RSS is GNU time's (%M): a child forked from this Python
    process would count the pages it shares with it until exec, so wait4's figure here
    would be this process's size, not the command's."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    inp = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [TIME, "-q", "-f", "%M", "-o", rss.name, *argv] if TIME else argv
        try:
            started = time.perf_counter()
            proc = subprocess.Popen(wrapped, stdin=inp, stdout=out, stderr=subprocess.DEVNULL,
                                    env={**os.environ, **(env or {})}, cwd=cwd)
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        finally:
            for handle in (out, inp):
                if hasattr(handle, "close"):
                    handle.close()  # type: ignore[union-attr]
        text = rss.read().strip().splitlines()
    kib = int(text[-1]) if TIME and text and text[-1].isdigit() else usage.ru_maxrss
    return Run(wall, kib / 1024, os.waitstatus_to_exitcode(status),
               usage.ru_utime + usage.ru_stime)


def medians(runs: list[Run]) -> Run:
    return Run(statistics.median(r.wall for r in runs),
               statistics.median(r.rss_mib for r in runs), max(r.code for r in runs),
               statistics.median(r.cpu for r in runs))


def side_by_side(ours: list[str], base: list[str], runs: int,
                 **kwargs: Any) -> tuple[Run, Run]:
    """Medians of ours and of the baseline, runs interleaved so that a burst of load on
    the machine falls on both."""
    a, b = [], []
    for _ in range(runs):
        a.append(run_once(ours, **kwargs))
        b.append(run_once(base, **kwargs))
    return medians(a), medians(b)


@dataclass
class Figure:
    """One measured figure against its target: `value` <= `limit` meets it."""

    name: str
    value: float
    limit: float
    unit: str  # "x" for a ratio to the baseline, "ms", "MiB", "s"
    detail: str  # what was compared, with the medians
    command: str  # how to reproduce it
    extra: dict[str, Any] = field(default_factory=dict)
    ci: bool = True  # checked in short mode (a ratio to a same-run baseline, or memory)

    @property
    def met(self) -> bool:
        return self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    model = "?"
    for line in _first_line(["sh", "-c", "lscpu | grep 'Model name'"]).splitlines():
        model = line.split(":", 1)[-1].strip()
    mem = "?"
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return {"cpu": model, "cores": str(os.cpu_count()), "memory": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "nginx": _first_line([nginx, "-v"]).replace("nginx version: ", ""),
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg())}
