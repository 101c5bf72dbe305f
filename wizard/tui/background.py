"""Waiting on host work from a Textual thread worker without holding up quitting.

Textual's thread workers run in the event loop's executor, whose threads Python joins
at exit. Fact gathering can take seconds (commands with timeouts), so it runs in a daemon
thread and the worker only polls it, giving up as soon as the worker is cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from textual.worker import get_current_worker

POLL_SECONDS = 0.1


def wait_in_daemon(fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run fn in a daemon thread; (True, result) when it ends, (False, None) if cancelled."""
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(result=fn()), daemon=True,
                              name="tui-host")
    thread.start()
    worker = get_current_worker()
    while thread.is_alive():
        if worker.is_cancelled:
            return False, None
        thread.join(POLL_SECONDS)
    return True, box.get("result")

