"""Fixes: the footer names the fix, the plan is shown before anything runs, `y` runs it
through the real apply back-end, and the check is run again to say plainly if it worked."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path

from tests.tui.conftest import HOSTILE, MARKER, screen_text
from tests.tui.states import drive, make_app, settle, wait_for
from wizard.flow.model import Flow
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.outcome import Status
from wizard.tui.app import WizardApp
from wizard.tui.screens.confirm_quit import ConfirmQuitScreen
from wizard.tui.screens.fix_confirm import FixConfirmScreen
from wizard.tui.screens.verdict import VerdictScreen
from wizard.tui.screens.walk import WalkScreen
from wizard.tui.widgets.step_list import StepList

MarkerFlow = Callable[[str], Flow]


def marker_app(flow: Flow, tmp_path: Path) -> WizardApp:
    return WizardApp(flow, Facts(Options()), transcript_path=tmp_path / "session.json")


async def test_footer_names_the_fix_and_the_plan_is_shown_first() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k"])
        assert app.screen.active_bindings["f"].binding.description == "Fix: Start nginx"
        assert "f Fix: Start nginx" in screen_text(app)
        await drive(pilot, ["f"])
        assert isinstance(app.screen, FixConfirmScreen)
        text = screen_text(app)
        plan = app.session.transcript.steps[0].fixes[0].plan or {}
        expected = ["Fix: Start nginx", "Needs root: yes", "Undo:",
                    f"It worked when: {plan['verify']}"[:60], "Run it? y = yes, n or Escape = no"]
        expected += [f"$ {shlex.join(argv)}" for argv in plan["commands"] + plan["undo"]]
        for line in expected:
            assert line in text
        await drive(pilot, ["n"])
        assert isinstance(app.screen, WalkScreen)
        assert app.session.transcript.fixes == []  # nothing ran


async def test_no_fix_key_where_no_fix_is_offered() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "f"])  # the question has no fix
        assert isinstance(app.screen, WalkScreen)
        assert "f" not in app.screen.active_bindings  # not in the footer...
        said = [note.message for note in app._notifications]
        assert said == ["No fix is offered for this step."]  # ...yet f says so


async def test_without_the_back_end_the_plan_shows_but_cannot_run() -> None:
    app = make_app(fix_backend=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k"])
        assert "fix back-end not available" in screen_text(app)
        await drive(pilot, ["f", "y"])
        assert "fix back-end not available: run the commands yourself" in screen_text(app)
        assert app.session.transcript.fixes == []
        await drive(pilot, ["escape"])
        assert isinstance(app.screen, WalkScreen)


async def test_y_runs_the_fix_streams_output_and_proves_it(marker: MarkerFlow,
                                                          tmp_path: Path) -> None:
    app = marker_app(marker("touch"), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k"])
        text = screen_text(app)
        assert "The marker is missing." in text
        await drive(pilot, ["v"])
        assert HOSTILE.replace("\x1b", "\\x1b") in screen_text(app)  # evidence is literal
        await drive(pilot, ["f", "y"])
        assert MARKER["path"].exists()
        text = screen_text(app)
        assert "Fixed: the marker file exists" in text
        # printf's output: markup and the escape sequence show as typed, unstyled.
        assert "[bold]not markup[/bold] \\x1b[31mred" in text
        fix = app.session.transcript.fixes[0]
        assert fix.succeeded and fix.after.startswith("fixed")
        await drive(pilot, ["escape"])
        # every check ran again on the changed host; the answer says what is true now
        assert isinstance(app.screen, VerdictScreen)
        text = screen_text(app)
        assert "Create the marker: Fixed: the marker file exists" in text
        assert "No cause of a 502 was found after the fix, in 1 check." in text
        assert len(app.session.transcript.earlier_walks) == 1
        await drive(pilot, ["enter"])
        assert "[ok] Is the marker there? (fixed)" in screen_text(app)
        assert "The marker is missing." not in screen_text(app)  # no stale finding
        await drive(pilot, ["s"])
        text = screen_text(app)
        assert "Fixed in this session: The upstream is down or refuses connections" in text
        assert "- Create the marker: Fixed: the marker file exists" in text
        assert "Left to do: nothing found that is still wrong." in text


async def test_a_failing_fix_says_not_fixed(marker: MarkerFlow, tmp_path: Path) -> None:
    app = marker_app(marker("fail"), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k", "f", "y"])
        assert "Not fixed: the marker file is missing" in screen_text(app)
        await drive(pilot, ["escape"])
        # checked again: the answer leads with the fix's verdict and what is still wrong
        assert isinstance(app.screen, VerdictScreen)
        text = screen_text(app)
        assert "Create the marker: Not fixed: the marker file is missing" in text
        assert "Still found, after the fix, from 1 check:" in text
        await drive(pilot, ["enter"])
        assert app.walk.query_one(StepList).highlighted == 0
        assert app.state.entries()[0].status == Status.PROBLEM
        assert "Not fixed: the marker file is missing" in screen_text(app)


def release(fifo: Path) -> None:
    """Let the fix's `cat` end (no-op when it never started)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: nobody reads the fifo
        return
    os.write(fd, b"go\n")
    os.close(fd)


