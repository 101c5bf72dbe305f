"""The TUI opened on a snapshot shows each fix's plan but never runs it: the plan was
made from recorded facts (another machine's, or this one's as it was then)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import screen_text
from tests.tui.states import FLOW, SNAPSHOT, drive, make_app, settle
from wizard.options import Options
from wizard.tui import app as app_module
from wizard.tui.app import WizardApp, run_tui
from wizard.tui.fix_gate import FROM_SNAPSHOT
from wizard.tui.screens.fix_confirm import FixConfirmScreen
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.screens.walk import WalkScreen


def no_sudo_probe(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record any attempt to ask sudo: a fix that cannot run must not even get that far."""
    asked: list[Any] = []
    monkeypatch.setattr(app_module, "check_access", lambda *a, **k: asked.append(a))
    return asked


async def test_replayed_facts_show_the_plan_and_never_run_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = no_sudo_probe(monkeypatch)
    app = make_app(transcript=tmp_path / "t.json", from_snapshot=None)  # as facts say
    assert app.session.facts.replay and app.from_snapshot
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "k"])
        text = screen_text(app)
        assert "Fix offered: Start nginx (needs root) - f shows its plan" in text
        assert FROM_SNAPSHOT.hint in text
        assert "f Plan: Start nginx" in text and "Fix: Start nginx" not in text
        await drive(pilot, ["f"])
        assert isinstance(app.screen, FixConfirmScreen)
        text = screen_text(app)
        assert "$ systemctl start nginx" in text or "$ service nginx start" in text
        assert "Planned from a snapshot, not from this host: it cannot run here." in text
        assert "Run it?" not in text
        await drive(pilot, ["y"])  # y is not offered; pressed anyway, it does nothing
        assert not app.screen.started
        app.start_fix(0, app.session.transcript.steps[0].fixes[0])  # the last guard
        await settle(pilot)
        assert not app.state.fix_running
        assert app.session.transcript.fixes == [] and asked == []
        await drive(pilot, ["escape"])
        assert isinstance(app.screen, WalkScreen)
        await drive(pilot, ["s"])
        assert isinstance(app.screen, SummaryScreen)
        text = screen_text(app)
        assert "fix offered: Start nginx (its plan: press 1)" in text
        assert FROM_SNAPSHOT.hint in text


async def test_live_facts_still_offer_to_run_the_fix() -> None:
    app = make_app()  # recorded facts standing in for a live host
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["f"])  # from the verdict: the first cause's fix
        text = screen_text(app)
        assert "Run it? y = yes, n or Escape = no" in text
        assert FROM_SNAPSHOT.closing not in text


def test_tui_from_snapshot_opens_the_app_in_snapshot_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tui --from-snapshot FILE` (cli.cmd_tui -> run_tui): the app it opens will not run
    fixes, and --save-snapshot writes the facts afterwards."""
    opened: list[WizardApp] = []
    monkeypatch.setattr(WizardApp, "run", lambda self, *a, **k: opened.append(self))
    saved = tmp_path / "again.json"
    code = run_tui(Options(flow=str(FLOW)), snapshot=str(SNAPSHOT),
                   save_snapshot_to=str(saved))
    assert code == 0
    (app,) = opened
    assert app.from_snapshot and app.fix_blocked is FROM_SNAPSHOT
    assert json.loads(saved.read_text())["facts"]["system"]["distro"] == "debian"
