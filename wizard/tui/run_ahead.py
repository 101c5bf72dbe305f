"""Running the session ahead of the person, off the event loop, one run at a time.

The app starts a run as soon as it opens (after gathering the flow's facts in parallel),
again from a question the person answered differently, and again from the start after a
fix or a newly given address. A new run first ends the one in progress: its check is
cancelled, and the new run begins only once the old one has let go of the session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from wizard.tui.background import wait_in_daemon
from wizard.tui.messages import RanAhead

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


class RunAhead:
    def __init__(self, app: WizardApp) -> None:
        self.app = app
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one run touches the session at a time

    def start(self, prepare: Callable[[], object] | None = None, *,
              gather: bool = False, discard: bool = False) -> None:
        """End any run in progress, then (on a worker) `prepare` the session, gather the
        flow's facts in parallel when `gather`, and run ahead. RanAhead is posted when
        the run ends by itself, not when a newer run replaced it. `discard`: `prepare`
        drops the steps ahead, so the check running now is cancelled, not waited for."""
        self._stop.set()
        if discard:
            self.app.session.cancel()
        self._stop = stop = threading.Event()
        self.app.state.ahead = True
        self.app.run_worker(partial(self._wait, stop, prepare, gather), thread=True,
                            group="ahead", exit_on_error=False)

    def stop(self) -> None:
        self._stop.set()

    def _wait(self, stop: threading.Event, prepare: Callable[[], object] | None,
              gather: bool) -> None:
        done, finished = wait_in_daemon(partial(self._run, stop, prepare, gather))
        if done and finished:
            self.app.post_safely(RanAhead())

    def _run(self, stop: threading.Event, prepare: Callable[[], object] | None,
             gather: bool) -> bool:
        session = self.app.session
        with self._lock:
            if stop.is_set():
                return False
            if prepare is not None:
                prepare()
            if gather:
                session.prefetch(wait=False)  # each check waits (with its timeout)
            session.run_ahead(stop)
            return not stop.is_set()
