"""A tmux pane driven like a person: type keys, read the screen, wait with a deadline."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

DEADLINE = 20.0
POLL = 0.05  # the poll interval of a wait with a deadline, not a synchronisation sleep


class Pane:
    def __init__(self, name: str, status_file: Path) -> None:
        # a server of its own per pane: a name reused right after `kill-server` can reach
        # the old server while it exits, which takes the new session down with it
        self.socket = f"{name}-{uuid.uuid4().hex[:8]}"
        self.status_file = status_file

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=10, check=False)
        return done.stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "wiz")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "wiz", *keys)

    def wait_for(self, needle: str, seconds: float = DEADLINE) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            screen = self.text()
            if needle in screen:
                return screen
            time.sleep(POLL)
        raise AssertionError(f"{needle!r} not on screen within {seconds}s"
                             f" ({self._ended()}):\n{self.text()}")

    def _ended(self) -> str:
        if self.status_file.exists() and self.status_file.read_text().strip():
            return f"the wizard exited with {self.status_file.read_text().strip()}"
        if not self.tmux("list-sessions"):
            return "the tmux session is gone"
        return "the wizard is still running"

    def wait_exit(self) -> str:
        """The wizard's exit status, written by the wrapper shell when it ends."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.status_file.exists() and self.status_file.read_text().strip():
                return self.status_file.read_text().strip()
            time.sleep(POLL)
        raise AssertionError(f"the wizard did not exit:\n{self.text()}")


