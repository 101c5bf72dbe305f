"""The explain benchmark runs `grep -cE` with every signature translated to POSIX ERE
(bench/logs.py). A regex the translation gets wrong makes grep refuse the whole pattern
file and stop at once, and explain then looks hundreds of times slower than a grep that
did nothing: every signature must come out as a pattern grep accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import require

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_every_signature_is_a_pattern_grep_accepts(tmp_path: Path) -> None:
    require(shutil.which("grep") is not None, "grep is needed")
    sys.path.insert(0, str(BENCH))
    try:
        from logs import grep_patterns  # bench/logs.py, as bench/run.py imports it
    finally:
        sys.path.remove(str(BENCH))
    empty = tmp_path / "empty.log"
    empty.write_text("")
    refused = {}
    for pattern in grep_patterns():
        done = subprocess.run(["grep", "-cE", "-e", pattern, str(empty)], capture_output=True,
                              text=True, timeout=10, check=False, env={"LC_ALL": "C"})
        if done.returncode > 1:
            refused[pattern] = done.stderr.strip()
    assert not refused, refused
