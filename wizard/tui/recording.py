"""The app's session record: the journal opened when the wizard opens (or reopened by
--resume), fed the engine's events, each report and how far the person has walked,
and closed when the wizard quits. A journal that cannot be written costs a notice,
never the diagnosis."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from wizard.engine.events import Event
from wizard.engine.session_journal import SessionJournal, journal_path
from wizard.engine.transcript_store import session_path

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


class Recording:
    def __init__(self, app: WizardApp, snapshot: str | None = None) -> None:
        self.app = app
        self.snapshot = snapshot  # the file `--from-snapshot` replays, for the record
        self.journal: SessionJournal | None = None
        self._warned = threading.Lock()  # held once the person was told the record stopped

    def open(self) -> None:
        app = self.app
        try:
            if app.transcript_path is None:
                app.transcript_path = session_path(app.session.transcript.started)
            path = journal_path(app.transcript_path)
            if app.resumed is not None:
                self.journal = SessionJournal.resume(app.session, path)
            else:
                self.journal = SessionJournal.start(app.session, path, self.snapshot)
        except OSError as exc:
            app.notify(f"This session is not being recorded: {exc.strerror or exc}",
                       severity="warning", markup=False)
        self._warn_if_stopped()

    def follow(self, event: Event) -> None:
        """From the engine's thread: on disk before the screen hears of it."""
        if self.journal is not None:
            self.journal.follow(event)
            self._warn_if_stopped()

    def position(self) -> None:
        if self.journal is not None:
            self.journal.position(self.app.state.revealed)
            self._warn_if_stopped()

    def report(self, report: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.report(report)
            self._warn_if_stopped()

    def _warn_if_stopped(self) -> None:
        """Once, when a write failed (the disk is full): the walk goes on unrecorded.
        Called from the engine's and the report's threads too; notify only posts."""
        journal = self.journal
        if journal is None or journal.error is None or not self._warned.acquire(False):
            return
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.app.notify(f"This session is not being recorded ({journal.error}); the "
                            "diagnosis goes on.", severity="warning", markup=False)

    def signal(self, name: str, during: str) -> None:
        if self.journal is not None:
            self.journal.signal(name, during)

    def close(self, report: dict[str, Any] | None, ended_by: str | None = None) -> None:
        if self.journal is not None:
            self.journal.position(self.app.state.revealed)
            self.journal.close(report, ended_by)
            self.journal = None
