"""Show the work (w): every command the wizard ran, reading the host and fixing it, with
its output, exit code and duration, oldest first; host text literal; long lines wrapped;
the keys scroll it at 80x24. The Markdown export lists them too, `x` copies the summary,
and a session reopened with --resume keeps the person's answers and place."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Static

from tests.tui.conftest import HOSTILE, MARKER, screen_text
from tests.tui.states import FLOW, drive, make_app, recorded_facts
from wizard.engine.session_resume import resume_point
from wizard.engine.transcript_store import transcript_dir
from wizard.flow.loader import load_flow
from wizard.flow.model import Flow, Node, Outcome
from wizard.host.commands import run
from wizard.host.facts import PROVIDERS, Facts, fact
from wizard.options import Options
from wizard.outcome import CheckResult
from wizard.tui.app import WizardApp
from wizard.tui.screens.commands_run import CommandsRunScreen
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.screens.verdict import VerdictScreen

LONG = "BEGIN " + "x" * 300 + " END"  # wider than the screen: it must wrap, not be cut


def _reads_host(facts: Facts) -> dict[str, Any]:
    """A fact read the way the real ones are: real commands through commands.run."""
    first = run(["printf", "%s\\n", LONG, HOSTILE])
    return {"said": first.stdout, "false": run(["false"]).returncode}


if "test_tui_reads_host" not in PROVIDERS:
    fact("test_tui_reads_host")(_reads_host)


def _reads_check(facts: Facts) -> CheckResult:
    facts.get("test_tui_reads_host")
    return CheckResult("ok", "the host was read")


def reading_flow(marker: Callable[[str], Flow]) -> Flow:
    """A check that reads the host with commands, then the marker whose fix runs some."""
    fixable = marker("touch")
    reads = Node(id="reads", kind="check", check="test.tui_reads_host", title="Read the host",
                 on={"ok": Outcome(text="Read.", next=fixable.start)})
    return Flow(flow="reading", title="Reading flow", start="reads",
                nodes=[reads, *fixable.nodes])


async def press_until(pilot: Any, key: str, needle: str, most: int = 80) -> str:
    """Press `key` until `needle` is on screen (a person scrolling to it); the screen."""
    for _ in range(most):
        text = screen_text(pilot.app)
        if needle in text:
            return text
        await drive(pilot, [key])
    raise AssertionError(f"{needle!r} not reached with {key}:\n{screen_text(pilot.app)}")


async def test_w_lists_every_command_with_output_exit_code_and_duration(
        marker: Callable[[str], Flow], test_checks: Callable[..., None],
        tmp_path: Path) -> None:
    test_checks("test.tui_reads_host", _reads_check)
    app = WizardApp(reading_flow(marker), Facts(Options()),
                    transcript_path=tmp_path / "session.json")
    app.animation_level = "none"  # a page key scrolls at once: many are pressed below
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["f", "y"])  # the marker's fix, from the answer
        assert MARKER["path"].exists()
        await drive(pilot, ["escape", "w"])
        assert isinstance(app.screen, CommandsRunScreen)
        text = screen_text(app)
        assert "commands, oldest first. Reading the host changes nothing" in text
        assert "read the host - exit 0 - " in text and " ms" in text
        assert "Esc Back" in text.splitlines()[-1]  # the footer fits
        # the keys scroll: down to the reading of the host with printf...
        text = await press_until(pilot, "pagedown", "$ printf '%s\\n' 'BEGIN")
        text = await press_until(pilot, "down", " END")
        # its long line wrapped whole at 80 columns: row by row, nothing cut at the edge
        rows = "".join(row.strip("║ ") for row in text.splitlines()).replace(" ", "")
        assert LONG.replace(" ", "") in rows
        # printf's output: the markup and the escape sequence show as typed, unstyled
        assert "[bold]not markup[/bold] \\x1b[31mred" in text
        # ...and from the newest command back up to the fix's
        await drive(pilot, ["end"])
        await press_until(pilot, "pageup", "fix: Create the marker - exit 0")
        assert "$ touch " in await press_until(pilot, "up", "$ touch ")
        await drive(pilot, ["home"])
        assert "commands, oldest first" in screen_text(app)
        # the whole list, in the order the commands ran: the reading, the fix, and the
        # reading again that proved the fix
        plain = str(app.screen.query_one("#commands-list", Static).render())
        assert plain.index("$ printf") < plain.index("fix: Create the marker") \
            < plain.rindex("read the host")
        assert "read the host - exit 1" in plain  # `false`: its exit code, as it was
        await drive(pilot, ["escape"])
        assert not isinstance(app.screen, CommandsRunScreen)


async def test_a_snapshot_shows_the_commands_that_read_the_recorded_host(
        test_checks: Callable[..., None]) -> None:
    live = Facts(Options())
    live.get("test_tui_reads_host")
    snapshot = json.loads(json.dumps(live.to_snapshot()))
    data = json.loads(json.dumps(recorded_facts().to_snapshot()))
    data["commands"] = snapshot["commands"]
    app = make_app(Facts.from_snapshot(data), from_snapshot=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["w"])
        text = screen_text(app)
        assert "2 commands, oldest first." in text
        assert "The facts come from a snapshot" in text and "not now." in text
        assert "$ false" in text or "$ printf" in text


async def test_the_markdown_export_lists_the_commands_and_x_copies_the_summary(
        marker: Callable[[str], Flow], test_checks: Callable[..., None],
        tmp_path: Path) -> None:
    test_checks("test.tui_reads_host", _reads_check)
    transcript = tmp_path / "session.json"
    app = WizardApp(reading_flow(marker), Facts(Options()), transcript_path=transcript)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["f", "y", "escape", "s"])
        assert isinstance(app.screen, SummaryScreen)
        await drive(pilot, ["e", "x"])
        markdown = transcript.with_suffix(".md").read_text(encoding="utf-8")
        assert "## Commands run" in markdown
        assert "(fix: Create the marker; exit 0;" in markdown
        assert "`false` (read the host; exit 1;" in markdown
        said = [note.message for note in app._notifications]
        assert "Copied the summary (OSC 52)" in said
        assert app.clipboard.startswith("nginx-502-wizard ")
        assert "Read the host: the host was read" in app.clipboard


async def test_a_session_cut_off_reopens_with_its_answers_and_place() -> None:
    transcript = transcript_dir() / "session-cut-off.json"
    app = make_app(transcript=transcript)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "enter", "2"])  # walked to the question, answered
        revealed = app.state.revealed
    # the app ended without `q`, as when killed: its record was never closed
    point = resume_point(Options())
    assert point.record.id == "cut-off" and point.answers == {"symptom": "php"}
    # as `--resume` opens it: the flow and facts as the session had them, its own record
    resumed = WizardApp(load_flow(FLOW), recorded_facts(), from_snapshot=False,
                        resumed=point)
    async with resumed.run_test(size=(80, 24)) as pilot:
        await drive(pilot, [])
        said = " ".join(note.message for note in resumed._notifications)
        assert "Resumed the session of" in said and "every check runs again" in said
        steps = resumed.session.transcript.steps
        asked = next(step for step in steps if step.node == "symptom")
        assert asked.result == "php" and not asked.assumed  # not asked again
        assert resumed.state.revealed == revealed
        assert isinstance(resumed.screen, VerdictScreen)
    lines = transcript.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["type"] for line in lines].count("resumed") == 1
