"""The nginx-504 flow's report speaks in words, as the 502 one does: no cause id, check,
fix action or log-signature name in the text and Markdown a person reads, for the real
timeouts recorded next to the flow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_plain_words_everywhere import internal_names, named

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = sorted((REPO / "flows" / "nginx-504.tests").glob("*.json"))


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.stem)
def test_the_504_report_names_no_internal_id(snapshot: Path, tmp_path: Path) -> None:
    url = json.loads(snapshot.read_text(encoding="utf-8"))["options"]["url"]
    for fmt in ("text", "markdown"):
        done = subprocess.run(
            [sys.executable, "-m", "wizard", "diagnose", "--flow", "nginx-504",
             "--from-snapshot", str(snapshot), "--url", url, "--format", fmt,
             "--transcript", str(tmp_path / "transcript.json")],
            capture_output=True, text=True, timeout=60, check=False, cwd=REPO)
        assert done.returncode in (0, 1), done.stderr
        assert named(done.stdout, internal_names()) == [], fmt
