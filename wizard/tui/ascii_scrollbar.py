"""Scrollbars for the Linux console: Textual draws the ends of a scrollbar thumb with
eighth-block glyphs for smoothness, which the console font lacks; whole cells it has."""

from __future__ import annotations

from textual.scrollbar import ScrollBar, ScrollBarRender


class AsciiScrollBarRender(ScrollBarRender):
    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def use_ascii_scrollbars(on: bool = True) -> None:
    # Textual's documented way to change how every scrollbar renders (process-wide, so
    # the app switches it back when it closes).
    ScrollBar.renderer = AsciiScrollBarRender if on else ScrollBarRender
