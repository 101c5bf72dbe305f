"""The terminal shrinks to 40x10 in the middle of a step (issue 12): no crash, the notice
that the terminal is too small, and back at 80x24 the same step with the same content."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from tests.tui.conftest import screen_text
from tests.tui.states import drive, make_app, recorded_facts, settle, wait_for
from wizard.flow.model import Flow, Node, Outcome
from wizard.host.facts import Facts
from wizard.outcome import CheckResult
from wizard.tui.app import WizardApp
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.screens.too_small import TooSmallScreen
from wizard.tui.screens.verdict import VerdictScreen
from wizard.tui.screens.walk import WalkScreen
from wizard.tui.widgets.step_list import StepList

SMALL, NORMAL = (40, 10), (80, 24)
NOTICE = "terminal too small: need 80x24, have 40x10"


async def shrink(pilot: Pilot[WizardApp]) -> None:
    await pilot.resize_terminal(*SMALL)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TooSmallScreen))
    assert NOTICE in " ".join(screen_text(pilot.app).split())  # 40 columns wrap it


async def grow(pilot: Pilot[WizardApp]) -> None:
    await pilot.resize_terminal(*NORMAL)
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, TooSmallScreen))


async def test_shrinking_on_the_walk_screen_keeps_the_step_and_its_content() -> None:
    app = make_app()
    async with app.run_test(size=NORMAL) as pilot:
        await drive(pilot, ["enter", "enter", "k", "v"])  # a finding, its evidence open
        before = screen_text(app)
        assert "[!!] PROBLEM  Is nginx running?" in before
        assert "process: no process named nginx: master" in before
        highlighted = app.walk.query_one(StepList).highlighted

        await shrink(pilot)
        await drive(pilot, ["j", "enter"])  # keys while too small move nothing behind it
        assert isinstance(app.screen, TooSmallScreen)
        await grow(pilot)

        assert isinstance(app.screen, WalkScreen)
        assert app.walk.query_one(StepList).highlighted == highlighted
        assert screen_text(app) == before


def slow_flow() -> Flow:
    return Flow(flow="slow", title="Slow", start="slow", nodes=[
        Node(id="slow", kind="check", check="test.tui_slow", title="A slow check",
             on={"ok": Outcome(text="The slow check found nothing wrong.")})])


async def test_shrinking_while_a_check_runs_keeps_it_running_and_shows_it_after(
        test_checks: Callable[..., None], tmp_path: Path) -> None:
    release = threading.Event()

    def slow(facts: Facts) -> CheckResult:
        release.wait(20)
        return CheckResult("ok", "finished after the resize")

    test_checks("test.tui_slow", slow, timeout=30)
    app = WizardApp(slow_flow(), recorded_facts(), transcript_path=tmp_path / "t.json")
    try:
        async with app.run_test(size=NORMAL) as pilot:
            await wait_for(pilot, lambda: "Running the check..." in screen_text(app))

            await shrink(pilot)
            await grow(pilot)  # still running: the same step, still running

            assert app.state.running
            text = screen_text(app)
            assert "Running the check..." in text and "A slow check" in text

            await shrink(pilot)
            release.set()  # the check ends while the terminal is too small
            await wait_for(pilot, lambda: bool(app.session.transcript.steps))
            await settle(pilot)
            assert isinstance(app.screen, TooSmallScreen)  # nothing opened over the notice
            await grow(pilot)

            # what opens when checks end with the walk on top: the answer, then the walk
            await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
            assert "No cause of a 502 was found in 1 check." in screen_text(app)
            await drive(pilot, ["enter"])
            await wait_for(pilot, lambda: isinstance(app.screen, WalkScreen))
            assert "This check has run: press Enter" in " ".join(screen_text(app).split())
            await drive(pilot, ["enter"])  # as without the resize: Enter shows the finding
            await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))  # the end
            await drive(pilot, ["escape"])
            text = screen_text(app)
            assert "A slow check" in text and "The slow check found nothing wrong." in text, text
    finally:
        release.set()
