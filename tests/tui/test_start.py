"""Opening: the first paint never waits for facts; the host summary fills in as they come."""

from __future__ import annotations

import threading
from typing import Any

from tests.tui.conftest import screen_text
from tests.tui.states import drive, make_app, recorded_facts, settle
from wizard.host.facts import Facts
from wizard.tui.screens.verdict import VerdictScreen
from wizard.tui.screens.walk import WalkScreen
from wizard.tui.widgets.host_summary import HostSummary
from wizard.tui.widgets.step_list import StepList


class GatedFacts(Facts):
    """Recorded facts, except 'nginx' arrives only when the test opens the gate."""

    gate = threading.Event()

    def get(self, name: str) -> Any:
        if name == "nginx":
            self.gate.wait(30)
        return super().get(name)


async def test_first_paint_does_not_wait_for_facts() -> None:
    facts = GatedFacts.from_snapshot(recorded_facts().to_snapshot())
    GatedFacts.gate.clear()
    app = make_app(facts)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WalkScreen)
        assert app.walk.query_one(StepList).option_count == 1
        text = screen_text(app)
        assert "nginx: checking..." in text
        # the checks already run behind the first screen, and it says so
        assert "Checking: 0 checks done, now Is nginx running?..." in text
        assert "No cause" not in text and "nothing found" not in text
        GatedFacts.gate.set()
        await settle(pilot)
        assert isinstance(app.screen, VerdictScreen)  # the answer, with no key pressed
        assert "1. nginx is not running" in screen_text(app)
        await drive(pilot, ["enter"])
        text = screen_text(app)
        assert "nginx 1.22.1 | conf /etc/nginx/nginx.conf | not running" in text
        assert "Host: debian 12 | services: sysvinit | firewall: none" in text
        assert "PHP-FPM php8.2-fpm: not running" in text


async def test_missing_facts_say_why() -> None:
    facts = Facts.from_snapshot({"format": 1, "facts": {},
                                 "errors": {"nginx": "nginx -V needs root"}})
    app = make_app(facts)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter"])
        text = screen_text(app)
        assert "nginx: not found (nginx -V needs root)" in text
        assert "PHP-FPM: not found (the snapshot has no 'phpfpm' facts)" in text
        assert "URL: none given (--url)" in text


async def test_host_values_are_never_markup() -> None:
    nginx = {**recorded_facts().get("nginx"), "conf_path": "/etc/[red]nginx[/red].conf\x1b[2J",
             "master_pids": [41]}
    app = make_app(recorded_facts(nginx=nginx))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["enter"])
        line = str(app.walk.query_one(HostSummary).describe())
        assert "conf /etc/[red]nginx[/red].conf\\x1b[2J | pid 41" in line
        assert "/etc/[red]nginx[/red].conf\\x1b[2J" in screen_text(app)
