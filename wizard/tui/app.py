"""The Textual app: opens at once, fills in the host as facts arrive, walks the flow."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen

from wizard.engine.events import WalkFinished
from wizard.engine.facts_source import Facts, fact_or_reason, open_facts, save_snapshot
from wizard.engine.failing_addresses import FailingAddress, failing_addresses, use_address
from wizard.engine.report import build_report, render_markdown
from wizard.engine.runner import Session
from wizard.engine.transcript import FixOffer
from wizard.engine.transcript_store import save_transcript
from wizard.fixes.privilege import authenticate_on_terminal, check_access, probe_of
from wizard.flow.library import find_flow
from wizard.flow.model import Flow
from wizard.options import Options
from wizard.tui.ascii_scrollbar import use_ascii_scrollbars
from wizard.tui.background import wait_in_daemon
from wizard.tui.fix_backend import fix_backend_available
from wizard.tui.fix_gate import FixBlocked, fix_blocked
from wizard.tui.fix_verdict import verdict
from wizard.tui.messages import (
    CheckRerun,
    EngineEvent,
    FailingAddressesFound,
    FixFinished,
    FixOutput,
    HostFact,
    RootAccessProbed,
    WalkStalled,
)
from wizard.tui.palette import palette_commands
from wizard.tui.screens.confirm_quit import ConfirmQuitScreen
from wizard.tui.screens.fix_choice import FixChoiceScreen
from wizard.tui.screens.fix_confirm import FixConfirmScreen
from wizard.tui.screens.help import HelpScreen
from wizard.tui.screens.pick_address import PickAddressScreen
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.screens.too_small import MIN_SIZE, TooSmallScreen
from wizard.tui.screens.walk import WalkScreen
from wizard.tui.walk_state import Entry, WalkState
from wizard.tui.widgets.host_summary import HOST_FACTS, HostSummary


class WizardApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "nginx-502-wizard"
    COMMAND_PALETTE_DISPLAY = "^p"
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "request_quit", "Quit", key_display="q"),
    ]

    def __init__(self, flow: Flow, facts: Facts, *, check_timeout: float | None = None,
                 transcript_path: Path | None = None, fix_backend: bool | None = None,
                 ascii_only: bool | None = None, from_snapshot: bool | None = None) -> None:
        super().__init__()
        self.session = Session(flow, facts, on_event=self._engine_event,
                               check_timeout=check_timeout, headless=False)
        self.state = WalkState(self.session)
        self.walk = WalkScreen()
        self.transcript_path = transcript_path
        self.markdown_path: Path | None = None
        self.report: dict[str, Any] | None = None
        self.fix_backend = fix_backend_available() if fix_backend is None else fix_backend
        # Replayed facts describe another machine (or this one as it was): plans made from
        # them are shown, never run. Tests that stand recorded facts in for a live host
        # say so with from_snapshot=False.
        self.from_snapshot = facts.replay if from_snapshot is None else from_snapshot
        # The Linux console's font lacks rounded corners and most symbols: draw in ASCII.
        self.ascii_only = os.environ.get("TERM") == "linux" if ascii_only is None else ascii_only
        self.addresses_to_offer: list[FailingAddress] = []

    @property
    def fix_blocked(self) -> FixBlocked | None:
        """Why a confirmed fix cannot run here, or None when it can."""
        return fix_blocked(self.from_snapshot, self.fix_backend)

    def get_default_screen(self) -> Screen[Any]:
        return self.walk

    def on_mount(self) -> None:
        if self.ascii_only:
            self.add_class("-ascii")
            use_ascii_scrollbars()
        self.gather_host()
        # The rest of the flow's facts, in parallel behind the first screen, so each
        # Enter shows its finding at once instead of waiting for commands and probes.
        self.run_worker(partial(wait_in_daemon, self.session.prefetch), thread=True,
                        group="prefetch", exit_on_error=False)
        # Only a flow that requests the address needs one; a team's runbook may not.
        if not self.session.facts.options.url and "url_request" in self.session.facts_needed():
            self.screen_change_signal.subscribe(self, lambda _screen: self._offer_addresses())
            self.run_worker(self._find_failing_addresses, thread=True, group="addresses",
                            exit_on_error=False)
        self._check_size(self.size)

    def on_unmount(self) -> None:
        if self.ascii_only:
            use_ascii_scrollbars(False)

    # -- from threads ----------------------------------------------------------------------

    def post_safely(self, message: Message) -> None:
        """post_message from a worker thread, quietly dropped once the app has closed."""
        with contextlib.suppress(RuntimeError):  # the event loop is already closed
            self.post_message(message)

    def _engine_event(self, event: Any) -> None:
        self.post_safely(EngineEvent(event))

    def gather_host(self) -> None:
        for name in HOST_FACTS:
            self.run_worker(partial(self._gather_one, name), thread=True, group="host",
                            exit_on_error=False)

    def _gather_one(self, name: str) -> None:
        done, found = wait_in_daemon(partial(fact_or_reason, self.session.facts, name))
        if done:
            self.post_safely(HostFact(name, *found))

    def _find_failing_addresses(self) -> None:
        done, found = wait_in_daemon(partial(failing_addresses, self.session.facts))
        if done:
            self.post_safely(FailingAddressesFound(found or []))

    # -- messages --------------------------------------------------------------------------

    def on_failing_addresses_found(self, message: FailingAddressesFound) -> None:
        if any(address.can_request for address in message.addresses):
            self.addresses_to_offer = message.addresses
            self._offer_addresses()

    def _offer_addresses(self) -> None:
        """The pick list, once the walk screen is on top (not over help, a fix or the
        too-small notice), and only while no address is known."""
        if not self.addresses_to_offer or not isinstance(self.screen, WalkScreen):
            return
        addresses, self.addresses_to_offer = self.addresses_to_offer, []
        if self.session.facts.options.url or self.session.finished or self.state.fix_running:
            return
        self.push_screen(PickAddressScreen(addresses, self.session.facts.options.since_seconds,
                                           time.time()), self._address_chosen)

    def _address_chosen(self, url: str | None) -> None:
        if not url:
            return
        try:
            use_address(self.session.facts, url, self.session.transcript)
        except ValueError as exc:
            self.notify(f"That address cannot be requested: {exc}", severity="warning",
                        markup=False)
            return
        summary = self.walk.query_one(HostSummary)
        summary.url = url
        summary.update(summary.describe())

    def on_host_fact(self, message: HostFact) -> None:
        self.walk.query_one(HostSummary).set_fact(message.name, message.value, message.reason)

    def on_engine_event(self, message: EngineEvent) -> None:
        self.state.follow(message.event)
        self.walk.refresh_view(follow=True)
        if isinstance(message.event, WalkFinished):
            self.show_summary()

    def on_walk_stalled(self, message: WalkStalled) -> None:
        self.state.stop_running()
        if not self.state.waiting:
            self.walk.show_stalled(message.reason)
        self.walk.refresh_view()

    def on_check_rerun(self, message: CheckRerun) -> None:
        self.state.rechecks[message.index] = message.step
        self.state.stop_running()
        self.walk.refresh_view()

    # -- fixes -----------------------------------------------------------------------------

    def open_fix(self, entry: Entry) -> None:
        if self.state.fix_running:
            self.notify("A fix is already running.")
            return
        plans = entry.plans
        if len(plans) == 1:
            self._confirm_fix(entry.index, plans[0])
            return

        def chosen(offer_index: int | None) -> None:
            if offer_index is not None:
                self._confirm_fix(entry.index, plans[offer_index])

        self.push_screen(FixChoiceScreen(plans), chosen)

    def _confirm_fix(self, index: int, offer: FixOffer) -> None:
        self.push_screen(FixConfirmScreen(index, offer, self.fix_blocked))

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
        done, needs_password = wait_in_daemon(partial(_needs_password, offer.plan or {}))
        if done:
            self.post_safely(RootAccessProbed(index, offer, bool(needs_password)))

    def on_root_access_probed(self, message: RootAccessProbed) -> None:
        # Back on the main thread: suspending the app for sudo's prompt must happen here
        # (pexpect must not fork from a worker thread; see wizard/fixes/privilege.py).
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
        found = [s for s in self.screen_stack if isinstance(s, FixConfirmScreen)]
        return found[-1] if found else None

    def on_fix_output(self, message: FixOutput) -> None:
        if (screen := self._fix_screen()) is not None:
            screen.add_output(message.line)

    def on_fix_finished(self, message: FixFinished) -> None:
        self.state.record_fix(message.index, message.verdict, message.fixed,
                              message.applied.id if message.applied else None)
        self.walk.query_one(HostSummary).forget()
        self.gather_host()  # the fix changed the host: show it afresh
        self.walk.refresh_view()
        if (screen := self._fix_screen()) is not None:
            screen.finish(message.verdict, message.fixed, message.applied)
        if not isinstance(self.screen, FixConfirmScreen):
            self.notify(message.verdict, markup=False)

    # -- summary, saving, quitting ---------------------------------------------------------

    def show_summary(self) -> None:
        if not isinstance(self.screen, SummaryScreen):
            self.push_screen(SummaryScreen())

    @work(thread=True, group="report", exclusive=True, exit_on_error=False)
    def prepare_report(self) -> None:
        """Build the report and save the transcript off the UI thread (facts may be read)."""
        report, error = self._save()
        self.post_safely(SummaryScreen.Ready(report, error))

    def _save(self) -> tuple[dict[str, Any], str | None]:
        report = build_report(self.session.transcript, self.session.facts)
        self.report = report
        try:
            self.transcript_path = save_transcript(self.session.transcript, report,
                                                   self.transcript_path)
        except OSError as exc:
            return report, f"transcript not saved: {exc.strerror or exc}"
        return report, None

    def on_summary_screen_ready(self, message: SummaryScreen.Ready) -> None:
        if isinstance(self.screen, SummaryScreen):
            self.screen.show_report(message.report, message.error)

    def action_export(self) -> None:
        if self.report is None or self.transcript_path is None:
            self.notify("Open the summary first (s); the report is made there.")
            return
        path = self.transcript_path.with_suffix(".md")
        try:
            path.write_text(render_markdown(self.report), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Markdown not written: {exc.strerror or exc}", severity="error",
                        markup=False)
            return
        self.markdown_path = path
        self.notify(f"Markdown written to {path}", markup=False)
        if isinstance(self.screen, SummaryScreen):
            self.screen.show_markdown_path(path)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_request_quit(self) -> None:
        if self.state.fix_running:
            self.push_screen(ConfirmQuitScreen(), self._quit_confirmed)
            return
        self.quit_now()

    def _quit_confirmed(self, confirmed: bool | None) -> None:
        if confirmed:
            self.quit_now()

    async def action_quit(self) -> None:
        self.action_request_quit()  # ctrl+q too asks while a fix runs, and saves

    def quit_now(self) -> None:
        self.session.cancel()  # a running check ends within its poll interval
        self._save()
        self.exit(0)

    # -- size guard ------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size)

    def _check_size(self, size: Size) -> None:
        small = size.width < MIN_SIZE.width or size.height < MIN_SIZE.height
        if small and not isinstance(self.screen, TooSmallScreen):
            self.push_screen(TooSmallScreen())
        elif isinstance(self.screen, TooSmallScreen):
            if small:
                self.screen.show_size(size)
            else:
                self.pop_screen()

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from palette_commands(self)


def _needs_password(plan: dict[str, Any]) -> bool:
    try:
        return check_access(bool(plan.get("needs_root")), probe_of(plan)).needs_password
    except Exception:  # no verdict here: the fix's own access check then says why plainly
        return False


def run_tui(options: Options, *, snapshot: str | None = None,
            save_snapshot_to: str | None = None, check_timeout: float | None = None) -> int:
    """`nginx-502-wizard tui`: on this host's facts, or replaying `snapshot` (fixes shown,
    never run); afterwards the facts gathered are saved to `save_snapshot_to` if given."""
    flow = find_flow(options.flow, options.flow_dirs)
    facts = open_facts(options, snapshot)
    app = WizardApp(flow, facts, check_timeout=check_timeout, from_snapshot=bool(snapshot))
    app.run()
    if save_snapshot_to:
        save_snapshot(facts, save_snapshot_to)
    return app.return_code or 0
