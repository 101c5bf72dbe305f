"""What the walk screen shows, derived from the session plus what only the TUI knows:
checks run again with `r`, fixes applied, and whether a check is running right now."""

from __future__ import annotations

import time
from dataclasses import dataclass

from wizard.engine.events import AnswerNeeded, Event, StepStarted
from wizard.engine.runner import Session
from wizard.engine.transcript import FixOffer, Step
from wizard.flow.model import Node
from wizard.outcome import Status


@dataclass
class FixRecord:
    """A fix run from the TUI and the plain verdict after its check ran again."""

    index: int
    title: str
    verdict: str
    fixed: bool


# What a step is called when its flow node has no title: node ids are for flow authors.
_KIND_WORDS = {"check": "A check", "ask": "A question", "info": "A note", "end": "The end"}


@dataclass
class Entry:
    """One line of the step list: a step taken, or the node the walk waits at."""

    index: int
    node: Node
    step: Step | None  # None: the walk's current node, not run yet
    recheck: Step | None = None
    fix: FixRecord | None = None

    @property
    def label(self) -> str:
        """The node's title; else its question; else what kind of step it is."""
        node = self.node
        return node.title or node.question or _KIND_WORDS.get(node.kind, "A step")

    @property
    def status(self) -> Status | None:
        if self.fix is not None and self.fix.fixed:
            return Status.OK
        latest = self.recheck or self.step
        return latest.status if latest else None

    @property
    def plans(self) -> list[FixOffer]:
        return [offer for offer in (self.step.fixes if self.step else []) if offer.plan]


class WalkState:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.rechecks: dict[int, Step] = {}
        self.fixes: list[FixRecord] = []
        self.running_since: float | None = None  # time.monotonic() when a check started
        self.running_index: int | None = None
        self.waiting = False  # the current ask node waits for the person's answer
        self.fix_running = False

    @property
    def running(self) -> bool:
        return self.running_since is not None

    def elapsed(self) -> float:
        return time.monotonic() - self.running_since if self.running_since else 0.0

    def start_running(self, index: int) -> None:
        self.running_since = time.monotonic()
        self.running_index = index

    def stop_running(self) -> None:
        self.running_since = None
        self.running_index = None

    def follow(self, event: Event) -> None:
        """Track the engine: a check runs from StepStarted until its step is recorded."""
        if isinstance(event, StepStarted):
            self.waiting = False
            if self.session.flow.by_id[event.node].kind == "check":
                self.start_running(len(self.session.transcript.steps))
        else:
            self.stop_running()
            self.waiting = isinstance(event, AnswerNeeded)

    def record_fix(self, index: int, verdict: str, fixed: bool,
                   plan_id: str | None = None) -> None:
        self.fix_running = False
        step = self.session.transcript.steps[index]
        plans = [offer.plan for offer in step.fixes if offer.plan]
        plan = next((p for p in plans if p.get("id") == plan_id), plans[0] if plans else {})
        self.fixes.append(FixRecord(index, str(plan.get("title", "fix")), verdict, fixed))

    def entries(self) -> list[Entry]:
        nodes = self.session.flow.by_id
        steps = list(self.session.transcript.steps)
        found = [Entry(i, nodes[s.node], s, self.rechecks.get(i), self.fix_for(i))
                 for i, s in enumerate(steps)]
        if self.session.current is not None:
            found.append(Entry(len(steps), nodes[self.session.current], None))
        return found

    def fix_for(self, index: int) -> FixRecord | None:
        return next((f for f in reversed(self.fixes) if f.index == index), None)

    def fixed_causes(self) -> set[str]:
        """Causes whose step passes now, after a fix or a fresh check."""
        steps = self.session.transcript.steps
        return {cause for entry in self.entries() if entry.step and entry.index < len(steps)
                and entry.step.status != Status.OK and entry.status == Status.OK
                for cause in entry.step.causes}
