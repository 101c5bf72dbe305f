"""Asking sudo how root can be had (`sudo -n -l`, a command) happens off the event loop,
so keys answer while it runs; a password prompt still happens on the main thread, with
the app suspended (pexpect must not fork from a worker thread)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tui.conftest import MARKER, screen_text
from tests.tui.states import drive, settle, wait_for
from wizard.fixes.privilege import Access
from wizard.flow.model import Flow
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.tui import app as app_module
from wizard.tui.app import WizardApp
from wizard.tui.screens.help import HelpScreen

MarkerFlow = Callable[[str], Flow]


def marker_app(flow: Flow, tmp_path: Path) -> WizardApp:
    return WizardApp(flow, Facts(Options()), transcript_path=tmp_path / "session.json")


def on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


async def test_the_sudo_probe_runs_off_the_event_loop_and_keys_answer(
        marker: MarkerFlow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    probed_on_main: list[bool] = []

    def slow_probe(needs_root: bool, probe: list[str] | None = None) -> Access:
        probed_on_main.append(on_main_thread())
        release.wait(20)  # sudo taking its time (a slow PAM, a network directory)
        return Access("direct")

    monkeypatch.setattr(app_module, "check_access", slow_probe)
    app = marker_app(marker("touch"), tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await drive(pilot, ["enter", "enter", "k", "f"])
            await pilot.press("y")
            await wait_for(pilot, lambda: bool(probed_on_main))
            assert probed_on_main == [False]
            await pilot.press("question_mark")  # the app answers while sudo is asked
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            assert not MARKER["path"].exists()  # the fix waits for the probe's verdict
            release.set()
            await wait_for(pilot, lambda: not app.state.fix_running)
            await drive(pilot, ["escape"])  # help closes onto the fix's screen...
            assert MARKER["path"].exists()
            assert "Fixed: the marker file exists" in screen_text(app)  # ...with its verdict
    finally:
        release.set()


async def test_a_password_is_asked_on_the_main_thread_with_the_app_suspended(
        marker: MarkerFlow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked_on_main: list[bool] = []

    def authenticate(probe: list[str] | None = None) -> Access:
        asked_on_main.append(on_main_thread())
        return Access("sudo")

    monkeypatch.setattr(app_module, "check_access",
                        lambda needs_root, probe=None: Access("password", "sudo asks"))
    monkeypatch.setattr(app_module, "authenticate_on_terminal", authenticate)
    app = marker_app(marker("touch"), tmp_path)
    suspended: list[bool] = []

    @contextlib.contextmanager
    def suspend():  # type: ignore[no-untyped-def]
        suspended.append(True)  # the headless test driver cannot really suspend
        yield

    monkeypatch.setattr(app, "suspend", suspend)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k", "f", "y"])
        await wait_for(pilot, lambda: not app.state.fix_running)
        await settle(pilot)
    assert asked_on_main == [True] and suspended == [True]
    assert MARKER["path"].exists()


async def test_without_a_terminal_to_hand_over_the_fix_still_reports(
        marker: MarkerFlow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "check_access",
                        lambda needs_root, probe=None: Access("password", "sudo asks"))
    app = marker_app(marker("touch"), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k", "f", "y"])
        await wait_for(pilot, lambda: not app.state.fix_running)
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert "sudo needs a password, and this terminal cannot hand over to it." in messages
        assert app.session.transcript.fixes  # the fix went on and gave its verdict
