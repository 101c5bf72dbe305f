"""The screen states shared by the snapshot tests and tests/tui/make_screenshots.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from wizard.flow.loader import load_flow
from wizard.host.facts import Facts
from wizard.tui.app import WizardApp

HERE = Path(__file__).parent
FLOW = HERE / "flows" / "tui-test.yaml"
# Recorded on a Debian 12 test VM with nginx and php8.2-fpm installed but stopped
# (processes trimmed to pid 1; see tests/tui/data/README.md).
SNAPSHOT = HERE / "data" / "nginx-stopped.json"
# A fixed path, because the summary screen shows it and snapshots must not change.
SNAPSHOT_TRANSCRIPT = Path("/tmp/nginx-502-wizard-tui-snapshots/session.json")
NORMAL_SIZES = ((80, 24), (120, 40))


def recorded_facts(**changes: Any) -> Facts:
    """The recorded snapshot, with some facts replaced for one test."""
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    data["facts"].update(changes)
    return Facts.from_snapshot(data)


def make_app(facts: Facts | None = None, transcript: Path | None = None,
             flow: Path = FLOW, **kwargs: Any) -> WizardApp:
    """The app on the recorded facts, standing in for a live host (fixes may run), so the
    screens are the ones a person on that host sees; pass from_snapshot=True for the app
    that `tui --from-snapshot` opens."""
    if transcript is None:
        SNAPSHOT_TRANSCRIPT.parent.mkdir(exist_ok=True)
    kwargs.setdefault("from_snapshot", False)
    return WizardApp(load_flow(flow), facts or recorded_facts(),
                     transcript_path=transcript or SNAPSHOT_TRANSCRIPT, **kwargs)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every worker ended and its messages were handled (no sleeps)."""
    app = pilot.app
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            return
    raise AssertionError("workers kept running")


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool],
                   seconds: float = 10.0) -> None:
    """Let the app run until condition() holds; fail after a deadline."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds}s")
        await pilot.pause(0.02)


async def drive(pilot: Pilot[Any], keys: Sequence[str]) -> None:
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


@dataclass(frozen=True)
class State:
    keys: tuple[str, ...] = ()
    sizes: tuple[tuple[int, int], ...] = NORMAL_SIZES


STATES = {
    "verdict": State(),  # what opens with no key pressed, once the checks have run
    "start": State(("enter",)),
    "walk": State(("enter", "enter", "k", "v")),
    "ask": State(("enter", "enter")),
    "fix_confirm": State(("f",)),  # one key from the answer
    "summary": State(("enter", "enter", "2", "enter")),
    "help": State(("question_mark",)),
    "too_small": State(sizes=((79, 24), (60, 20))),
}
