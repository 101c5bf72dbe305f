"""The commands run to read the host for one session, in the order they ended: argv,
output, exit code, duration, and the fact they were read for.

It is what "Commands run" shows, so a junior admin can repeat the manual steps and a
senior can check them; the session journal writes each entry as it comes. A facts
snapshot carries its log, so a replay shows the commands that read the recorded host.
The commands of fixes are kept with the fix (AppliedFix.commands), not here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from wizard.host.commands import CommandResult, reported_to

OUTPUT_KEPT = 16_000  # characters per stream: `nginx -T` of a big site must not fill the log
Listener = Callable[[dict[str, Any]], None]


def _trimmed(text: str) -> str:
    if len(text) <= OUTPUT_KEPT:
        return text
    return f"{text[:OUTPUT_KEPT]}\n... ({len(text) - OUTPUT_KEPT} more characters not kept)"


def entry_of(result: CommandResult, purpose: str) -> dict[str, Any]:
    """A log entry: CommandResult.to_json() with its output trimmed, when it started and
    why it ran (the fact's name; for scripts, never shown to a person)."""
    data = result.to_json()
    data["stdout"], data["stderr"] = _trimmed(result.stdout), _trimmed(result.stderr)
    return {**data, "started": round(time.time() - result.duration, 3), "purpose": purpose}


class CommandLog:
    def __init__(self, entries: list[dict[str, Any]] | None = None,
                 replayed: bool = False) -> None:
        self._entries = list(entries or [])
        self.replayed = replayed  # from a snapshot: they ran when it was recorded, not now
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def add(self, result: CommandResult, purpose: str) -> None:
        entry = entry_of(result, purpose)
        with self._lock:  # listeners hear entries in the log's order
            self._entries.append(entry)
            for listener in self._listeners:
                listener(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def listen(self, listener: Listener, past: bool = True) -> Callable[[], None]:
        """Hear every entry from now on, and (`past`) those already logged first; returns
        how to stop hearing."""
        with self._lock:
            for entry in self._entries if past else []:
                listener(entry)
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop

    @contextmanager
    def recording(self, purpose: str) -> Iterator[None]:
        """Log the commands this thread runs meanwhile (wizard.host.commands.run)."""
        with reported_to(lambda result: self.add(result, purpose)):
            yield
