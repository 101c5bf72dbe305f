"""No --url: the wizard offers the addresses nginx's logs saw failing, and the one picked is
used as --url would be (the header shows it, the walk requests it).

The host is the recorded Debian one (tests/tui/data), with an access log written into a
temp folder and read by the real reader (wizard.host.access_log) through an nginx.conf
that names it. The log lines are typed here in the format that conf's `log_format` makes
nginx write (the same shape as the lab's real access log, with the Host in front).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import screen_text
from tests.tui.states import SNAPSHOT, settle, wait_for
from tests.tui.states import make_app as make_any_app
from wizard.host.access_log import read_access_logs
from wizard.host.facts import Facts
from wizard.host.nginx_config import parse_config, summarize
from wizard.tui.app import WizardApp
from wizard.tui.screens.pick_address import PickAddressScreen
from wizard.tui.screens.verdict import VerdictScreen
from wizard.tui.screens.walk import WalkScreen

CONF = """\
events {}
http {
    log_format vhosts '$host $remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" "$http_user_agent"';
    access_log {dir}/access.log vhosts;
    server {
        listen 80 default_server;
        server_name shop.example www.shop.example;
        root /var/www/shop;
    }
}
"""
FAILING = [  # (seconds ago, request line, status)
    (900, "GET /cart.php?id=1 HTTP/1.1", 502),
    (600, "POST /checkout.php HTTP/1.1", 502),
    (400, "GET /index.html HTTP/1.1", 200),
    (190, "GET /cart.php?id=3 HTTP/1.1", 502),
]
NEWEST = "http://shop.example/cart.php?id=3"


def access_line(seconds_ago: float, request: str, status: int) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(time.time() - seconds_ago))
    return (f'shop.example 203.0.113.7 - - [{stamp}] "{request}" {status} 157 "-" '
            '"Mozilla/5.0 (X11; Linux x86_64)"\n')


# The pick list belongs to flows that request the address (a team's runbook may not).
ADDRESS_FLOW = Path(__file__).parent / "flows" / "address-test.yaml"


def make_app(facts: Facts, **kwargs: Any) -> WizardApp:
    return make_any_app(facts, flow=ADDRESS_FLOW, **kwargs)


def host_facts(tmp_path: Path, lines: list[tuple[int, str, int]],
               url: str | None = None) -> Facts:
    """The recorded host, its nginx serving shop.example, and this access log."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONF.replace("{dir}", str(tmp_path)))
    (tmp_path / "access.log").write_text("".join(access_line(*line) for line in lines))
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    data["options"]["url"] = url
    nginx = data["facts"]["nginx"]
    nginx["servers"] = summarize(parse_config(str(conf)), str(tmp_path), None)["servers"]
    data["facts"]["access_log"] = read_access_logs(
        {"conf_path": str(conf), "prefix": str(tmp_path)}, 3600.0)
    return Facts.from_snapshot(data)


def picking(app: Any) -> bool:
    return isinstance(app.screen, PickAddressScreen)


async def open_pick_list(pilot: Any) -> str:
    await wait_for(pilot, lambda: picking(pilot.app))
    await pilot.pause()
    return screen_text(pilot.app)


async def test_the_pick_list_appears_and_a_digit_picks(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, FAILING))
    async with app.run_test(size=(80, 24)) as pilot:
        text = await open_pick_list(pilot)
        assert "Which address answers 502?" in text
        assert "1. shop.example/cart.php?id=3" in text  # the newest query of the address
        assert "2 times" in text and "last 3 min ago" in text
        assert "2. shop.example/checkout.php" in text
        assert "POST: seen failing; not requested again" in text
        assert "0. None of these / I don't know" in text
        assert "index.html" not in text  # it answered 200
        await pilot.press("1")
        # the checks run again with the address, then the answer opens over the walk
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
        assert app.session.facts.options.url == NEWEST
        assert app.session.transcript.options["url"] == NEWEST
        # walked again with the address: the request was tried (recorded facts have none)
        assert "no 'url_request' facts" in app.session.transcript.steps[1].summary
        await pilot.press("enter")
        await wait_for(pilot, lambda: f"URL: {NEWEST}" in screen_text(app))


async def test_enter_takes_the_most_recent_address(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, FAILING))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pick_list(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not picking(app))
        assert app.session.facts.options.url == NEWEST


async def test_a_post_is_never_picked(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, FAILING))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pick_list(pilot)
        await pilot.press("2")
        await pilot.pause()
        assert picking(app)
        assert app.session.facts.options.url is None
        await pilot.press("0")
        await wait_for(pilot, lambda: not picking(app))
        assert app.session.facts.options.url is None


async def test_escape_walks_on_without_an_address(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, FAILING))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pick_list(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, WalkScreen))
        assert app.session.facts.options.url is None
        assert "URL: none given (--url)" in screen_text(app)


async def test_the_pick_list_waits_for_the_walk_screen(tmp_path: Path) -> None:
    # too small a terminal first: the notice stays on top until the window is big enough
    app = make_app(host_facts(tmp_path, FAILING))
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        assert not any(isinstance(s, PickAddressScreen) for s in app.screen_stack)
        await pilot.resize_terminal(80, 24)
        text = await open_pick_list(pilot)
        assert "Which address answers 502?" in text


async def test_no_pick_list_when_the_url_was_given(tmp_path: Path) -> None:
    # With nothing failing, the question to type the address comes instead of the list:
    # tests/tui/test_ask_address.py.
    app = make_app(host_facts(tmp_path, FAILING, url="http://shop.example/"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not any(isinstance(s, PickAddressScreen) for s in app.screen_stack)
        assert isinstance(app.screen, VerdictScreen)  # straight to the answer


async def test_the_pick_list_reads_without_colour_on_a_linux_console(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "linux")
    app = make_app(host_facts(tmp_path, FAILING))
    async with app.run_test(size=(80, 24)) as pilot:
        text = await open_pick_list(pilot)
        assert text.isascii(), [c for c in text if not c.isascii()]
        assert "> 1. shop.example/cart.php?id=3" in text  # the mark, not only a colour


def test_pick_screen_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    async def until_picking(pilot: Any) -> None:
        await open_pick_list(pilot)

    app = make_app(host_facts(tmp_path, FAILING))
    assert snap_compare(app, terminal_size=(80, 24), run_before=until_picking)
