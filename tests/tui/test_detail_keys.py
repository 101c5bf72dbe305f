"""The walk screen at 80x24 by keyboard alone: the footer names a long fix in whole words
and keeps every key in sight; Tab shows which pane has the keys without colour; `v` brings
the evidence into view; Enter pressed faster than the screen redraws never doubles a step."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui.conftest import MARKER, screen_text
from tests.tui.states import FLOW, drive, make_app, recorded_facts, settle
from tests.tui.test_fix_pane import show_first_finding
from wizard.engine.report import evidence_source
from wizard.fixes import ACTIONS
from wizard.fixes.base import FixPlan, fix_action, fix_id
from wizard.flow.library import find_flow
from wizard.flow.model import FixRef, Flow
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.tui.app import WizardApp
from wizard.tui.fix_words import footer_label
from wizard.tui.widgets.step_detail import StepDetail
from wizard.tui.widgets.step_list import StepList, row

MarkerFlow = Callable[[str], Flow]
# The title of config_phpfpm's fix (wizard/fixes/config_phpfpm.py), with a long pool name.
LONG_TITLE = "Set request_terminate_timeout = 30s in pool www-example-shop and reload PHP-FPM"


def _long_title_plan(args: dict[str, str], facts: Facts) -> FixPlan:
    return FixPlan(id=fix_id("test.long_title", args), title=LONG_TITLE,
                   commands=[["touch", args["path"]]], needs_root=False)


@pytest.fixture
def long_title_app(marker: MarkerFlow, tmp_path: Path) -> Iterator[WizardApp]:
    fix_action("test.long_title", params=("path",))(_long_title_plan)
    flow = marker("touch")
    flow.nodes[0].on["bad"].fixes = [FixRef("test.long_title", {"path": str(MARKER["path"])})]
    yield WizardApp(flow, Facts(Options()), transcript_path=tmp_path / "session.json")
    ACTIONS.pop("test.long_title", None)


def test_footer_label_cuts_after_a_whole_word() -> None:
    assert footer_label("Start nginx", 11) == "Start nginx"
    assert footer_label(LONG_TITLE, 41) == "Set request_terminate_timeout = 30s in..."
    assert footer_label(LONG_TITLE, 36) == "Set request_terminate_timeout..."  # not '= ...'
    assert footer_label(LONG_TITLE, 10) == "Set..."
    assert footer_label(LONG_TITLE, 5) == ""


def footer(app: WizardApp) -> str:
    return screen_text(app).splitlines()[-1]


# 138 columns hold the whole title exactly (no column to spare); 137 do not.
@pytest.mark.parametrize(("width", "whole"), [(80, False), (100, False), (137, False),
                                              (138, True)])
async def test_the_footer_names_a_long_fix_in_whole_words_and_keeps_every_key(
        long_title_app: WizardApp, width: int, whole: bool) -> None:
    app = long_title_app
    async with app.run_test(size=(width, 24)) as pilot:
        await show_first_finding(pilot)
        line = footer(app)
        for key in ("Enter Next", "r Re-run", "? Help", "q Quit"):
            assert f" {key} " in line, line
        assert line.endswith("^p palette "), line
        match = re.search(r" f Fix: (.*?)(\.\.\.)?  ", line)
        assert match, line
        shown, cut = match.groups()
        if whole:
            assert (shown, cut) == (LONG_TITLE, None), line
        else:  # whole words, then '...'
            assert cut and LONG_TITLE.startswith(shown + " "), line


def border_row(app: WizardApp) -> str:
    """The screen row that holds the top borders of the steps and the details."""
    return next(row for row in screen_text(app).splitlines() if "Steps" in row)


@pytest.mark.parametrize("ascii_only", [False, True])
async def test_tab_shows_the_focused_pane_without_colour(monkeypatch: pytest.MonkeyPatch,
                                                        ascii_only: bool) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(ascii_only=ascii_only)
    focused, plain = ("+-", "+-") if ascii_only else ("╔═", "┌─")
    async with app.run_test(size=(80, 24)) as pilot:
        await show_first_finding(pilot)
        assert app.no_color  # Textual read NO_COLOR: the screen is drawn in one colour
        assert isinstance(app.focused, StepList)
        await drive(pilot, ["tab"])
        assert isinstance(app.focused, StepDetail)
        top = border_row(app)
        assert f"{plain} Steps " in top, top
        assert f"{focused} Details - Up/Down scroll, Tab back " in top, top
        await drive(pilot, ["tab"])
        assert isinstance(app.focused, StepList)
        top = border_row(app)
        assert f"{focused} Steps " in top and "Up/Down" not in top, top
        assert re.search(rf"{re.escape(plain)} Details {plain[1]}", top), top


# A long finding above the evidence, and a long nginx command line as the evidence, so at
# 80x24 the evidence opens below the fold. The command line is typed by hand, in the shape
# psutil reports a master started with -g (tests/tui/data/nginx-stopped.json has none).
LONG_FINDING = ("nginx is running as master process {pid}. " + "This sentence is here to "
                "push the evidence down the pane, as a long explanation would. " * 8)
LONG_MASTER = {"pid": 812, "ppid": 1, "name": "nginx", "username": "root",
               "create_time": 1.0, "cmdline": [
                   "nginx: master process /usr/sbin/nginx", "-c",
                   "/etc/nginx/sites-available/example-shop/nginx-main.conf", "-g",
                   "daemon on; master_process on; worker_processes 4; "
                   "pid /run/nginx-example-shop.pid; "
                   "error_log /var/log/nginx/example-shop-error.log warn;"]}


def long_finding_flow(tmp_path: Path) -> Path:
    """The TUI test flow, its nginx check finding a long paragraph."""
    short = '"nginx is running (master pid {pid})."'
    text = FLOW.read_text(encoding="utf-8")
    assert text.count(short) == 1
    path = tmp_path / "long-finding.yaml"
    path.write_text(text.replace(short, json.dumps(LONG_FINDING)), encoding="utf-8")
    return path


def shown_in(app: WizardApp, widget: StepDetail) -> str:
    """The screen's text inside a pane (no border, no scrollbar): what of it is on screen."""
    region = widget.scrollable_content_region
    rows = screen_text(app).splitlines()[region.y:region.bottom]
    return "\n".join(row[region.x:region.right] for row in rows)


