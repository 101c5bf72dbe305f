"""A log rotated while the wizard reads it: the report says so (issue 12).

Real nginx in front of a stopped PHP-FPM writes real 502 lines to its error log. Then
`diagnose` runs through the CLI's own entry point, and the moment its reader has taken
the first line, the log is rotated the way logrotate does it (renamed to error.log.1, a
new empty error.log, nginx told to reopen its logs) - the hook of
tests/unit/test_hostile_logs.py, which makes the race happen every time without waiting
for it. The nginx log step must say, in words, in JSON and in Markdown, that the log was
rotated while it was read and that later lines are in the new file.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.lab.harness import Lab
from wizard import cli
from wizard.host import errorlog

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root


def rotate_after_first_line(monkeypatch: pytest.MonkeyPatch, lab: Lab) -> list[str]:
    """Rotate the lab's error log once the reader has read one line of it; returns the
    list of rotations done, so the test can see the race really happened."""
    real = errorlog.reverse_lines
    done: list[str] = []

    def rotate() -> None:
        os.replace(lab.error_log, lab.error_log + ".1")
        Path(lab.error_log).touch()
        if lab.nginx_pid:
            os.kill(lab.nginx_pid, signal.SIGUSR1)  # nginx reopens its logs, as logrotate asks
        done.append(lab.error_log)

    def reading(fh: IO[bytes], end: int, budget: list[int]) -> Iterator[bytes]:
        for number, line in enumerate(real(fh, end, budget)):
            if number == 1 and fh.name == lab.error_log and not done:
                rotate()
            yield line

    monkeypatch.setattr(errorlog, "reverse_lines", reading)
    return done


def diagnose(lab: Lab, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = cli.main(["diagnose", "--format", fmt, "--nginx-conf", lab.nginx_conf,
                     "--since", "10m", "--check-timeout", "30"])
    assert code == 1  # PHP-FPM is down: a problem is found
    return capsys.readouterr().out


def make_502s(lab: Lab) -> None:
    for _ in range(3):
        assert lab.request("/index.php")[0] == 502
    lab.wait_for_log("failed (2: No such file or directory)")


def test_a_log_rotated_mid_read_is_noted_in_the_log_step(
        make_lab: MakeLab, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    lab = make_lab(start_php=False)
    make_502s(lab)
    rotations = rotate_after_first_line(monkeypatch, lab)

    report: dict[str, Any] = json.loads(diagnose(lab, "json", capsys))

    assert rotations == [lab.error_log]
    [step] = [s for s in report["steps"] if s["node"] == "nginx_log"]
    assert f"Note: {lab.error_log} was moved or replaced while it was being read " \
           "(log rotation)" in step["summary"]
    assert f"lines written after the rotation are in the new {lab.error_log}" \
           in step["summary"]
    # the lines read before the rotation still count: the failure is found
    assert step["status"] == "problem"

    make_502s(lab)  # the new log gets lines of its own, to be read and rotated again
    rotations.clear()
    markdown = diagnose(lab, "markdown", capsys)
    assert rotations == [lab.error_log]
    assert "was moved or replaced while it was being read" in markdown
