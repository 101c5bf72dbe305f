"""Events the engine emits while it walks; the TUI and the headless report follow them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wizard.engine.transcript import Step, Transcript


@dataclass(frozen=True)
class StepStarted:
    """A node began: a check is running or a question is waiting."""

    node: str
    title: str


@dataclass(frozen=True)
class StepFinished:
    """A node ended with a step record."""

    step: Step


@dataclass(frozen=True)
class AnswerNeeded:
    """An ask node waits for the person's answer."""

    node: str


@dataclass(frozen=True)
class WalkFinished:
    """The walk reached its end (or stopped; see transcript.error)."""

    transcript: Transcript


Event = StepStarted | StepFinished | AnswerNeeded | WalkFinished
EventSink = Callable[[Event], None]
