"""An orderly stop when the wizard is told to end: SIGTERM (`kill`, a service manager),
SIGHUP (the SSH session or terminal went away) and SIGINT (Ctrl+C, or `kill -INT`).

Python's defaults would end the process on the spot for SIGTERM and SIGHUP (no record,
the terminal left raw) and raise KeyboardInterrupt anywhere for SIGINT, also between a
fix's edit and its validation. Instead, while an `OrderlyStop` is in place:

- a fix being applied is never cut: the signal is noted, the fix runs to its own end (its
  guards, validation, proof and rollback decide; every command has a timeout), and the
  wizard ends after it. Only sudo's password prompt, before anything ran, is cancelled;
- otherwise (checks running, or nothing) the front end stops now: headless, the signal
  unwinds the main thread as StopRequested; the TUI gets a callback and exits its loop;
- either way the record is written, the terminal is restored, and the exit status is
  128 + the signal's number, as a shell reports a process ended by that signal.

A signal the wizard was started with ignored (`nohup`, a shell's `trap '' HUP`) stays
ignored: whoever started it asked for that.
"""

from __future__ import annotations

import contextlib
import getpass
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import Any

from wizard import TOOL_NAME

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
DURING_FIX = "fix"
DURING_CHECKS = "checks"
DURING_WAITING = "waiting"  # for the person: nothing was running


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_status(signum: int) -> int:
    """What a shell shows for a process ended by this signal ($? after `kill -TERM`)."""
    return 128 + signum


class StopRequested(BaseException):
    """A stop signal arrived while nothing had to be finished first. A BaseException,
    like KeyboardInterrupt, so the `except Exception` of a check or a fact lets it by."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def say(line: str) -> None:
    """One line on stderr; quiet when the terminal is gone (SIGHUP: writes fail)."""
    with contextlib.suppress(OSError, ValueError):
        print(f"{TOOL_NAME}: {line}", file=sys.stderr, flush=True)


def echo(line: str) -> None:
    """A line of a fix's output on stdout. After a hang-up the terminal answers writes
    with an error (EIO): that must not cut the fix that is printing."""
    with contextlib.suppress(OSError, ValueError):
        print(line, flush=True)


def in_password_prompt(frame: FrameType | None) -> bool:
    """Was the main thread inside getpass (sudo's password, asked on the terminal)? A fix
    that waits there has run nothing yet, and a prompt nobody answers (`kill` from
    elsewhere) would hold the stop forever."""
    while frame is not None:
        if frame.f_code.co_filename == getpass.__file__:
            return True
        frame = frame.f_back
    return False


def ends_by_signal(status: int) -> bool:
    """Is this exit status one that an orderly stop on a signal returns?"""
    return status in {exit_status(signum) for signum in STOP_SIGNALS}


class OrderlyStop:
    """`with OrderlyStop() as stop:` around a command, in the main thread.

    `on_signal` is the front end's own answer to a signal (the TUI schedules its exit on
    its event loop); it runs in the main thread, between two Python instructions, so it
    must only hand the work on. Without it, the signal raises StopRequested unless a fix
    is in flight (see `fix_in_flight`)."""

    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        self.on_signal = on_signal
        self.signum: int | None = None  # the first stop signal received
        self.arrived_during = ""  # what was running when it came (DURING_*)
        self._fixing = 0
        self._lock = threading.Lock()
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal_name(self.signum) if self.signum is not None else ""

    @property
    def exit_status(self) -> int:
        assert self.signum is not None, "no stop signal arrived"
        return exit_status(self.signum)

    @property
    def during(self) -> str:
        return DURING_FIX if self._fixing else DURING_CHECKS

    def __enter__(self) -> OrderlyStop:
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may set handlers; signals reach it anyway
        for signum in STOP_SIGNALS:
            current = signal.getsignal(signum)
            if current is signal.SIG_IGN:
                continue  # started under nohup or `trap '' HUP`: leave it ignored
            self._previous[signum] = current
            signal.signal(signum, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    @contextlib.contextmanager
    def fix_in_flight(self) -> Iterator[None]:
        """While the block applies a fix, a stop signal waits for it. A signal that came
        during the block is acted on by the caller once the fix is recorded (`requested`)."""
        with self._lock:
            self._fixing += 1
        try:
            yield
        finally:
            with self._lock:
                self._fixing -= 1

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        if first:
            self.signum, self.arrived_during = signum, self.during
        if self.on_signal is not None:
            self.on_signal(signum)
            return
        if self._fixing:
            if in_password_prompt(frame):  # nothing has run yet: cancel the prompt, and
                raise KeyboardInterrupt  # so the fix (ask_on_tty reads it as no password)
            say(f"asked to stop ({signal_name(signum)}): the fix that is running "
                "finishes first (its checks, proof or rollback), then the wizard ends."
                if first else "still finishing the fix; each of its commands has a "
                "time limit.")
            return
        raise StopRequested(signum)
