"""What `diagnose` prints and the snapshot it saves go into tickets and chats: a token in
the failing address (in the request the wizard makes, and in the lines nginx logged for
it) is redacted there as in the session's records, while the report still says which
parameter it was, and the redacted snapshot still replays to the same diagnosis."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lab.harness import Lab
from tests.lab.scenario_support import REPO, WIZARD_TIMEOUT

MakeLab = Callable[..., Lab]
TOKEN = "T0k3nValue"


def diagnose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", "diagnose", *args],
                          capture_output=True, text=True, timeout=WIZARD_TIMEOUT,
                          check=False, cwd=REPO)


@pytest.fixture
def lab(make_lab: MakeLab) -> Lab:
    lab = make_lab(php=False, php_location=False,
                   locations="location /api/ { proxy_pass http://127.0.0.1:{closed_port}; }")
    assert lab.request(f"/api/cart?token={TOKEN}")[0] == 502  # nginx logs the request
    return lab


def test_printed_reports_and_the_snapshot_hold_no_token(lab: Lab, tmp_path: Path) -> None:
    url = lab.url(f"/api/cart?token={TOKEN}")
    snapshot = tmp_path / "facts.json"
    printed = {}
    for fmt in ("json", "text", "markdown"):
        done = diagnose("--nginx-conf", lab.nginx_conf, "--url", url, "--format", fmt,
                        "--since", "10m", "--transcript", str(tmp_path / f"{fmt}.json"),
                        *(["--save-snapshot", str(snapshot)] if fmt == "json" else []))
        assert done.returncode == 1, done.stdout + done.stderr
        printed[fmt] = done.stdout
    report = json.loads(printed["json"])
    assert report["causes"][0]["id"] == "upstream_down"
    for fmt, text in printed.items():
        assert TOKEN not in text, fmt
    assert "token=[redacted]" in printed["text"]
    saved = snapshot.read_text(encoding="utf-8")
    assert TOKEN not in saved and "token=[redacted]" in saved
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    replayed = diagnose("--from-snapshot", str(snapshot), "--format", "json",
                        "--transcript", str(tmp_path / "replayed.json"))
    assert replayed.returncode == 1, replayed.stderr
    assert [c["id"] for c in json.loads(replayed.stdout)["causes"]] == \
        [c["id"] for c in report["causes"]]
