"""The address the person types (no --url given): used exactly as --url would be, and
shown in the host summary at once."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from wizard.engine.failing_addresses import use_address
from wizard.tui.screens.ask_address import AskAddressScreen
from wizard.tui.screens.pick_address import window_words
from wizard.tui.widgets.host_summary import HostSummary

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


def use_typed_address(app: WizardApp, url: str) -> None:
    """Use `url` for the rest of the walk; ValueError (with the reason) when it cannot be
    requested, and then nothing changed."""
    session = app.session
    use_address(session.facts, url, session.transcript)
    summary = app.walk.query_one(HostSummary)
    summary.url = url
    summary.update(summary.describe())
    app.address_given()


def offer_address_input(app: WizardApp, closed: Callable[[Any], None]) -> None:
    """Ask for the address: the logs named none that the wizard may request. `closed` is
    called when the question goes, answered or not."""
    since = window_words(app.session.facts.options.since_seconds)
    app.push_screen(AskAddressScreen(
        partial(use_typed_address, app),
        why_asked=f"nginx's logs show no failing address in {since} that the wizard "
                  "can request."), closed)
