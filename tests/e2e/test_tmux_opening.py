"""On a real terminal `tui` reads the flow behind its first screen (wizard/tui/opening.py):
a broken flow still ends it with exit 2, and its one-line reason is on the terminal once
Textual has given the screen back."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from tests.e2e.pane import Pane
from tests.support import require

REPO = Path(__file__).resolve().parents[2]


def test_a_broken_flow_is_refused_on_the_terminal(tmp_path: Path) -> None:
    require(shutil.which("tmux") is not None, "tmux is not installed (apt-get install tmux)")
    flow = tmp_path / "unknown.yaml"
    flow.write_text("flow: broken\nstart: a\nnodes:\n"
                    "  - {id: a, kind: check, check: no.such.check, default: {next: b}}\n"
                    "  - {id: b, kind: end, text: done}\n")
    pane = Pane(f"wizard-e2e-opening-{os.getpid()}", tmp_path / "exit-status")
    # tmux does not always keep a dead pane's status, so a shell records it in a file; the
    # pane stays open afterwards so its last words can be read, on one line at this width.
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"; exec cat', str(pane.status_file)]
    pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "wiz", "-x", "250", "-y", "24",
              "-c", str(REPO), "-e", f"XDG_STATE_HOME={tmp_path}", *record,
              sys.executable, "-m", "wizard", "tui", "--flow", str(flow))
    try:
        assert pane.wait_exit() == "2"
        screen = pane.wait_for(f"nginx-502-wizard: {flow}:4: unknown check 'no.such.check'")
        assert "Traceback" not in screen, screen
    finally:
        pane.tmux("kill-server")
