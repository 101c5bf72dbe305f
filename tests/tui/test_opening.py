"""`tui` on a terminal paints its first screen before the session exists: the flow, its
checks and the facts are read behind it (wizard/tui/opening.py), then the walk screen
takes its place and the answer comes with no key pressed, as when the app is made with a
session. A flow that cannot be used ends the app with exit 2 and its one-line reason."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.conftest import screen_text
from tests.tui.states import FLOW, SNAPSHOT, wait_for
from wizard.options import Options
from wizard.tui import app as app_module
from wizard.tui.app import WizardApp
from wizard.tui.opening import Opened, Opening, open_parts
from wizard.tui.screens.opening import READING, OpeningScreen
from wizard.tui.screens.verdict import VerdictScreen


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Opening waits until the test opens the gate, so the first screen can be read."""
    event = threading.Event()

    def gated(opening: Opening) -> Opened:
        event.wait(30)
        return open_parts(opening)

    monkeypatch.setattr(app_module, "open_parts", gated)
    yield event
    event.set()  # never leave the worker thread waiting


def opening_app(tmp_path: Path, flow: Path = FLOW) -> WizardApp:
    """The app as run_tui makes it on a terminal, replaying the recorded facts."""
    return WizardApp(opening=Opening(Options(flow=str(flow)), snapshot=str(SNAPSHOT)),
                     transcript_path=tmp_path / "session.json")


async def closed(app: WizardApp, seconds: float = 20.0) -> None:
    """Wait (with a deadline) until the app has ended by itself."""
    deadline = time.monotonic() + seconds
    while app.is_running or app.return_code is None:
        assert time.monotonic() < deadline, "the app did not end"
        await asyncio.sleep(0.02)


async def test_first_screen_then_the_answer_with_no_key(
        tmp_path: Path, gate: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = opening_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, OpeningScreen) and not app.ready
        text = screen_text(app)
        assert READING in text and "q Quit" in text
        assert "Help" not in text  # nothing that needs the session is offered yet
        await pilot.press("question_mark")  # and nothing opens over the first screen
        assert isinstance(app.screen, OpeningScreen)
        gate.set()
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen)
                       and "1. nginx is not running" in screen_text(app))
        assert app.from_snapshot  # the facts are a replay: fixes are shown, never run
        await pilot.press("q")
    assert app.return_code == 0
    assert (tmp_path / "session.json").exists()


async def test_quit_before_the_session_is_made(tmp_path: Path, gate: threading.Event) -> None:
    app = opening_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.ready
        await pilot.press("q")
        gate.set()  # Textual ends only once the worker has; what it opened is dropped
        await closed(app)
    assert app.return_code == 0 and app.refused is None and not app.ready
    assert not (tmp_path / "session.json").exists()  # nothing ran, nothing to save


async def test_a_broken_flow_ends_the_app_with_exit_2(tmp_path: Path) -> None:
    flow = tmp_path / "unknown.yaml"
    flow.write_text("flow: broken\nstart: a\nnodes:\n"
                    "  - {id: a, kind: check, check: no.such.check, default: {next: b}}\n"
                    "  - {id: b, kind: end, text: done}\n")
    app = opening_app(tmp_path, flow)
    async with app.run_test(size=(80, 24)):
        await closed(app)
    assert app.return_code == 2
    assert app.refused == f"{flow}:4: unknown check 'no.such.check'"
