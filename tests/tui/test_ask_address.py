"""No --url, and nothing in the logs to pick: the wizard asks for the address in the app.
The typed address is checked by the engine (use_address) and, once taken, used as --url
would be. The pick list offers the same input as "Type another address".

The host is the recorded Debian one with an access log written into a temp folder (see
tests/tui/test_pick_address.py, whose helpers these tests share).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import screen_text
from tests.tui.states import settle, wait_for
from tests.tui.test_pick_address import FAILING, NEWEST, host_facts, make_app, open_pick_list
from wizard.tui.screens.ask_address import AskAddressScreen
from wizard.tui.screens.pick_address import PickAddressScreen
from wizard.tui.widgets.host_summary import HostSummary

NOTHING_FAILED = [(300, "GET /cart.php HTTP/1.1", 200)]
ONLY_A_POST = [(300, "POST /checkout.php HTTP/1.1", 502)]
TYPED = "http://shop.example/cart.php"


def asking(app: Any) -> bool:
    return isinstance(app.screen, AskAddressScreen)


def asked_about_the_address(app: Any) -> bool:
    """The question or the pick list is still open (on top or under another screen)."""
    return any(isinstance(s, (AskAddressScreen, PickAddressScreen)) for s in app.screen_stack)


def shown_url(app: Any) -> str:
    """The host summary's URL line: what the walk screen shows (another screen, such as
    the verdict, may cover it once the question is gone)."""
    content = str(app.walk.query_one(HostSummary).content)
    return next(line for line in content.splitlines() if "URL: " in line)


async def open_question(pilot: Any) -> str:
    await wait_for(pilot, lambda: asking(pilot.app))
    await pilot.pause()
    return screen_text(pilot.app)


async def type_in(pilot: Any, text: str) -> None:
    await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause()


def flat(text: str) -> str:
    """Screen text with the dialog's borders and wrapping taken out, to find sentences."""
    return " ".join(text.replace("|", " ").replace("\u2502", " ").replace("\u2551", " ").split())


@pytest.mark.parametrize("lines", [NOTHING_FAILED, ONLY_A_POST], ids=["nothing", "a post"])
async def test_the_question_appears_when_nothing_can_be_picked(
        tmp_path: Path, lines: list[tuple[int, str, int]]) -> None:
    app = make_app(host_facts(tmp_path, lines))
    async with app.run_test(size=(80, 24)) as pilot:
        text = await open_question(pilot)
        assert "Which address answers 502?" in text
        said = flat(text)
        assert "show no failing address in the last hour that the wizard can request" in said
        assert "The wizard requests it itself and reads the log lines" in said
        assert "for example https://shop.example/cart" in text  # the empty input's hint
        assert "Enter: use this address.  Escape: walk on without an address." in text
        assert not any(isinstance(s, PickAddressScreen) for s in app.screen_stack)


async def test_a_bad_address_shows_the_reason_and_keeps_the_question(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, NOTHING_FAILED))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_question(pilot)
        await type_in(pilot, "ftp://shop.example/cart")
        text = screen_text(app)
        assert asking(app)
        assert ("That address will not do: only http:// and https:// addresses "
                "can be requested") in flat(text)
        assert app.session.facts.options.url is None
        await pilot.press("ctrl+u", "enter")  # the line emptied: nothing typed at all
        await pilot.pause()
        assert asking(app) and "Type an address first, or press Escape." in screen_text(app)


async def test_a_good_address_is_used_as_url_would_be(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, NOTHING_FAILED))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_question(pilot)
        await type_in(pilot, "ftp://x")  # a refusal first: the reason goes once text changes
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert "will not do" not in screen_text(app)
        await type_in(pilot, TYPED)
        await wait_for(pilot, lambda: not asked_about_the_address(app))
        await settle(pilot)
        assert app.session.facts.options.url == TYPED
        assert app.session.transcript.options["url"] == TYPED
        assert shown_url(app).endswith(f"URL: {TYPED}")


async def test_escape_walks_on_without_an_address(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, NOTHING_FAILED))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_question(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not asked_about_the_address(app))
        await settle(pilot)  # the question is asked once: it does not come back
        assert not asked_about_the_address(app)
        assert app.session.facts.options.url is None
        assert shown_url(app).endswith("URL: none given (--url)")


async def test_no_question_when_the_url_was_given(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, NOTHING_FAILED, url="http://shop.example/"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not asked_about_the_address(app)


async def test_the_question_waits_for_the_walk_screen(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, NOTHING_FAILED))
    async with app.run_test(size=(60, 20)) as pilot:  # the too-small notice first
        await settle(pilot)
        assert not any(isinstance(s, AskAddressScreen) for s in app.screen_stack)
        await pilot.resize_terminal(80, 24)
        await open_question(pilot)


async def test_the_pick_list_offers_to_type_another_address(tmp_path: Path) -> None:
    app = make_app(host_facts(tmp_path, FAILING))
    async with app.run_test(size=(80, 24)) as pilot:
        text = await open_pick_list(pilot)
        assert "t. Type another address" in text
        await pilot.press("t")
        text = await open_question(pilot)
        assert "Escape: back to the list." in text
        assert "show no failing address" not in flat(text)  # the list did show some
        await pilot.press("escape")  # back to the list, nothing chosen
        await wait_for(pilot, lambda: isinstance(app.screen, PickAddressScreen))
        assert app.session.facts.options.url is None
        # the row itself, with the arrows and Enter: it sits after the addresses (the
        # arrows pass over the POST, which cannot be picked)
        await pilot.press("down")
        await pilot.pause()
        assert "> t. Type another address" in screen_text(app)
        await pilot.press("enter")
        await open_question(pilot)
        await type_in(pilot, "gopher://shop.example/")
        assert asking(app) and "will not do" in screen_text(app)
        await pilot.press("ctrl+u")
        await type_in(pilot, TYPED)
        await wait_for(pilot, lambda: not asked_about_the_address(app))
        await settle(pilot)
        assert app.session.facts.options.url == TYPED != NEWEST
        assert shown_url(app).endswith(f"URL: {TYPED}")


async def test_the_question_reads_without_colour_on_a_linux_console(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "linux")
    app = make_app(host_facts(tmp_path, NOTHING_FAILED))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_question(pilot)
        await type_in(pilot, "ftp://x")
        text = screen_text(app)
        assert text.isascii(), [c for c in text if not c.isascii()]
        assert "That address will not do" in text  # words, not only a colour


def test_ask_screen_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    async def until_asking(pilot: Any) -> None:
        await open_question(pilot)

    app = make_app(host_facts(tmp_path, NOTHING_FAILED))
    assert snap_compare(app, terminal_size=(80, 24), run_before=until_asking)
