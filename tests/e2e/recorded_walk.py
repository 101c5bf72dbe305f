"""The recorded host both tmux tests walk (nginx stopped, tests/tui/data) and the keys
from the answer screen to the nginx step's evidence."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.pane import Pane

REPO = Path(__file__).resolve().parents[2]
FLOW = REPO / "tests" / "tui" / "flows" / "tui-test.yaml"
SNAPSHOT = REPO / "tests" / "tui" / "data" / "nginx-stopped.json"


def walk_to_nginx_evidence(pane: Pane) -> str:
    """From the answer screen: Enter to the walk, the nginx step, its evidence (v). The
    screen that shows it."""
    pane.keys("Enter")
    pane.wait_for("nginx 1.22.1 | conf /etc/nginx/nginx.conf")
    pane.keys("Enter")
    pane.wait_for("Answer with 1-2")
    pane.keys("k")
    pane.wait_for("nginx is not running, so nothing answers")
    pane.keys("v")
    return pane.wait_for("process: no process named nginx: master")
