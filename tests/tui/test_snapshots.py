"""Pictures of every screen at the smallest supported size and a roomy one.

Update after an intended change with: pytest tests/tui/test_snapshots.py --snapshot-update
and look at the SVGs (tests/tui/__snapshots__/) before committing them.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import pytest

from tests.tui.states import STATES, drive, make_app

CASES = [(name, size) for name, state in STATES.items() for size in state.sizes]


@pytest.mark.parametrize(("name", "size"), CASES, ids=[f"{n}-{w}x{h}" for n, (w, h) in CASES])
def test_screen(snap_compare: Any, name: str, size: tuple[int, int]) -> None:
    keys = STATES[name].keys
    assert snap_compare(make_app(), terminal_size=size, run_before=partial(drive, keys=keys))


def test_screenshot_script_renders_the_same_states() -> None:
    from tests.tui.make_screenshots import render

    svg = asyncio.run(render("verdict", (80, 24)))
    assert svg.startswith("<svg") and "press&#160;f&#160;or&#160;1" in svg
