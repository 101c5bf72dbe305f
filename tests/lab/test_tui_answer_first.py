"""The TUI in an outage, on real broken labs (real nginx and PHP-FPM, live facts): with no
key pressed, once the checks have run, the answer names the right cause with its evidence,
and its fix (or the plain word that there is none) is one key away. After a fix confirmed
in the app, every step is checked again: none still shows the problem it fixed, and the
answer says what the site answers now.

Fixes are confirmed (`y`) only where they act on the lab itself (its nginx.conf, its
PHP-FPM pool); a fix that would start or stop this machine's own services is opened, read
and closed with `n`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.harness import Lab, free_port
from tests.tui.conftest import screen_text
from tests.tui.states import wait_for
from wizard.causes import CAUSES
from wizard.flow.library import find_flow
from wizard.host.facts import Facts
from wizard.outcome import Status
from wizard.tui.app import WizardApp
from wizard.tui.screens.fix_choice import FixChoiceScreen
from wizard.tui.screens.fix_confirm import FixConfirmScreen
from wizard.tui.screens.verdict import VerdictScreen

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root
CHECKS_DEADLINE = 90.0  # every check of the flow on a live lab, on a busy 2-core machine

# name -> (how to break the lab, the failing path, the right first cause)
BREAKS: dict[str, tuple[dict[str, Any], str, str]] = {
    "php-fpm stopped": ({"start_php": False}, "/index.php", "php_fpm_down"),
    "fastcgi_pass elsewhere": ({"fastcgi_pass": "unix:{prefix}/other.sock"}, "/index.php",
                               "upstream_address_mismatch"),
    "socket only root may open": ({"listen_owner": "root", "listen_group": "root",
                                   "listen_mode": "0600"}, "/index.php", "socket_permission"),
    "script killed early": ({"request_terminate_timeout": "1s",
                             "php_location_extra": "            fastcgi_read_timeout 3s;"},
                            "/slow.php?s=3", "php_fpm_timeout"),
    "child segfaults": ({}, "/segv.php", "upstream_crash"),
    "header too big": ({}, "/bigheader.php?n=16000", "header_too_big"),
    "proxy to a closed port": ({"php": False, "php_location": False,
                                "locations": "        location /api/ "
                                             "{ proxy_pass http://127.0.0.1:{closed_port}; }"},
                               "/api/items", "upstream_down"),
    "https to plain http": (
        {"php": False, "php_location": False, "tls_plain": True}, "/tls/", "upstream_tls"),
}


def broken_lab(make_lab: MakeLab, name: str) -> tuple[Lab, str]:
    kwargs, path, _ = BREAKS[name]
    kwargs = dict(kwargs)
    if kwargs.pop("tls_plain", False):
        plain = free_port()
        kwargs["http_extra"] = (f"    server {{ listen 127.0.0.1:{plain}; "
                                "location / { return 200 'plain http\\n'; } }")
        kwargs["locations"] = (f"        location /tls/ "
                               f"{{ proxy_pass https://127.0.0.1:{plain}; }}")
    lab = make_lab(**kwargs)
    status, body = lab.request(path, timeout=10)
    assert status == 502, (name, status, body)
    return lab, path


def live_app(lab: Lab, path: str, tmp_path: Path) -> WizardApp:
    options = lab.options(url=f"http://127.0.0.1:{lab.port}{path}", since_seconds=600)
    return WizardApp(find_flow("nginx-502"), Facts(options), check_timeout=20,
                     transcript_path=tmp_path / "session.json", from_snapshot=False,
                     fix_backend=True)


def words(app: WizardApp) -> str:
    """The screen's text with borders and wrapping taken out, to find sentences."""
    return " ".join(screen_text(app).replace("\u2502", " ").split())


async def wait_for_answer(pilot: Any) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, VerdictScreen)
                   and "Enter: walk through the checks" in screen_text(pilot.app),
                   CHECKS_DEADLINE)


@pytest.mark.parametrize("name", list(BREAKS))
async def test_the_answer_is_on_screen_with_no_key_and_its_fix_one_key_away(
        make_lab: MakeLab, tmp_path: Path, name: str) -> None:
    lab, path = broken_lab(make_lab, name)
    expected = BREAKS[name][2]
    app = live_app(lab, path, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_answer(pilot)  # no key pressed
        shown = words(app)
        assert f"1. {CAUSES[expected].title}" in shown, (name, screen_text(app))
        assert "Evidence (" in shown, shown
        assert expected not in shown  # the id stays in the JSON
        cause = (app.report or {})["causes"][0]
        assert cause["id"] == expected
        await pilot.press("f")  # one key
        if cause["fixes"]:
            await wait_for(pilot, lambda: isinstance(app.screen, (FixConfirmScreen,
                                                                  FixChoiceScreen)))
            await pilot.press("escape")
        else:
            await pilot.pause()
            said = [note.message for note in app._notifications]
            assert any(note.startswith("No automatic fix for:") for note in said), said
        assert app.session.transcript.fixes == []  # nothing ran without a yes


FIXED_IN_THE_LAB = ["fastcgi_pass elsewhere", "header too big", "script killed early",
                    "socket only root may open"]


@pytest.mark.parametrize("name", FIXED_IN_THE_LAB)
async def test_after_the_fix_no_step_shows_the_problem_it_fixed(
        make_lab: MakeLab, tmp_path: Path, name: str) -> None:
    lab, path = broken_lab(make_lab, name)
    expected = BREAKS[name][2]
    app = live_app(lab, path, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_answer(pilot)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, (FixConfirmScreen,
                                                              FixChoiceScreen)))
        if isinstance(app.screen, FixChoiceScreen):
            await pilot.press("1")
            await wait_for(pilot, lambda: isinstance(app.screen, FixConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Escape goes back to the steps." in screen_text(app),
                       CHECKS_DEADLINE)
        assert "now answers 200: fixed" in words(app), words(app)
        await pilot.press("escape")
        # every check ran again on the mended lab; the answer is about the site now
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen)
                       and "after the fix, " in screen_text(app), CHECKS_DEADLINE)
        shown = words(app)
        assert "now answers 200: fixed" in shown, shown
        assert f"1. {CAUSES[expected].title}" not in shown, shown
        steps = app.session.transcript.steps
        assert steps and all(expected not in step.causes for step in steps), [
            (s.node, s.causes) for s in steps if s.causes]
        assert not [s.node for s in steps if s.status == Status.PROBLEM
                    and any(o.plan for o in s.fixes)], "a fix is still offered"
        await pilot.press("enter")  # the walk: no stale finding on the way
        for _ in steps:
            await pilot.press("enter")
        assert expected not in {c for s in app.session.transcript.steps for c in s.causes}
