"""The benchmarks of bench/ in their short mode (small inputs, a few runs), as CI runs
them: each figure is compared with its baseline measured in the same run (a bare Textual
app, the runbook script, grep -cE, nginx -t), and the test fails when a figure is more
than 1.5 times its target: a regression of more than 50%. One test per group, so that a
failure names the part that got slower; the table of every figure is in the message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.harness import require_lab
from tests.support import require

ROOT = Path(__file__).resolve().parents[2]
GROUP_TIMEOUT = 900  # seconds: the short inputs take a minute or two on a busy 2-core box


def run_group(group: str, tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), group, "--short", "--json", str(out),
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=GROUP_TIMEOUT, check=False, cwd=ROOT)
    assert out.exists(), f"bench/run.py {group} --short did not finish:\n{done.stderr[-3000:]}"
    figures = json.loads(out.read_text())["figures"]
    assert figures, f"no figures measured for {group}"
    assert done.returncode == 0, (
        f"a figure of {group} is more than 1.5x its target (same-run baseline):\n"
        f"{done.stdout}")


def test_logs(tmp_path: Path) -> None:
    """Window of a big log against a small one; explain against grep -cE; its memory."""
    require(shutil.which("grep") is not None, "grep is needed as the baseline")
    run_group("logs", tmp_path)


@pytest.mark.lab
def test_config(tmp_path: Path) -> None:
    """The generated config of 5,000 servers loaded and checked against nginx -t."""
    require_lab()
    run_group("config", tmp_path)


@pytest.mark.lab
def test_diagnose(tmp_path: Path) -> None:
    """diagnose --url on a lab against the runbook script; diagnose's peak memory."""
    require_lab()
    run_group("diagnose", tmp_path)


@pytest.mark.lab
def test_tui(tmp_path: Path) -> None:
    """First paint against a bare Textual app in tmux; memory; keys while a check waits."""
    require_lab()
    require(shutil.which("tmux") is not None, "tmux is needed to time the first paint")
    run_group("tui", tmp_path)
