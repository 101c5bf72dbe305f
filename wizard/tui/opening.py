"""What `tui` opens, read behind the first screen: the flow (which loads every check and
fix it names, and YAML), the facts of this host or of a snapshot, and the session to
resume. On a busy machine that took a third of a second before anything was drawn, so
the app paints first and reads these in a worker (issue 14). A flow, snapshot or session
that cannot be used still ends the wizard with its reason on one line and exit 2.

Its messages live here, not in messages.py: that module loads the engine, which is what
the first screen must not wait for."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from wizard.engine.facts_source import Facts
    from wizard.engine.runner import Session
    from wizard.engine.session_resume import ResumePoint
    from wizard.flow.model import Flow
    from wizard.options import Options


@dataclass(frozen=True)
class Opening:
    """What the command line asked to open."""

    options: Options
    snapshot: str | None = None  # replay these facts instead of reading the host
    resume: bool = False  # the newest unfinished session, with its own options
    flow: Flow | None = None  # options.flow, already loaded and checked by the caller


@dataclass(frozen=True)
class Opened:
    """The parts of a session, read and checked."""

    flow: Flow
    facts: Facts
    snapshot: str | None
    resumed: ResumePoint | None = None


class CannotOpen(Exception):
    """The flow, the snapshot or the session to resume cannot be used: str(exc) is the
    one line to print."""


def open_parts(opening: Opening) -> Opened:
    """Read and check what `opening` names. Slow (see above): call it off the UI thread."""
    from wizard.engine.facts_source import FactsFileError, open_facts
    from wizard.engine.session_resume import NoSuchSession, resume_point
    from wizard.flow.library import find_flow
    from wizard.flow.loader import FlowLoadError

    options, snapshot, resumed = opening.options, opening.snapshot, None
    try:
        if opening.resume:
            resumed = resume_point(options, snapshot)
            options, snapshot = resumed.options, resumed.snapshot
        flow = opening.flow
        if flow is None or resumed is not None:
            flow = find_flow(options.flow, options.flow_dirs)
        return Opened(flow, open_facts(options, snapshot), snapshot, resumed)
    except (FlowLoadError, FactsFileError, NoSuchSession) as exc:
        raise CannotOpen(str(exc)) from None


def draws_on_a_terminal() -> bool:
    """Textual draws on stderr. When that is a pipe or a file nobody sees a first screen,
    and a reason printed after Textual's output would be lost in it."""
    stream = sys.__stderr__
    return stream is not None and stream.isatty()


@dataclass
class SessionOpened(Message):
    """The parts were read behind the first screen and the session is made."""

    opened: Opened
    session: Session


@dataclass
class OpeningRefused(Message):
    """The flow, the snapshot or the session to resume cannot be used (exit 2)."""

    reason: str
