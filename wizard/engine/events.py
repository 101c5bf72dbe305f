"""Events the engine emits while it walks; the TUI and the headless report follow them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from wizard.engine.transcript import Step, Transcript
from wizard.fixes.result import AppliedFix


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


@dataclass(frozen=True)
class WalkStarted:
    """The walk starts again: from the start (`kept` is 0), or cut back to a question whose
    answer changed (its first `kept` steps stay). `why`: restart | after_fix | answer;
    after a fix, the steps so far are kept as an earlier walk."""

    why: str
    kept: int


@dataclass(frozen=True)
class Answered:
    """The person answered a question; the session keeps the answer."""

    node: str
    key: str


@dataclass(frozen=True)
class FixRecorded:
    """A confirmed fix ended (ran, was refused or rolled back) and is in the transcript."""

    fix: AppliedFix


@dataclass(frozen=True)
class CheckRanAgain:
    """The person ran a step's check again (the TUI's r) on fresh facts; the walk did not
    move, so only the session's record keeps what it found."""

    step: Step


# What a screen follows to show progress, and what only a session's record needs.
# (Union, not |: these aliases are evaluated at run time, and Python 3.9 has no X | Y;
# isinstance takes the tuple there, not the Union.)
PROGRESS_EVENTS = (StepStarted, StepFinished, AnswerNeeded, WalkFinished)
Progress = Union[StepStarted, StepFinished, AnswerNeeded, WalkFinished]
RecordOnly = Union[WalkStarted, Answered, FixRecorded, CheckRanAgain]
Event = Union[Progress, RecordOnly]
EventSink = Callable[[Event], None]
