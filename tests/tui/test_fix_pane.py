"""The fix screen at 80x24: once `y` runs the fix, the output pane has the keys (the footer
says so), scrolls with Up, Down, PageUp, PageDown, Home and End, wraps a 300-character line
instead of cutting it at the edge, and leaves the verdict in sight under a long plan. The
raw output (`v`) reads the same way. The fix runs real commands through the real apply
back-end (printf, seq, true, touch in the test's temp folder)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.conftest import HOSTILE, MARKER, screen_text
from tests.tui.states import drive, settle
from wizard.fixes import ACTIONS
from wizard.fixes.base import FixPlan, fix_action, fix_id
from wizard.flow.model import FixRef, Flow
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.tui.app import WizardApp
from wizard.tui.screens.fix_confirm import FixConfirmScreen
from wizard.tui.widgets.output_pane import OutputPane
from wizard.tui.widgets.step_list import StepList

MarkerFlow = Callable[[str], Flow]
# 38 numbered words, 303 characters: each word must show whole somewhere in the pane.
LONG_LINE = " ".join(f"word{n:03d}" for n in range(1, 39))
LONG_WORDS = LONG_LINE.split()
EXTRA_STEPS = 12  # `true` commands that make the plan longer than the dialog


def _pane_plan(args: dict[str, str], facts: Facts) -> FixPlan:
    commands = [["printf", "%s\\n", LONG_LINE], ["printf", "%s\\n", HOSTILE],
                ["seq", "1", "30"], *[["true"]] * EXTRA_STEPS, ["touch", args["path"]]]
    return FixPlan(id=fix_id("test.pane", args), title="Fill the output pane",
                   commands=commands, needs_root=False, undo=[["rm", "-f", args["path"]]],
                   verify="the marker file exists")


@pytest.fixture
def pane_app(marker: MarkerFlow, tmp_path: Path) -> Iterator[WizardApp]:
    """The marker flow whose fix prints a long line, hostile text and 30 short lines."""
    fix_action("test.pane", params=("path",))(_pane_plan)
    flow = marker("touch")
    flow.nodes[0].on["bad"].fixes = [FixRef("test.pane", {"path": str(MARKER["path"])})]
    yield WizardApp(flow, Facts(Options()), transcript_path=tmp_path / "session.json")
    ACTIONS.pop("test.pane", None)


async def show_first_finding(pilot: Pilot[Any]) -> None:
    """Enter until the first check's finding is on the walk screen, then select that step
    (k), as a person would: the walk may show the finding on the first Enter or the next."""
    app = pilot.app
    assert isinstance(app, WizardApp)
    await settle(pilot)
    for _ in range(5):
        entries = app.state.entries()
        if entries and entries[0].step is not None:
            break
        await drive(pilot, ["enter"])
    for _ in range(10):
        if not app.walk.query_one(StepList).highlighted:
            return
        await drive(pilot, ["k"])


def footer(app: WizardApp) -> str:
    return screen_text(app).splitlines()[-1]


async def read_through(pilot: Pilot[Any], pane: OutputPane) -> str:
    """Home, then PageDown to the end: every screenful the pane shows on the way."""
    await pilot.press("home")
    await pilot.pause()
    seen = [screen_text(pilot.app)]
    for _ in range(100):
        if pane.scroll_y >= pane.max_scroll_y:
            return "\n".join(seen)
        await pilot.press("pagedown")
        await pilot.pause()
        seen.append(screen_text(pilot.app))
    raise AssertionError("PageDown never reached the end of the pane")


def shown_in(app: WizardApp, selector: str) -> str:
    """The screen's text inside one widget's region: what of it is really on screen."""
    region = app.screen.query_one(selector).region
    assert app.screen.region.contains_region(region)
    rows = screen_text(app).splitlines()[region.y:region.bottom]
    return "\n".join(row[region.x:region.right] for row in rows)


def whole_words_missing(text: str) -> list[str]:
    return [w for w in LONG_WORDS if not re.search(rf"\b{w}\b", text)]


async def test_the_output_pane_has_the_keys_wraps_and_keeps_the_verdict_in_sight(
        pane_app: WizardApp) -> None:
    app = pane_app
    async with app.run_test(size=(80, 24)) as pilot:
        await show_first_finding(pilot)
        await drive(pilot, ["f"])
        assert isinstance(app.screen, FixConfirmScreen)
        assert "Up/Dn PgUp/PgDn Scroll" in footer(app)  # the plan is longer than the dialog
        await drive(pilot, ["y"])
        log = app.screen.query_one("#fix-log", OutputPane)
        assert app.focused is log
        assert "Up/Dn PgUp/PgDn Scroll" in footer(app)
        # The verdict, under a plan longer than the dialog and 50 lines of output.
        verdict = shown_in(app, "#fix-verdict")
        assert "Fixed: the marker file exists" in verdict
        assert "Escape goes back to the steps." in verdict
        for key in ("Esc Back", "v Raw output", "q Quit", "? Help"):
            assert key in footer(app)
        assert 0 < log.max_scroll_y == log.scroll_y  # it followed the output to its end

        await drive(pilot, ["home"])
        assert log.scroll_y == 0
        assert "$ printf '%s\\n' 'word001 word002" in screen_text(app)
        await drive(pilot, ["pagedown"])
        page = log.scroll_y
        assert page > 1
        await drive(pilot, ["down"])
        assert log.scroll_y == page + 1
        await drive(pilot, ["up", "pageup"])
        assert log.scroll_y == 0
        await drive(pilot, ["end"])
        assert log.scroll_y == log.max_scroll_y

        seen = await read_through(pilot, log)
        assert not whole_words_missing(seen)  # wrapped, not cut at the pane's edge
        assert "[bold]not markup[/bold] \\x1b[31mred" in seen  # literal, unstyled
        assert "Fixed: the marker file exists" in shown_in(app, "#fix-verdict")


async def test_raw_output_takes_the_output_place_and_the_keys(pane_app: WizardApp) -> None:
    app = pane_app
    async with app.run_test(size=(80, 24)) as pilot:
        await show_first_finding(pilot)
        await drive(pilot, ["f", "y", "v"])
        raw = app.screen.query_one("#fix-raw", OutputPane)
        assert app.focused is raw and raw.scroll_y == 0
        text = screen_text(app)
        assert "Every command that ran, with its output:" in text
        assert "[command: exit 0] $ printf" in text
        assert "Fixed: the marker file exists" in shown_in(app, "#fix-verdict")
        assert "Up/Dn PgUp/PgDn Scroll" in footer(app)
        seen = await read_through(pilot, raw)
        assert not whole_words_missing(seen)
        await drive(pilot, ["v"])
        assert app.focused is app.screen.query_one("#fix-log", OutputPane)
        assert "Every command that ran" not in screen_text(app)


async def test_long_lines_wrap_again_when_the_terminal_narrows(pane_app: WizardApp) -> None:
    app = pane_app
    async with app.run_test(size=(120, 40)) as pilot:
        await show_first_finding(pilot)
        await drive(pilot, ["f", "y"])
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        log = app.screen.query_one("#fix-log", OutputPane)
        assert not whole_words_missing(await read_through(pilot, log))
        assert "Fixed: the marker file exists" in shown_in(app, "#fix-verdict")