async def test_q_asks_only_while_a_fix_runs(marker: MarkerFlow, tmp_path: Path) -> None:
    fifo = Path(str(MARKER["path"]) + ".fifo")
    os.mkfifo(fifo)
    app = marker_app(marker("block"), tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await drive(pilot, ["enter", "enter", "k", "f"])
            await pilot.press("y")
            await wait_for(pilot, lambda: app.state.fix_running)
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuitScreen))
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, FixConfirmScreen))
            release(fifo)
            await settle(pilot)
            assert "Fixed: the marker file exists" in screen_text(app)
            await pilot.press("q")  # no fix runs now: quits at once
            await wait_for(pilot, lambda: app.return_code == 0)
    finally:
        release(fifo)
    assert (tmp_path / "session.json").exists()


async def test_several_fixes_are_chosen_by_number_before_the_plan(
        marker: MarkerFlow, tmp_path: Path) -> None:
    from wizard.flow.model import FixRef
    from wizard.tui.screens.fix_choice import FixChoiceScreen

    flow = marker("fail")
    outcome = flow.nodes[0].on["bad"]
    outcome.fixes = [*outcome.fixes, FixRef("test.touch", {**outcome.fixes[0].args,
                                                            "how": "touch"})]
    app = marker_app(flow, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter", "k", "f"])
        assert isinstance(app.screen, FixChoiceScreen)
        text = screen_text(app)
        assert "1. Create the marker" in text and "2. Create the marker" in text
        await drive(pilot, ["2"])
        assert isinstance(app.screen, FixConfirmScreen)
        assert "$ touch " in screen_text(app)  # the second plan, not the first
        await drive(pilot, ["y"])
        assert "Fixed: the marker file exists" in screen_text(app)
        await drive(pilot, ["escape", "f"])
        await drive(pilot, ["escape"])  # Escape on the choice backs out, nothing runs
        assert not isinstance(app.screen, (FixChoiceScreen, FixConfirmScreen))


async def test_v_after_a_fix_shows_every_command_with_its_raw_output(
        marker: MarkerFlow, tmp_path: Path) -> None:
    app = marker_app(marker("touch"), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter", "k", "f", "y"])
        assert "v shows every command's raw output." in screen_text(app)
        assert "Every command that ran" not in screen_text(app)  # behind `v` only
        await drive(pilot, ["v"])
        text = screen_text(app)
        assert "Every command that ran, with its output:" in text
        assert "[command: exit 0] $ printf" in text, text
        await drive(pilot, ["v"])
        assert "Every command that ran" not in screen_text(app)
