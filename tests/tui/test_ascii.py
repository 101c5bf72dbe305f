"""TERM=linux: the Linux console's font has ASCII and box lines, little else."""

from __future__ import annotations

from typing import Any

from textual.scrollbar import ScrollBar, ScrollBarRender

from tests.tui.conftest import screen_text
from tests.tui.states import drive, make_app, settle
from wizard.tui.ascii_scrollbar import AsciiScrollBarRender


async def test_ascii_only_screen_under_term_linux(monkeypatch: Any) -> None:
    monkeypatch.setenv("TERM", "linux")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert app.ascii_only
        assert text.isascii(), [c for c in text if not c.isascii()]
        assert "+- Steps" in text
        await drive(pilot, ["question_mark"])
        text = screen_text(app)
        assert "Escape or ? closes this help." in text
        assert text.isascii(), [c for c in text if not c.isascii()]


def _bar_text(renderer: type[ScrollBarRender]) -> str:
    segments = renderer.render_bar(size=10, virtual_size=37, window_size=10, position=3.3)
    return "".join(segment.text for segment in segments.segments)


def test_scrollbar_ends_are_ascii() -> None:
    assert not _bar_text(ScrollBarRender).isascii()  # Textual's eighth blocks
    assert _bar_text(AsciiScrollBarRender).isascii()


async def test_ascii_scrollbars_are_switched_back_on_exit(monkeypatch: Any) -> None:
    monkeypatch.setenv("TERM", "linux")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert ScrollBar.renderer is AsciiScrollBarRender
    assert ScrollBar.renderer is ScrollBarRender
