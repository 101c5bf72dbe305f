"""Keys that work everywhere: help, the command palette, the size guard, Escape."""

from __future__ import annotations

import pytest

from tests.tui.conftest import screen_text
from tests.tui.states import drive, make_app, settle, wait_for
from wizard.tui.screens.help import KEYS, HelpScreen
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.screens.too_small import TooSmallScreen
from wizard.tui.screens.verdict import VerdictScreen
from wizard.tui.screens.walk import WalkScreen
from wizard.tui.widgets.step_detail import StepDetail


async def test_help_lists_every_key_and_escape_closes_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "question_mark"])
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        documented = " ".join(key for key, _ in KEYS)
        for binding in WalkScreen.BINDINGS:
            for key in binding.key.split(","):  # type: ignore[union-attr]
                name = {"question_mark": "?", "enter": "Enter", "escape": "Escape"}.get(key, key)
                assert name in documented or key.isdigit(), key
        for key, what in KEYS:
            assert f"{key:<14}{what}"[:50] in text
        await drive(pilot, ["escape"])
        assert isinstance(app.screen, WalkScreen)


async def test_terminal_too_small_overlay_follows_resizes() -> None:
    app = make_app()
    async with app.run_test(size=(70, 20)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        assert "terminal too small: need 80x24, have 70x20" in screen_text(app)
        await pilot.resize_terminal(79, 30)
        await wait_for(pilot, lambda: "have 79x30" in screen_text(app))
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
        await pilot.press("enter", "enter")  # the walk works once the window is big enough
        await settle(pilot)
        assert app.state.revealed == 1


async def test_q_quits_from_the_too_small_overlay() -> None:
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code == 0)


async def test_command_palette_runs_actions_by_name() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter"])
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Next step", "Re-run check", "Fix", "Evidence", "Cancel check",
                      "Summary", "Export Markdown", "Keys"):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"next step")
        await wait_for(pilot, lambda: "Next step" in screen_text(app))
        await pilot.press("enter")
        await settle(pilot)
        assert app.state.revealed == 1
        await pilot.press("ctrl+p", *"summary")
        await wait_for(pilot, lambda: "Causes found" in screen_text(app))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SummaryScreen)


async def test_tab_reaches_the_details_and_enter_still_walks() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "tab"])
        assert isinstance(app.focused, StepDetail)
        await drive(pilot, ["enter"])
        assert app.state.revealed == 1


async def test_no_color_keeps_every_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter", "k"])
        assert app.no_color
        text = screen_text(app)
        assert "> [!!] Is nginx running?" in text  # selection and status without colour
        assert "[!!] PROBLEM  Is nginx running?" in text


async def test_no_dialog_opens_once_the_wizard_is_ending() -> None:
    """A worker's result (the failing addresses, the verdict) can ask for a dialog after a
    stop signal began the exit; mounting it then met widgets already taken down (exit 1
    instead of 143 in CI). Here `?` arrives just after the exit began."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.quit_now(143, ended_by="SIGTERM")
        app.action_help()
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
    assert app.return_code == 143