async def test_v_brings_the_evidence_into_view_wrapped(tmp_path: Path) -> None:
    app = make_app(recorded_facts(processes=[LONG_MASTER]), flow=long_finding_flow(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await show_first_finding(pilot)
        detail = app.walk.query_one(StepDetail)
        assert "Evidence (1): press v to show" not in shown_in(app, detail)  # below the fold
        await drive(pilot, ["v"])
        assert isinstance(app.focused, StepList)  # no Tab, no arrows: v did it
        shown = shown_in(app, detail)
        assert "Evidence (1): press v to hide" in shown
        step = app.state.entries()[0].step
        assert step is not None
        first = f"{evidence_source(step.evidence[0].source)}: {step.evidence[0].detail}"
        # Every character of it on screen, in order: wrapped (or folded inside a long path),
        # never cut at the pane's edge.
        assert "".join(first.split()) in "".join(shown.split()), shown


async def test_rapid_enter_never_lists_a_step_twice() -> None:
    app = WizardApp(find_flow("nginx-502"), recorded_facts())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(10):
            await pilot.press("enter")  # no settling: keys arrive while steps still run
        await settle(pilot)
        step_list = app.walk.query_one(StepList)
        entries = app.state.entries()
        nodes = [entry.node.id for entry in entries]
        assert len(nodes) > 3 and len(set(nodes)) == len(nodes)
        rows = [step_list.get_option_at_index(i).prompt for i in range(step_list.option_count)]
        assert [str(prompt)[2:] for prompt in rows] == [row(e, app.state).plain for e in entries]


