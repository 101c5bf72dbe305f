"""The Textual app: opens at once, fills in the host as facts arrive, walks the flow."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
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
from wizard.engine.report import build_report, render_markdown
from wizard.engine.runner import Session
from wizard.engine.transcript import FixOffer
from wizard.engine.transcript_store import save_transcript
from wizard.fixes.privilege import authenticate_on_terminal, check_access, probe_of
from wizard.flow.library import find_flow
from wizard.flow.model import Flow
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.tui.ascii_scrollbar import use_ascii_scrollbars
from wizard.tui.background import fact_or_reason, wait_in_daemon
from wizard.tui.fix_backend import fix_backend_available
from wizard.tui.fix_verdict import verdict
from wizard.tui.messages import (
    CheckRerun,
    EngineEvent,
    FixFinished,
    FixOutput,
    HostFact,
    WalkStalled,
)
from wizard.tui.palette import palette_commands
from wizard.tui.screens.confirm_quit import ConfirmQuitScreen
from wizard.tui.screens.fix_choice import FixChoiceScreen
from wizard.tui.screens.fix_confirm import FixConfirmScreen
from wizard.tui.screens.help import HelpScreen
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
                 ascii_only: bool | None = None) -> None:
        super().__init__()
        self.session = Session(flow, facts, on_event=self._engine_event,
                               check_timeout=check_timeout, headless=False)
        self.state = WalkState(self.session)
        self.walk = WalkScreen()
        self.transcript_path = transcript_path
        self.markdown_path: Path | None = None
        self.report: dict[str, Any] | None = None
        self.fix_backend = fix_backend_available() if fix_backend is None else fix_backend
        # The Linux console's font lacks rounded corners and most symbols: draw in ASCII.
        self.ascii_only = os.environ.get("TERM") == "linux" if ascii_only is None else ascii_only

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

    # -- messages --------------------------------------------------------------------------

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
        self.push_screen(FixConfirmScreen(index, offer, self.fix_backend))

    def start_fix(self, index: int, offer: FixOffer) -> None:
        plan = offer.plan or {}
        self._ensure_root(bool(plan.get("needs_root")), probe_of(plan))
        self.state.fix_running = True
        self._run_fix(index, offer)

    def _ensure_root(self, needs_root: bool, probe: list[str] | None) -> None:
        """When sudo wants a password, step aside and let sudo ask on the real terminal:
        the password never enters the app. Without a terminal, the fix reports the
        commands to run by hand."""
        if not check_access(needs_root, probe).needs_password:
            return
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

    def on_fix_output(self, message: FixOutput) -> None:
        if isinstance(self.screen, FixConfirmScreen):
            self.screen.add_output(message.line)

    def on_fix_finished(self, message: FixFinished) -> None:
        self.state.record_fix(message.index, message.verdict, message.fixed,
                              message.applied.id if message.applied else None)
        self.walk.query_one(HostSummary).forget()
        self.gather_host()  # the fix changed the host: show it afresh
        self.walk.refresh_view()
        if isinstance(self.screen, FixConfirmScreen):
            self.screen.finish(message.verdict, message.fixed)
        else:
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


def run_tui(options: Options, args: argparse.Namespace) -> int:
    from wizard.cli import _make_facts, _write

    flow = find_flow(options.flow, options.flow_dirs)
    facts = _make_facts(args, options)
    app = WizardApp(flow, facts, check_timeout=getattr(args, "check_timeout", None))
    app.run()
    if getattr(args, "save_snapshot", None):
        _write(args.save_snapshot, json.dumps(facts.to_snapshot(), indent=1) + "\n")
    return app.return_code or 0
