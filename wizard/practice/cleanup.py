"""Whatever ends a practice run, its sandbox goes with it: no process, socket or file.

- a normal end, an error or Ctrl+C (KeyboardInterrupt): the `with` block sweeps;
- SIGHUP (the SSH session dropped, the tmux session was killed) and SIGTERM: Python's
  default would end the process on the spot, skipping every `finally`, so a handler
  sweeps first and then exits with the signal's usual status. While the wizard's screen
  is open, its own orderly stop (engine/shutdown.py) takes them instead: the screen
  closes and gives the terminal back, then the `with` block sweeps;
- anything else (SIGKILL, the OOM killer): the watcher process (reaper.py) notices that
  the wizard is gone and sweeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from types import FrameType, TracebackType
from typing import Any

from wizard.fixes.helper_argv import interpreter
from wizard.practice.sweep import sweep

WATCHER_TIMEOUT = 30.0
HANDLED = (signal.SIGHUP, signal.SIGTERM)


class SandboxCleanup:
    """`with SandboxCleanup(folder):` around everything that builds and uses a sandbox."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._lock = threading.RLock()  # the signal handler may interrupt a sweep
        self._swept = False
        self._previous: dict[int, Any] = {}
        self._watcher: subprocess.Popen[bytes] | None = None
        self._pipe: int | None = None

    def __enter__(self) -> SandboxCleanup:
        for sig in HANDLED:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        self._start_watcher()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.sweep()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._release_watcher()

    def sweep(self) -> None:
        with self._lock:
            if not self._swept:
                self._swept = True
                watcher = {self._watcher.pid} if self._watcher else set()
                sweep(self.prefix, spare=watcher)  # the watcher ends once released

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.sweep()
        os._exit(128 + signum)  # the terminal is gone: nothing left to restore or print

    def _start_watcher(self) -> None:
        """A background process, so not through commands.run: it must outlive a hard kill
        of this one. The pipe's write end stays here only (not inherited, PEP 446)."""
        read_end, self._pipe = os.pipe()
        try:
            self._watcher = subprocess.Popen(
                [interpreter(), "-I", "-m", "wizard.practice.reaper", self.prefix],
                stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd="/", start_new_session=True)
        finally:
            os.close(read_end)

    def _release_watcher(self) -> None:
        """Let the watcher see the end of the pipe and finish its (now empty) sweep."""
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if self._watcher is not None:
            try:
                self._watcher.wait(timeout=WATCHER_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._watcher.kill()
                self._watcher.wait()
