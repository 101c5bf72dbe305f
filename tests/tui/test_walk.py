"""The walk screen: next step, moving through steps, evidence, questions, re-run, cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from tests.tui.conftest import screen_text
from tests.tui.states import drive, make_app, recorded_facts, settle, wait_for
from wizard.flow.model import Flow, Node, Outcome
from wizard.host.facts import Facts
from wizard.outcome import CheckResult, Status
from wizard.tui.app import WizardApp
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.widgets.step_list import StepList

MASTER = {"pid": 812, "ppid": 1, "name": "nginx", "username": "root", "create_time": 1.0,
          "cmdline": ["nginx: master process [bold]nginx[/bold]\x1b[5m"]}


async def test_enter_walks_to_the_finding() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter"])
        text = screen_text(app)
        assert "[!!] Is nginx running?" in text
        assert "> [ >] Which pages fail?" in text  # the walk moved on to the question
        await drive(pilot, ["k"])
        text = screen_text(app)
        assert "[!!] PROBLEM  Is nginx running?" in text
        assert "nginx is not running, so nothing answers" in text
        assert "Evidence (1): press v to show" in text
        assert "no process named nginx: master" not in text  # folded
        await drive(pilot, ["v"])
        assert "process: no process named nginx: master" in screen_text(app)
        await drive(pilot, ["v"])
        assert "no process named nginx: master" not in screen_text(app)


async def test_up_down_j_k_move_through_done_steps() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter", "1"])
        step_list = app.walk.query_one(StepList)
        assert step_list.highlighted == 2
        await drive(pilot, ["k", "k"])
        assert step_list.highlighted == 0
        await drive(pilot, ["j"])
        assert step_list.highlighted == 1
        await drive(pilot, ["down"])
        assert step_list.highlighted == 2
        await drive(pilot, ["up", "up", "escape"])  # Escape jumps back to the newest step
        assert step_list.highlighted == 2


async def test_question_answered_with_a_number_key() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "2"])
        step = app.session.transcript.steps[1]
        assert (step.node, step.result, step.status) == ("symptom", "php", Status.PROBLEM)
        await drive(pilot, ["k"])
        assert "Only PHP pages fail, so PHP-FPM is the first suspect." in screen_text(app)


async def test_question_answered_with_arrows_and_enter() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter"])
        assert "> 1. Every page" in screen_text(app)
        await drive(pilot, ["down"])
        assert "> 2. Only PHP pages" in screen_text(app)
        await drive(pilot, ["enter"])
        assert app.session.transcript.steps[1].result == "php"


async def test_enter_on_a_question_asks_for_an_answer_and_does_not_move() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter", "escape", "space"])  # leave the answers; space = next
        assert len(app.session.transcript.steps) == 1
        assert app.session.current == "symptom"


async def test_end_of_walk_opens_the_summary() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter", "1", "enter"])
        assert isinstance(app.screen, SummaryScreen)
        await drive(pilot, ["escape"])
        assert "[ok] The end" in screen_text(app)
        await drive(pilot, ["enter"])  # at the end Enter opens the summary again
        assert isinstance(app.screen, SummaryScreen)


async def test_host_text_in_evidence_is_literal() -> None:
    app = make_app(recorded_facts(processes=[MASTER]))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k", "v"])
        text = screen_text(app)
        assert "[ok] OK  Is nginx running?" in text
        assert "process: nginx: master process [bold]nginx[/bold]\\x1b[5m" in text


async def test_r_runs_the_check_again_without_moving() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k", "r"])
        assert len(app.session.transcript.steps) == 1
        assert "Checked again: [!!] no nginx master process is running" in screen_text(app)


def slow_flow() -> Flow:
    return Flow(flow="slow", title="Slow", start="slow", nodes=[
        Node(id="slow", kind="check", check="test.tui_slow", title="A slow check",
             on={"ok": Outcome(text="done")})])


async def _cancel_with(key: str, test_checks: Callable[..., None], tmp_path: Path) -> None:
    release = threading.Event()

    def slow(facts: Facts) -> CheckResult:
        release.wait(20)
        return CheckResult("ok", "finished")

    test_checks("test.tui_slow", slow, timeout=30)
    app = WizardApp(slow_flow(), recorded_facts(), transcript_path=tmp_path / "t.json")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            # the check starts as the app opens: the walk shows it running at its head
            await wait_for(pilot, lambda: app.state.running)
            await wait_for(pilot, lambda: "Running the check..." in screen_text(app))
            text = screen_text(app)
            assert "Running the check..." in text and "(c or Escape cancels)" in text
            assert any(f"[ {c}] A slow check" in text for c in "|/-\\")
            await pilot.press(key)
            await settle(pilot)
            step = app.session.transcript.steps[0]
            assert step.status == Status.UNKNOWN
            assert "cancelled" in step.summary
    finally:
        release.set()


async def test_c_cancels_a_running_check(test_checks: Callable[..., None],
                                         tmp_path: Path) -> None:
    await _cancel_with("c", test_checks, tmp_path)


async def test_escape_cancels_a_running_check(test_checks: Callable[..., None],
                                              tmp_path: Path) -> None:
    await _cancel_with("escape", test_checks, tmp_path)


async def test_the_finding_stays_on_screen_until_enter_moves_on() -> None:
    """Between two checks, Enter runs one and shows what it found; only the next Enter
    moves on, so a person pressing Enter reads every finding on the way."""
    from wizard.flow.library import find_flow

    app = WizardApp(find_flow("nginx-502"), recorded_facts())
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter"])
        step_list = app.walk.query_one(StepList)
        assert step_list.highlighted == 0
        text = screen_text(app)
        assert "Press Enter to run this check." not in text
        await drive(pilot, ["enter"])
        assert step_list.highlighted == 1
        assert "[!!] PROBLEM  nginx running" in screen_text(app)
