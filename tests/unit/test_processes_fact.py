"""The `processes` fact, read from /proc, says of each process what psutil says of it: a
child started here with a name longer than the kernel keeps, arguments with spaces and a
carriage return, and this test process itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from wizard.host.facts import Facts
from wizard.options import Options

LONG_NAME = "nginx-502-wizard-test-sleeper"  # more than the 15 characters of comm


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    program = tmp_path / LONG_NAME
    shutil.copy(sys.executable, program)
    proc = subprocess.Popen([str(program), "-c", "import sys; sys.stdin.read()",
                             "two words", "carriage\rreturn"], stdin=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _psutil_says(pid: int) -> dict[str, Any]:
    proc = psutil.Process(pid)
    with proc.oneshot():
        return {"pid": pid, "ppid": proc.ppid(), "name": proc.name(),
                "cmdline": proc.cmdline(), "username": proc.username(),
                "create_time": proc.create_time()}


def test_each_process_reads_as_psutil_reads_it(sleeper: subprocess.Popen[bytes]) -> None:
    found = Facts(Options()).get("processes")
    by_pid = {p["pid"]: p for p in found}
    assert [p["pid"] for p in found] == sorted(by_pid)
    for pid in (sleeper.pid, os.getpid(), os.getppid()):
        assert by_pid[pid] == _psutil_says(pid)
    child = by_pid[sleeper.pid]
    assert child["name"] == LONG_NAME
    assert child["ppid"] == os.getpid()
    assert child["cmdline"][-2:] == ["two words", "carriage\nreturn"]
