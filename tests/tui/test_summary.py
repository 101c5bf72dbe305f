"""The summary: causes most likely first, fixes made, what is left, transcript, Markdown."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tui.conftest import screen_text
from tests.tui.states import drive, make_app
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.screens.walk import WalkScreen


async def test_summary_ranks_causes_saves_and_exports(tmp_path: Path) -> None:
    transcript = tmp_path / "session.json"
    app = make_app(transcript=transcript)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "2", "enter"])
        assert isinstance(app.screen, SummaryScreen)
        text = screen_text(app)
        first = text.index("1. nginx is not running ")
        second = text.index("2. PHP-FPM is not running ")
        assert first < second
        assert "nginx_not_running" not in text and "php_fpm_down" not in text  # no ids
        assert "Fixed: nothing was changed on this host." in text
        assert "- nginx is not running: fix offered: Start nginx" in text
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


async def test_summary_before_the_end_says_so(tmp_path: Path) -> None:
    app = make_app(transcript=tmp_path / "session.json")
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter", "s"])
        assert "The walk is not finished yet: 1 step." in screen_text(app)


async def test_quit_saves_the_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "session.json"
    app = make_app(transcript=transcript)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, ["enter", "q"])
    assert app.return_code == 0
    saved = json.loads(transcript.read_text())
    assert saved["transcript"]["steps"][0]["node"] == "nginx_running"
    assert saved["report"]["causes"][0]["id"] == "nginx_not_running"
