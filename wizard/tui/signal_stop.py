"""The wizard screen's answer to SIGTERM, SIGHUP and SIGINT (engine/shutdown.py): the
signal handler only notes the signal and hands over to the event loop; there, a fix in
flight is let finish (its own proof or rollback decides), then the session record is
closed as ended by the signal and the app exits, which restores the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
from types import FrameType
from typing import TYPE_CHECKING

from wizard.engine.shutdown import (
    DURING_CHECKS,
    DURING_FIX,
    DURING_WAITING,
    exit_status,
    signal_name,
)

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


class SignalStop:
    def __init__(self, app: WizardApp) -> None:
        self.app = app
        self.signum: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._noted = False  # the journal has its `signal` record
        self._ended = False

    def on_signal(self, signum: int) -> None:
        """From the signal handler: in the main thread, between two instructions of
        whatever ran; so only hand the work to the event loop (or to attach, before it)."""
        # Textual redraws its screen on SIGCONT (the return from Ctrl+Z), from its signal
        # handler. A hang-up comes with a SIGCONT, and redrawing a dead terminal from a
        # handler left the exit waiting forever on a writer thread that had died of EIO.
        signal.signal(signal.SIGCONT, _nothing_to_resume)
        _forget_a_hung_up_terminal()
        if self.signum is None:
            self.signum = signum
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to stop
                self._loop.call_soon_threadsafe(self._act)

    def attach(self) -> None:
        """The app is mounted and its loop runs: a signal from before is acted on now."""
        self._loop = asyncio.get_running_loop()
        if self.signum is not None:
            self._act()

    def ends_now(self) -> bool:
        """Where a fix ended (or was about to start): end the wizard now if a signal
        asked for it meanwhile. True when it is ending."""
        if self.signum is None:
            return False
        self._end()
        return True

    def _act(self) -> None:
        if self._ended or self.signum is None:
            return
        self._note()
        if self.app.state.fix_running:  # the fix's end (on_fix_finished) ends the wizard
            self.app.notify(f"Asked to stop ({signal_name(self.signum)}): the fix that is "
                            "running finishes first, then the wizard closes.",
                            severity="warning", timeout=30, markup=False)
            return
        self._end()

    def _note(self) -> None:
        if self._noted or self.signum is None:
            return
        self._noted = True
        state = self.app.state
        during = (DURING_FIX if state.fix_running else
                  DURING_CHECKS if state.ahead else DURING_WAITING)
        self.app.recording.signal(signal_name(self.signum), during)

    def _end(self) -> None:
        if self._ended or self.signum is None:
            return
        self._note()
        self._ended = True
        self.app.quit_now(exit_status(self.signum), ended_by=signal_name(self.signum))


def _nothing_to_resume(signum: int, frame: FrameType | None) -> None:
    """SIGCONT once the wizard is ending: the kernel continues the process; no redraw."""


def _forget_a_hung_up_terminal() -> None:
    """After a hang-up the terminal answers every write with EIO, and Textual's writer
    thread dies of the first one, after which its full queue blocks the exit. Standard
    streams that are still a terminal device but no longer a terminal (hung up) are
    pointed at /dev/null: what is left to draw goes nowhere. A live terminal is kept,
    so `kill -HUP` with the terminal still there restores it as usual."""
    hung_up = []
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if stat.S_ISCHR(os.fstat(fd).st_mode) and not os.isatty(fd):
                hung_up.append(fd)
    if not hung_up:
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in hung_up:
            os.dup2(null, fd)
    finally:
        os.close(null)
