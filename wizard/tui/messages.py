"""Messages posted from worker threads to the app (post_message is thread-safe)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from wizard.engine.events import Event
from wizard.engine.failing_addresses import FailingAddress
from wizard.engine.transcript import FixOffer, Step
from wizard.fixes.result import AppliedFix


@dataclass
class EngineEvent(Message):
    """The engine reported progress: a step started or finished, an answer is wanted, the end."""

    event: Event


@dataclass
class WalkStalled(Message):
    """advance() stopped without a step (an answer is missing, or the engine failed)."""

    reason: str


@dataclass
class CheckRerun(Message):
    """A step's check ran again (key r); the walk did not move."""

    index: int
    step: Step


@dataclass
class HostFact(Message):
    """A fact for the host summary arrived; value is None when unavailable (see reason)."""

    name: str
    value: Any
    reason: str | None


@dataclass
class RootAccessProbed(Message):
    """sudo was asked (off the UI thread) how this fix's commands can run as root."""

    index: int
    offer: FixOffer
    needs_password: bool


@dataclass
class FixOutput(Message):
    """One line printed by a running fix."""

    line: str


@dataclass
class FixFinished(Message):
    """A fix ended and its check ran again; verdict is the plain sentence shown."""

    index: int
    applied: AppliedFix | None
    verdict: str
    fixed: bool


@dataclass
class FailingAddressesFound(Message):
    """The logs were read (no --url given): the addresses seen failing, newest first."""

    addresses: list[FailingAddress]


@dataclass
class RanAhead(Message):
    """The session ran every step it could without a person (see Session.run_ahead)."""


@dataclass
class ReportReady(Message):
    """The report of the walk so far is built and the transcript saved (or why not)."""

    report: dict[str, Any]
    error: str | None
