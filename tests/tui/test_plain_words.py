"""The screens never show an internal name (an action, check, node or cause id): each
fix, step and cause is said in words; the ids stay in the transcript and JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Static

from tests.plain_words import CHECK, header_check, internal_names, shown, words_flow
from tests.tui.conftest import screen_text
from tests.tui.states import drive, recorded_facts
from wizard.tui.app import WizardApp
from wizard.tui.screens.fix_confirm import FixConfirmScreen
from wizard.tui.screens.summary import SummaryScreen
from wizard.tui.screens.walk import WalkScreen


async def test_a_step_with_unavailable_fixes_says_them_in_words(
        test_checks: Callable[..., None], tmp_path: Path) -> None:
    test_checks(CHECK, header_check)
    app = WizardApp(words_flow(), recorded_facts(), transcript_path=tmp_path / "t.json",
                    from_snapshot=False, fix_backend=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await drive(pilot, ["enter", "enter", "k", "v"])  # the finding, evidence open
        names = internal_names()
        text = screen_text(app)
        assert shown(text, names) == []
        fixes = app.walk.query_one("#detail-fixes", Static).content
        assert shown(str(fixes), names) == []
        lines = str(fixes).splitlines()
        assert lines[0] == (
            "No fix here to give nginx room for a backend's large response header (proxy_ "
            "or fastcgi_ buffer_size and buffers, in the block of the pass): the error log "
            "does not show a too-big response header")
        assert lines[1].startswith("No fix here: the flow names a fix this wizard does not")
        assert lines[2] == ("No fix here to restart a service (stop, then start): a value "
                            "it needs was not found on this host")
        assert lines[3].startswith("Fix offered: Start nginx")
        # the untitled step is called by its question, not by its node id
        assert "Does the response header fit nginx's buffer?" in text
        assert "error log: upstream sent too big header" in text
        await drive(pilot, ["f"])
        assert isinstance(app.screen, FixConfirmScreen)
        assert shown(screen_text(app), names) == []
        await drive(pilot, ["escape", "s"])
        assert isinstance(app.screen, SummaryScreen)
        text = screen_text(app)
        assert "1. The upstream's response header is too big" in text
        assert shown(text, names) == []
        await drive(pilot, ["escape"])
        assert isinstance(app.screen, WalkScreen)
    # ...while the transcript keeps every id for the review
    step = app.session.transcript.steps[0]
    assert step.node == "header_node" and step.causes == ["header_too_big"]
    assert [offer.action for offer in step.fixes][:2] == ["nginx.set_buffer_size",
                                                         "nosuch.action"]
