"""The summary: causes most likely first, fixes made, what is left, transcript, Markdown."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tui.conftest import screen_text
from tests.tui.states import drive, make_app, recorded_facts, wait_for
from tests.tui.test_start import GatedFacts
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.screens.walk import WalkScreen


async def test_summary_ranks_causes_saves_and_exports(tmp_path: Path) -> None:
    transcript = tmp_path / "session.json"
    app = make_app(transcript=transcript)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "enter", "2", "enter"])
        assert isinstance(app.screen, SummaryScreen)
        text = screen_text(app)
        first = text.index("1. nginx is not running ")
        second = text.index("2. PHP-FPM is not running ")
        assert first < second
        assert "nginx_not_running" not in text and "php_fpm_down" not in text  # no ids
        assert "Fixed: nothing was changed on this host." in text
        assert "1. nginx is not running  - fix: press f or 1" in text
        assert "- nginx is not running: fix offered: Start nginx (press 1)" in text
        assert f"Transcript: {transcript}" in text
        saved = json.loads(transcript.read_text())
        assert [s["node"] for s in saved["transcript"]["steps"]] == ["nginx_running", "symptom",
                                                                      "done"]
        await drive(pilot, ["e"])
        markdown = transcript.with_suffix(".md")
        assert markdown.read_text().startswith("# 502 diagnosis (tui-test)")
        assert f"Markdown: {markdown}" in screen_text(app)
        await drive(pilot, ["escape"])
        assert isinstance(app.screen, WalkScreen)


async def test_summary_before_the_checks_finish_never_says_nothing_found(
        tmp_path: Path) -> None:
    facts = GatedFacts.from_snapshot(recorded_facts().to_snapshot())
    GatedFacts.gate.clear()
    app = make_app(facts, transcript=tmp_path / "session.json")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        text = screen_text(app)
        assert "The checks are still running: 0 done. Now: Is nginx running?" in text
        assert "No cause" not in text and "nothing found" not in text
        assert "Left to do" not in text
        GatedFacts.gate.set()
        await wait_for(pilot, lambda: "1. nginx is not running" in screen_text(app))
        assert "The checks stopped at a question (1 step so far)" in screen_text(app)


async def test_quit_saves_the_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "session.json"
    app = make_app(transcript=transcript)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "q"])
    assert app.return_code == 0
    saved = json.loads(transcript.read_text())
    assert saved["transcript"]["steps"][0]["node"] == "nginx_running"
    assert saved["report"]["causes"][0]["id"] == "nginx_not_running"
