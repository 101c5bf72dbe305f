"""The Textual app: opens at once, fills in the host as facts arrive, walks the flow.

`tui` paints its first screen before the session exists: the flow, its checks and fixes,
and the facts are read behind it in a worker (opening.py), then the walk screen takes its
place. So this module imports the engine, and the screens that show it, only inside the
methods that run once the session is made (issue 14: the first paint)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList

from wizard import TOOL_NAME
from wizard.engine.exit_codes import EXIT_USAGE
from wizard.engine.shutdown import OrderlyStop
from wizard.tui.ascii_scrollbar import use_ascii_scrollbars
from wizard.tui.background import wait_in_daemon
from wizard.tui.fix_backend import fix_backend_available
from wizard.tui.fix_gate import FixBlocked, fix_blocked
from wizard.tui.opening import (
    CannotOpen,
    Opened,
    Opening,
    OpeningRefused,
    SessionOpened,
    draws_on_a_terminal,
    open_parts,
)
from wizard.tui.palette import palette_commands
from wizard.tui.screens.opening import OpeningScreen
from wizard.tui.screens.too_small import MIN_SIZE, TooSmallScreen
from wizard.tui.signal_stop import SignalStop

if TYPE_CHECKING:
    from wizard.engine.facts_source import Facts
    from wizard.engine.runner import Session
    from wizard.engine.session_resume import ResumePoint
    from wizard.engine.transcript import FixOffer
    from wizard.fixes.privilege import Access
    from wizard.flow.model import Flow
    from wizard.options import Options
    from wizard.tui.address_input import AddressQuestion
    from wizard.tui.messages import (
        CheckRerun,
        EngineEvent,
        FailingAddressesFound,
        FixFinished,
        FixOutput,
        HostFact,
        RanAhead,
        ReportReady,
        RootAccessProbed,
        WalkStalled,
    )
    from wizard.tui.recording import Recording
    from wizard.tui.run_ahead import RunAhead
    from wizard.tui.screens.fix_confirm import FixConfirmScreen
    from wizard.tui.screens.walk import WalkScreen
    from wizard.tui.walk_state import WalkState

# The app's own actions that need the session: hidden while the first screen is up.
_NEED_THE_SESSION = {"help", "commands_run", "command_palette"}


class WizardApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "nginx-502-wizard"
    COMMAND_PALETTE_DISPLAY = "^p"
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "request_quit", "Quit", key_display="q"),
        Binding("w", "commands_run", "Commands run", show=False),
    ]

    # Made with the session (_take); until then `ready` is False and the opening screen is up.
    session: Session
    state: WalkState
    recording: Recording
    resumed: ResumePoint | None
    fix_backend: bool  # asking imports the fixes package: not before the first paint
    ahead: RunAhead
    walk: WalkScreen
    address: AddressQuestion

    def __init__(self, flow: Flow | None = None, facts: Facts | None = None, *,
                 opening: Opening | None = None, check_timeout: float | None = None,
                 transcript_path: Path | None = None, fix_backend: bool | None = None,
                 ascii_only: bool | None = None, from_snapshot: bool | None = None,
                 snapshot: str | None = None, resumed: ResumePoint | None = None) -> None:
        """`flow` and `facts`: the session is made now. Or `opening`: what to read behind
        the first screen, and the session is made then (run_tui)."""
        super().__init__()
        self.opening = opening
        self.ready = False  # the session is made and the walk screen is up
        self.closing = False  # quit_now began: no dialog opens any more (open_dialog)
        self.refused: str | None = None  # why `opening` could not be opened (exit 2)
        self._check_timeout = check_timeout
        self.verdict_due = True  # open the verdict once the checks ran and the walk is on top
        self.transcript_path = transcript_path
        self.markdown_path: Path | None = None
        self.report: dict[str, Any] | None = None
        self._fix_backend_given = fix_backend
        # Replayed facts describe another machine (or this one as it was): plans made from
        # them are shown, never run. Tests that stand recorded facts in for a live host
        # say so with from_snapshot=False.
        self._from_snapshot_given = from_snapshot
        self.from_snapshot = bool(from_snapshot if from_snapshot is not None
                                  else facts.replay if facts is not None
                                  else opening and opening.snapshot)
        # The Linux console's font lacks rounded corners and most symbols: draw in ASCII.
        self.ascii_only = os.environ.get("TERM") == "linux" if ascii_only is None else ascii_only
        self.signal_stop = SignalStop(self)  # SIGTERM, SIGHUP, SIGINT: an orderly end
        if flow is not None and facts is not None:
            self._take(Opened(flow, facts, snapshot, resumed), self._new_session(flow, facts))
        elif opening is None:
            raise TypeError("WizardApp needs a flow and its facts, or an opening")

    def _new_session(self, flow: Flow, facts: Facts) -> Session:
        from wizard.engine.runner import Session

        return Session(flow, facts, on_event=self._engine_event,
                       check_timeout=self._check_timeout, headless=False)

    def _take(self, opened: Opened, session: Session) -> None:
        """The session is made: everything that shows and records it."""
        from wizard.tui.address_input import AddressQuestion
        from wizard.tui.recording import Recording
        from wizard.tui.run_ahead import RunAhead
        from wizard.tui.screens.walk import WalkScreen
        from wizard.tui.walk_state import WalkState

        self.session = session
        self.state = WalkState(session)
        self.recording = Recording(self, opened.snapshot)  # the journal (--resume reads it)
        self.resumed = resumed = opened.resumed
        if resumed is not None:  # the person's answers and place; every check runs again
            session.answers.update(resumed.answers)
            self.state.revealed = resumed.revealed
            self.transcript_path = (self.transcript_path
                                    or resumed.record.path.with_suffix(".json"))
        if self._from_snapshot_given is None:
            self.from_snapshot = opened.facts.replay
        given = self._fix_backend_given
        self.fix_backend = fix_backend_available() if given is None else given
        self.ahead = RunAhead(self)
        self.walk = WalkScreen()
        self.address = AddressQuestion(self)  # asked when no --url was given
        self.ready = True

    @property
    def fix_blocked(self) -> FixBlocked | None:
        """Why a confirmed fix cannot run here, or None when it can."""
        return fix_blocked(self.from_snapshot, self.fix_backend)

    def get_default_screen(self) -> Screen[Any]:
        return self.walk if self.ready else OpeningScreen()

    def on_mount(self) -> None:
        if self.ascii_only:
            self.add_class("-ascii")
            use_ascii_scrollbars()
        if self.ready:
            self._begin()
        else:  # the opening screen is up: read the flow and the facts once it is painted
            self.call_after_refresh(self._open_behind_first_screen)

    def _open_behind_first_screen(self) -> None:
        if self.is_running:  # not closed before its first paint
            self.run_worker(self._open, thread=True, group="opening")

    def _open(self) -> None:
        """On a worker: the flow, its checks and the facts; then the session."""
        assert self.opening is not None
        try:
            opened = open_parts(self.opening)
        except CannotOpen as exc:
            self.post_safely(OpeningRefused(str(exc)))
            return
        self.post_safely(SessionOpened(opened, self._new_session(opened.flow, opened.facts)))

    def on_opening_refused(self, message: OpeningRefused) -> None:
        self.refused = message.reason  # run_tui prints it once the terminal is restored
        self.exit(EXIT_USAGE, return_code=EXIT_USAGE)

    def on_session_opened(self, message: SessionOpened) -> None:
        if self.return_code is not None:  # quit while it opened: nothing to show or run
            return
        self._take(message.opened, message.session)
        # Over the opening screen (Textual cannot replace the first screen), which is the
        # one on top: only q works there. Nothing closes the walk screen, so it stays hidden.
        self.push_screen(self.walk)
        self._begin()

    def _begin(self) -> None:
        """The walk screen is (about to be) up: record, read the host, run the checks."""
        self.recording.open()
        self.signal_stop.attach()  # a stop signal that came while opening acts now
        for note in self.resumed.notes if self.resumed else []:
            self.notify(note, timeout=10, markup=False)
        # The walk screen says the checks are on their way; their threads start once it
        # is painted, so reading the host never holds up (or shares the GIL with) it.
        self.state.ahead = True
        self.call_after_refresh(self._read_host_behind_first_screen)
        # What waits for the walk screen to be on top: the address question, then the verdict.
        self.screen_change_signal.subscribe(self, lambda _screen: self._on_top_changed())
        self._check_size(self.size)

    def _read_host_behind_first_screen(self) -> None:
        if not self.is_running:  # closed before its first paint: nothing to read for
            return
        self.gather_host()
        # The flow's facts, in parallel behind the first screen, then every check that
        # needs no person: the answer is on screen once they ran, without a key press.
        self.ahead.start(gather=True)
        # Only a flow that requests the address needs one; a team's runbook may not.
        if not self.session.facts.options.url and "url_request" in self.session.facts_needed():
            self.run_worker(self._find_failing_addresses, thread=True, group="addresses",
                            exit_on_error=False)

    def on_unmount(self) -> None:
        if self.ascii_only:
            use_ascii_scrollbars(False)

    # -- from threads ----------------------------------------------------------------------

    def post_safely(self, message: Message) -> None:
        """post_message from a worker thread, quietly dropped once the app is closing
        (its screens are being taken down: a handler would find no widgets)."""
        if not self.is_running:
            return
        with contextlib.suppress(RuntimeError):  # the event loop is already closed
            self.post_message(message)

    def _engine_event(self, event: Any) -> None:
        from wizard.engine.events import PROGRESS_EVENTS
        from wizard.tui.messages import EngineEvent

        self.recording.follow(event)
        if isinstance(event, PROGRESS_EVENTS):  # the rest is for the session's record only
            self.post_safely(EngineEvent(event))

    def gather_host(self) -> None:
        from wizard.tui.widgets.host_summary import HOST_FACTS

        for name in HOST_FACTS:
            self.run_worker(partial(self._gather_one, name), thread=True, group="host",
                            exit_on_error=False)

    def _gather_one(self, name: str) -> None:
        from wizard.engine.facts_source import fact_or_reason
        from wizard.tui.messages import HostFact

        done, found = wait_in_daemon(partial(fact_or_reason, self.session.facts, name))
        if done:
            self.post_safely(HostFact(name, *found))

    def _find_failing_addresses(self) -> None:
        from wizard.engine.failing_addresses import failing_addresses
        from wizard.tui.messages import FailingAddressesFound

        done, found = wait_in_daemon(partial(failing_addresses, self.session.facts))
        if done:
            self.post_safely(FailingAddressesFound(found or []))

    # -- messages --------------------------------------------------------------------------

    def on_failing_addresses_found(self, message: FailingAddressesFound) -> None:
        self.address.found(message.addresses)

    def _on_top_changed(self) -> None:
        self.address.offer()
        self.show_verdict()

    def address_given(self) -> None:
        """The walk so far read no address: walk again from the start with it (the
        checks that request it, and the log lines it causes, change)."""
        self.verdict_due = True
        self.ahead.start(self.session.restart, gather=True, discard=True)
        self._progress_changed()

    def on_host_fact(self, message: HostFact) -> None:
        from wizard.tui.widgets.host_summary import HostSummary

        self.walk.query_one(HostSummary).set_fact(message.name, message.value, message.reason)

    def on_engine_event(self, message: EngineEvent) -> None:
        from wizard.engine.events import WalkFinished

        self.state.follow(message.event)
        self.walk.refresh_view()
        if not isinstance(message.event, WalkFinished):
            self._progress_changed()

    def _progress_changed(self) -> None:
        from wizard.tui.screens.summary import SummaryScreen
        from wizard.tui.screens.verdict import VerdictScreen

        self.walk.show_progress()
        for screen in self.screen_stack:
            if isinstance(screen, (SummaryScreen, VerdictScreen)) and self.state.ahead:
                screen.show_progress()

    def on_ran_ahead(self, message: RanAhead) -> None:
        self.state.ahead = self.state.checking_again = False
        self.walk.refresh_view()
        self.walk.show_progress()
        self.prepare_report()

    def on_report_ready(self, message: ReportReady) -> None:
        from wizard.tui.screens.summary import SummaryScreen
        from wizard.tui.screens.verdict import VerdictScreen

        self.walk.show_progress()
        for screen in self.screen_stack:
            if isinstance(screen, (SummaryScreen, VerdictScreen)):
                screen.show_report(message.report, message.error)
        self.show_verdict()

    def show_verdict(self) -> None:
        """The verdict, once the checks ran (and again after a fix), when the walk screen
        is on top: never over a fix, the help or the address question."""
        from wizard.tui.screens.verdict import VerdictScreen
        from wizard.tui.screens.walk import WalkScreen

        if not self.verdict_due or self.report is None or self.state.ahead:
            return
        if self.address.pending:
            return  # the address first: with it, the checks run again
        if any(isinstance(screen, VerdictScreen) for screen in self.screen_stack):
            self.verdict_due = False
        elif isinstance(self.screen, WalkScreen):
            self.verdict_due = False
            self.open_dialog(VerdictScreen(self.report))

    # -- questions -------------------------------------------------------------------------

    def answer_question(self, node_id: str, key: str) -> None:
        """The person answered: keep it, and run on from that question if it changes the
        walk (the answer taken by default was another one, or the walk waited there)."""
        state = self.state
        at_head = state.entries()[-1].node.id == node_id
        if at_head:
            state.revealed += 1
        taken = next((s.result for s in reversed(self.session.transcript.steps)
                      if s.node == node_id), None)
        if state.ahead and taken != key:  # cut back once the run ahead has let go
            self.ahead.start(partial(self._answer_in_session, node_id, key), discard=True)
        elif self._answer_in_session(node_id, key) and not state.ahead:
            self.ahead.start()
        self.walk.refresh_view(follow=at_head)

    def _answer_in_session(self, node_id: str, key: str) -> bool:
        from wizard.engine.runner import AnswerRequired
        from wizard.tui.messages import WalkStalled

        try:
            return self.session.answer(node_id, key)
        except AnswerRequired as exc:
            self.post_safely(WalkStalled(str(exc)))
            return False

    def ask_from_verdict(self) -> None:
        """`a` on the verdict: the question the walk waits at, else the first one taken by
        default whose answer could change the verdict."""
        from wizard.tui.screens.question import QuestionScreen

        session = self.session
        waiting = self.state.stopped_at()
        if waiting is not None:
            node, current = waiting, None
        else:
            asked = self.state.questions_to_ask()
            if not asked:
                self.notify("No question could change this verdict.")
                return
            node, current = session.flow.by_id[asked[0].node], asked[0].result

        def answered(key: str | None) -> None:
            if key is not None:
                self.verdict_due = False
                self.answer_question(node.id, key)

        self.open_dialog(QuestionScreen(node, current), answered)

    def on_walk_stalled(self, message: WalkStalled) -> None:
        self.state.stop_running()
        self.walk.show_stalled(message.reason)
        self.walk.refresh_view()

    def on_check_rerun(self, message: CheckRerun) -> None:
        self.state.rechecks[message.index] = message.step
        self.state.stop_running()
        self.walk.refresh_view()

    # -- fixes -----------------------------------------------------------------------------

    def open_cause_fix(self, report: dict[str, Any], number: int) -> None:
        """`f` (the first cause) or a cause's number on the verdict or the summary."""
        from wizard.tui.cause_fixes import cause_fixes

        causes = report.get("causes") or []
        if not 1 <= number <= len(causes):
            self.notify("No cause has that number." if causes else "No cause was found, so "
                        "there is nothing to fix.")
            return
        found = cause_fixes(causes[number - 1], self.session.transcript.steps)
        if not found.offers:
            self.notify(f"No automatic fix for: {found.title}. The explanation says what to "
                        "do by hand.", markup=False)
            return
        self.open_offers(found.offers)

    def open_offers(self, offers: list[tuple[int, FixOffer]]) -> None:
        """The plan of the one fix offered, or first the choice between several."""
        from wizard.tui.screens.fix_choice import FixChoiceScreen

        if self.state.fix_running:
            self.notify("A fix is already running.")
            return
        if len(offers) == 1:
            self._confirm_fix(*offers[0])
            return

        def chosen(offer_index: int | None) -> None:
            if offer_index is not None:
                self._confirm_fix(*offers[offer_index])

        self.open_dialog(FixChoiceScreen([offer for _, offer in offers]), chosen)

    def _confirm_fix(self, index: int, offer: FixOffer) -> None:
        from wizard.tui.screens.fix_confirm import FixConfirmScreen

        self.open_dialog(FixConfirmScreen(index, offer, self.fix_blocked))

    def start_fix(self, index: int, offer: FixOffer) -> None:
        blocked = self.fix_blocked
        if blocked is not None:  # the plan screen offers no `y` then; this is the last guard
            self.notify(blocked.hint, severity="warning", markup=False)
            return
        self.state.fix_running = True
        self._probe_root(index, offer)

    @work(thread=True, group="fix", exit_on_error=False)
    def _probe_root(self, index: int, offer: FixOffer) -> None:
        """Ask sudo how root can be had. `sudo -n -l` is a command that can take seconds,
        so it runs here, off the event loop: keys keep answering meanwhile."""
        from wizard.tui.messages import RootAccessProbed

        done, needs_password = wait_in_daemon(partial(_needs_password, offer.plan or {}))
        if done:
            self.post_safely(RootAccessProbed(index, offer, bool(needs_password)))

    def on_root_access_probed(self, message: RootAccessProbed) -> None:
        # Back on the main thread: suspending the app for sudo's prompt must happen here
        # (pexpect must not fork from a worker thread; see wizard/fixes/privilege.py).
        from wizard.fixes.privilege import probe_of

        if self.signal_stop.ends_now():  # told to stop meanwhile: no fix starts now
            return
        if message.needs_password:
            self._authenticate(probe_of(message.offer.plan or {}))
        self._run_fix(message.index, message.offer)

    def _authenticate(self, probe: list[str] | None) -> None:
        """sudo wants a password: step aside and let sudo ask on the real terminal, so the
        password never enters the app. Without a terminal, the fix reports the commands
        to run by hand."""
        try:
            with self.suspend():
                access = authenticate_on_terminal(probe)
        except SuspendNotSupported:
            self.notify("sudo needs a password, and this terminal cannot hand over to it.",
                        severity="warning")
            return
        if access.needs_password:
            self.notify("sudo did not accept a password; the fix will show the commands "
                        "to run yourself.", severity="warning")

    @work(thread=True, group="fix", exit_on_error=False)
    def _run_fix(self, index: int, offer: FixOffer) -> None:
        from wizard.tui.fix_verdict import verdict
        from wizard.tui.messages import FixFinished, FixOutput

        step = self.session.transcript.steps[index]
        try:
            applied = self.session.apply_fix(step, offer, lambda line: self.post_safely(
                FixOutput(line)))
        except Exception as exc:  # the back-end failing must still end in a plain verdict
            self.post_safely(FixFinished(index, None, f"Not fixed: the fix could not run: "
                                                      f"{exc}", False))
            return
        self.post_safely(FixFinished(index, applied, verdict(step, applied), applied.succeeded))

    def _fix_screen(self) -> FixConfirmScreen | None:
        """The fix's own screen, even under help or the quit question opened meanwhile."""
        from wizard.tui.screens.fix_confirm import FixConfirmScreen

        found = [s for s in self.screen_stack if isinstance(s, FixConfirmScreen)]
        return found[-1] if found else None

    def on_fix_output(self, message: FixOutput) -> None:
        if (screen := self._fix_screen()) is not None:
            screen.add_output(message.line)

    def on_fix_finished(self, message: FixFinished) -> None:
        from wizard.tui.widgets.host_summary import HostSummary

        self.state.record_fix(message.index, message.verdict, message.fixed,
                              message.applied.id if message.applied else None)
        if self.signal_stop.ends_now():  # a stop signal waited for this fix to end
            return
        self.walk.query_one(HostSummary).forget()
        self.gather_host()  # the fix changed the host: show it afresh
        if message.applied is not None and message.applied.commands:
            # Every step afresh, so none still shows the old problem or offers the same
            # fix again; then the verdict says what the site answers now.
            self.state.new_walk()
            self.walk.hold_place()
            self.verdict_due = True
            self.ahead.start(self.session.start_over, gather=True, discard=True)
            self._progress_changed()
        self.walk.refresh_view()
        if (screen := self._fix_screen()) is not None:
            screen.finish(message.verdict, message.fixed, message.applied)
        if self.screen is not self._fix_screen():
            self.notify(message.verdict, markup=False)

    # -- summary, saving, quitting ---------------------------------------------------------

    def show_summary(self) -> None:
        from wizard.tui.screens.summary import SummaryScreen

        if not isinstance(self.screen, SummaryScreen):
            self.open_dialog(SummaryScreen())

    def action_show_summary(self) -> None:
        self.show_summary()

    @work(thread=True, group="report", exclusive=True, exit_on_error=False)
    def prepare_report(self) -> None:
        """Build the report and save the transcript off the UI thread (facts may be read)."""
        from wizard.tui.messages import ReportReady

        report, error = self._save()
        self.post_safely(ReportReady(report, error))

    def _save(self) -> tuple[dict[str, Any], str | None]:
        from wizard.engine.report import build_report
        from wizard.engine.transcript_store import save_transcript

        report = build_report(self.session.transcript, self.session.facts)
        self.report = report
        self.recording.report(report)
        try:
            self.transcript_path = save_transcript(self.session.transcript, report,
                                                   self.transcript_path)
        except OSError as exc:
            return report, f"transcript not saved: {exc.strerror or exc}"
        return report, None

    def action_export(self) -> None:
        from wizard.engine.session_export import live_markdown
        from wizard.private_file import write_private
        from wizard.tui.screens.summary import SummaryScreen

        if self.report is None or self.transcript_path is None:
            self.notify("Open the summary first (s); the report is made there.")
            return
        path = self.transcript_path.with_suffix(".md")
        try:
            write_private(path, live_markdown(self.report, self.session))
        except OSError as exc:
            self.notify(f"Markdown not written: {exc.strerror or exc}", severity="error",
                        markup=False)
            return
        self.markdown_path = path
        self.notify(f"Markdown written to {path}", markup=False)
        if isinstance(self.screen, SummaryScreen):
            self.screen.show_markdown_path(path)

    def action_help(self) -> None:
        from wizard.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.open_dialog(HelpScreen())

    def action_commands_run(self) -> None:
        from wizard.tui.screens.commands_run import CommandsRunScreen

        if not isinstance(self.screen, CommandsRunScreen):
            self.open_dialog(CommandsRunScreen())

    def on_option_list_option_highlighted(self, _message: OptionList.OptionHighlighted) -> None:
        if self.ready:
            self.recording.position()  # every step revealed moves the highlight of the steps

    def action_request_quit(self) -> None:
        if self.ready and self.state.fix_running:
            from wizard.tui.screens.confirm_quit import ConfirmQuitScreen

            self.open_dialog(ConfirmQuitScreen(), self._quit_confirmed)
            return
        self.quit_now()

    def _quit_confirmed(self, confirmed: bool | None) -> None:
        if confirmed:
            self.quit_now()

    async def action_quit(self) -> None:
        self.action_request_quit()  # ctrl+q too asks while a fix runs, and saves

    def open_dialog(self, screen: Screen[Any],
                    callback: Callable[[Any], None] | None = None) -> None:
        """Push a screen, unless the wizard is ending: a worker's result (the addresses to
        pick from, the verdict) can arrive after a stop signal began the exit, and a
        screen mounted then would meet widgets already taken down."""
        if not self.closing:
            self.push_screen(screen, callback)

    def _handle_exception(self, error: Exception) -> None:
        """Once the exit began, a screen that mounts in the same moment (a dialog pushed
        just before a stop signal) finds its widgets already taken down: NoMatches from
        its on_mount. That must not turn an orderly 128+n exit into a crash (exit 1)."""
        if self.closing and isinstance(error, NoMatches):
            return
        super()._handle_exception(error)

    def quit_now(self, code: int = 0, ended_by: str | None = None) -> None:
        """`ended_by`: the signal that asked the wizard to end (signal_stop.py), if any."""
        self.closing = True
        if not self.ready:  # still opening: nothing has run, nothing to save
            self.exit(code, return_code=code)
            return
        self.ahead.stop()
        self.session.cancel()  # a running check ends within its poll interval
        report, _ = self._save()
        self.recording.close(report, ended_by)
        self.exit(code, return_code=code)

    # -- size guard ------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size)

    def _check_size(self, size: Size) -> None:
        if not self.ready:  # _begin checks it; only the walk screen goes over the opening
            return
        small = size.width < MIN_SIZE.width or size.height < MIN_SIZE.height
        if small and not isinstance(self.screen, TooSmallScreen):
            self.open_dialog(TooSmallScreen())
        elif isinstance(self.screen, TooSmallScreen):
            if small:
                self.screen.show_size(size)
            else:
                self.pop_screen()

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.ready:
            yield from palette_commands(self)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the opening screen is up only quitting works (and the footer says so):
        the rest needs the session, and would open a screen where the walk screen goes."""
        return self.ready or action not in _NEED_THE_SESSION


def check_access(needs_root: bool, probe: list[str] | None = None) -> Access:
    """wizard.fixes.privilege's, loaded when a fix starts (importing that package loads
    every fix action): the first screen does not wait for it. Tests stand in for sudo
    by replacing this name and the next."""
    from wizard.fixes import privilege

    return privilege.check_access(needs_root, probe)


def authenticate_on_terminal(probe: list[str] | None = None) -> Access:
    from wizard.fixes import privilege

    return privilege.authenticate_on_terminal(probe)


def _needs_password(plan: dict[str, Any]) -> bool:
    from wizard.fixes.privilege import probe_of

    try:
        return check_access(bool(plan.get("needs_root")), probe_of(plan)).needs_password
    except Exception:  # no verdict here: the fix's own access check then says why plainly
        return False


def run_tui(options: Options, *, snapshot: str | None = None,
            save_snapshot_to: str | None = None, check_timeout: float | None = None,
            resume: bool = False, flow: Flow | None = None) -> int:
    """`nginx-502-wizard tui`: on this host's facts, or replaying `snapshot` (fixes shown,
    never run); afterwards the facts gathered are saved to `save_snapshot_to` if given.
    `resume`: the newest unfinished session instead, with its options (session_resume).
    `flow`: options.flow already loaded (the command line refuses a broken one first).
    On a terminal these are read behind the first screen; one that cannot be used ends
    the wizard, and its reason is printed once the terminal is restored (exit 2)."""
    opening = Opening(options, snapshot, resume, flow)
    if draws_on_a_terminal():
        app = WizardApp(opening=opening, check_timeout=check_timeout)
    else:  # no first screen to hurry: open first, and refuse before Textual draws
        try:
            opened = open_parts(opening)
        except CannotOpen as exc:
            return _refuse(str(exc))
        app = WizardApp(opened.flow, opened.facts, check_timeout=check_timeout,
                        snapshot=opened.snapshot, resumed=opened.resumed)
    with OrderlyStop(app.signal_stop.on_signal):
        app.run()
    if app.refused is not None:
        return _refuse(app.refused)
    if save_snapshot_to:
        _save_facts(app, opening, save_snapshot_to)
    return app.return_code or 0


def _refuse(reason: str) -> int:
    print(f"{TOOL_NAME}: {reason}", file=sys.stderr)
    return EXIT_USAGE


def _save_facts(app: WizardApp, opening: Opening, path: str) -> None:
    """The facts the session gathered; quit before it was made, those of `opening`
    (a snapshot's, or none yet of this host's)."""
    from wizard.engine.facts_source import open_facts, save_snapshot

    facts = app.session.facts if app.ready else open_facts(opening.options, opening.snapshot)
    save_snapshot(facts, path)
