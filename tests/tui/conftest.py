"""Fixtures for the TUI tests: a check whose fix really runs commands, safely.

The fix writes a marker file in the test's temp folder (real `touch`, real `printf`
through the real apply back-end); a fact reads whether the marker exists, so the check
passes after the fix exactly as it would on a host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.fixes import ACTIONS
from wizard.fixes.base import FixPlan, fix_action, fix_id
from wizard.flow.model import FixRef, Flow, Node, Outcome
from wizard.host.facts import PROVIDERS, Facts, fact
from wizard.outcome import CheckResult, Evidence

MARKER: dict[str, Path] = {}
HOSTILE = "[bold]not markup[/bold] \x1b[31mred"  # must show literally, never styled


def _marker_fact(facts: Facts) -> bool:
    return MARKER["path"].exists()


if "tui_marker" not in PROVIDERS:
    fact("tui_marker")(_marker_fact)


def _marker_check(facts: Facts) -> CheckResult:
    if facts.get("tui_marker"):
        return CheckResult("ok", "the marker file exists")
    return CheckResult("bad", "the marker file is missing", vars={"path": str(MARKER["path"])},
                       evidence=[Evidence("file", f"{MARKER['path']}: {HOSTILE}")])


def _touch_plan(args: dict[str, str], facts: Facts) -> FixPlan:
    commands = {"touch": [["printf", "%s\\n", HOSTILE], ["touch", args["path"]]],
                "fail": [["false"]],
                "block": [["cat", args["path"] + ".fifo"], ["touch", args["path"]]]}
    return FixPlan(id=fix_id("test.touch", args), title="Create the marker",
                   commands=commands[args["how"]], needs_root=False,
                   undo=[["rm", "-f", args["path"]]], verify="the marker file exists")


def marker_flow(how: str) -> Flow:
    fix = FixRef("test.touch", {"path": str(MARKER["path"]), "how": how})
    return Flow(flow="marker", title="Marker flow", start="marker", nodes=[
        Node(id="marker", kind="check", check="test.tui_marker", title="Is the marker there?",
             question="Does the marker file exist?", on={
                 "ok": Outcome(text="The marker is there.", next="done"),
                 "bad": Outcome(text="The marker is missing.", cause="upstream_down",
                                fixes=[fix], next="done")}),
        Node(id="done", kind="end", title="The end", text="Nothing more to look at."),
    ])


@pytest.fixture
def marker(tmp_path: Path, test_checks: Callable[..., None]) -> Iterator[Callable[[str], Flow]]:
    """A flow whose only check fails until its fix ('touch', 'fail' or 'block') runs."""
    MARKER["path"] = tmp_path / "marker"
    test_checks("test.tui_marker", _marker_check)
    fix_action("test.touch", params=("path", "how"))(_touch_plan)
    yield marker_flow
    ACTIONS.pop("test.touch", None)


def screen_text(app: Any) -> str:
    """What the terminal shows for the top screen, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
