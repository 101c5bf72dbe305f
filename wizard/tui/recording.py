"""The app's session record: the journal opened when the wizard opens (or reopened by
--resume), fed the engine's events, each report and how far the person has walked,
and closed when the wizard quits. A journal that cannot be written costs a notice,
never the diagnosis."""

from __future__ import annotations

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

    def follow(self, event: Event) -> None:
        """From the engine's thread: on disk before the screen hears of it."""
        if self.journal is not None:
            self.journal.follow(event)

    def position(self) -> None:
        if self.journal is not None:
            self.journal.position(self.app.state.revealed)

    def report(self, report: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.report(report)

    def close(self, report: dict[str, Any] | None) -> None:
        if self.journal is not None:
            self.journal.position(self.app.state.revealed)
            self.journal.close(report)
            self.journal = None
