"""The address that answers 502, when --url was not given: the pick list of addresses
nginx's logs show failing, or (none the wizard may request) a question to type it. Once
given it is used exactly as --url would be, shown in the host summary, and the checks run
again from the start with it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from wizard.engine.failing_addresses import FailingAddress, use_address
from wizard.tui.screens.ask_address import AskAddressScreen
from wizard.tui.screens.pick_address import PickAddressScreen, window_words
from wizard.tui.screens.walk import WalkScreen
from wizard.tui.widgets.host_summary import HostSummary

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


class AddressQuestion:
    def __init__(self, app: WizardApp) -> None:
        self.app = app
        self.to_offer: list[FailingAddress] = []
        self.typing_due = False  # the logs named no address to pick; not asked yet
        self.open = False  # the pick list or the question is on screen

    @property
    def pending(self) -> bool:
        """Asked, or about to be: the verdict waits, as the address changes the checks."""
        return bool(self.to_offer) or self.typing_due or self.open

    def found(self, addresses: list[FailingAddress]) -> None:
        """The logs were read: offer what can be requested, else ask to type it."""
        if any(address.can_request for address in addresses):
            self.to_offer = addresses
        else:
            self.typing_due = True
        self.offer()

    def offer(self) -> None:
        """Once the walk screen is on top (not over help, a fix or the too-small notice),
        and only while no address is known."""
        app = self.app
        if not (self.to_offer or self.typing_due) or not isinstance(app.screen, WalkScreen):
            return
        addresses, self.to_offer, self.typing_due = self.to_offer, [], False
        options = app.session.facts.options
        if options.url or app.state.fix_running:
            return
        self.open = True
        if not addresses:
            since = window_words(options.since_seconds)
            app.open_dialog(AskAddressScreen(
                self.use, why_asked=f"nginx's logs show no failing address in {since} "
                                    "that the wizard can request."), self._closed)
            return
        app.open_dialog(PickAddressScreen(addresses, options.since_seconds, time.time(),
                                          type_address=self.use), self._chosen)

    def use(self, url: str) -> None:
        """Use `url` for the rest of the session; ValueError (with the reason) when it
        cannot be requested, and then nothing changed."""
        app = self.app
        use_address(app.session.facts, url, app.session.transcript)
        summary = app.walk.query_one(HostSummary)
        summary.url = url
        summary.update(summary.describe())
        app.address_given()

    def _chosen(self, url: str | None) -> None:
        if url:
            try:
                self.use(url)
            except ValueError as exc:
                self.app.notify(f"That address cannot be requested: {exc}",
                                severity="warning", markup=False)
        self._closed(None)

    def _closed(self, _result: object) -> None:
        self.open = False
        self.app.show_verdict()

