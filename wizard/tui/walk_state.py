"""What the walk screen shows, derived from the session plus what only the TUI knows:
how far the person has walked, checks run again with `r`, fixes applied, and whether a
check is running right now.

The session runs ahead of the person (Session.run_ahead): every check has usually run
before the walk reaches it. The walk reveals the steps one by one; `revealed` counts
those shown. A question the run ahead took by its default is asked when the walk reaches
it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from wizard.engine.events import Event, StepStarted
from wizard.engine.runner import Session
from wizard.engine.transcript import FixOffer, Step
from wizard.flow.model import Node
from wizard.outcome import Status


@dataclass
class FixRecord:
    """A fix run from the TUI and the plain verdict after its check ran again."""

    index: int
    node: str
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
    ready: bool = False  # the walk's next node has already run ahead: Enter shows it

    @property
    def label(self) -> str:
        """The node's title; else its question; else what kind of step it is."""
        node = self.node
        return node.title or node.question or _KIND_WORDS.get(node.kind, "A step")

    @property
    def latest(self) -> Step | None:
        """What this step finds now: its check run again (r), else the step itself."""
        return self.recheck or self.step

    @property
    def status(self) -> Status | None:
        return self.latest.status if self.latest else None

    @property
    def plans(self) -> list[FixOffer]:
        """Fixes for what the step finds now: none once a fresh check passes."""
        return [offer for offer in (self.latest.fixes if self.latest else []) if offer.plan]


class WalkState:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.rechecks: dict[int, Step] = {}
        self.fixes: list[FixRecord] = []
        self.running_since: float | None = None  # time.monotonic() when a check started
        self.running_index: int | None = None
        self.fix_running = False
        self.revealed = 0  # steps the walk has shown the person
        self.ahead = False  # the session is running ahead (the checks are not all done)
        self.checking_again = False  # the run ahead is the fresh walk after a fix
        self.now_checking = ""  # the title of the check running ahead, for the progress line

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
            node = self.session.flow.by_id[event.node]
            if node.kind == "check":
                self.start_running(len(self.session.transcript.steps))
                self.now_checking = node.title or node.question
        else:
            self.stop_running()

    @property
    def checks_done(self) -> int:
        return sum(1 for step in self.session.transcript.steps if step.kind == "check")

    @property
    def all_shown(self) -> bool:
        return self.revealed >= len(self.session.transcript.steps)

    def reveal_next(self) -> None:
        """Show one more step, and with it any question no check gave a reason to ask
        (it shows as not asked; there is nothing to stop at)."""
        steps = self.session.transcript.steps
        self.revealed += 1
        while self.revealed < len(steps) and steps[self.revealed].kind == "ask" \
                and steps[self.revealed].status == Status.SKIPPED:
            self.revealed += 1

    def pending_question(self) -> Step | None:
        """The question at the walk's head that the run ahead took by default: the walk
        asks it now instead of showing the assumed answer."""
        steps = self.session.transcript.steps
        if self.revealed < len(steps):
            step = steps[self.revealed]
            if step.kind == "ask" and step.assumed and step.status != Status.SKIPPED:
                return step
        return None

    def stopped_at(self) -> Node | None:
        """The question the run ahead stopped at (it has no default and no answer yet)."""
        session = self.session
        node = session.flow.by_id.get(session.current or "")
        if node is None or node.kind != "ask" or self.ahead:
            return None
        return None if node.id in session.facts.options.answers else node

    def questions_to_ask(self) -> list[Step]:
        """Questions answered by default so far whose answers could change the diagnosis
        (an answer that names a cause or goes elsewhere): asked from the verdict."""
        nodes = self.session.flow.by_id
        found = []
        for step in self.session.transcript.steps:
            if step.kind != "ask" or not step.assumed or step.status == Status.SKIPPED:
                continue
            choices = nodes[step.node].choices
            taken = next((c for c in choices if c.key == step.result), None)
            if any(c.cause or (taken and c.next != taken.next) for c in choices
                   if c is not taken):
                found.append(step)
        return found

    def record_fix(self, index: int, verdict: str, fixed: bool,
                   plan_id: str | None = None) -> None:
        self.fix_running = False
        step = self.session.transcript.steps[index]
        plans = [offer.plan for offer in step.fixes if offer.plan]
        plan = next((p for p in plans if p.get("id") == plan_id), plans[0] if plans else {})
        self.fixes.append(FixRecord(index, step.node, str(plan.get("title", "fix")), verdict,
                                    fixed))

    def new_walk(self) -> None:
        """The session walks again after a fix: the person keeps their place, and every
        step shown is the fresh one once it has run."""
        self.rechecks.clear()
        self.ahead = self.checking_again = True

    def entries(self) -> list[Entry]:
        """The steps revealed so far, then the node the walk is at (not shown yet)."""
        nodes = self.session.flow.by_id
        steps = self.session.transcript.steps
        shown = steps[:self.revealed]
        found = [Entry(i, nodes[s.node], s, self.rechecks.get(i), self.fix_for(s.node))
                 for i, s in enumerate(shown)]
        ready = len(shown) < len(steps)
        head = steps[len(shown)].node if ready else self.session.current
        if head is not None:
            found.append(Entry(len(shown), nodes[head], None, ready=ready))
        return found

    def fix_for(self, node: str) -> FixRecord | None:
        """The newest fix run from this node's step, in this walk or an earlier one."""
        return next((f for f in reversed(self.fixes) if f.node == node), None)

    def fixed_causes(self) -> set[str]:
        """Causes of earlier walks that a fix ended: no step of this walk finds them."""
        earlier = self.session.transcript.earlier_walks
        now = {cause for step in self.session.transcript.steps for cause in step.causes}
        return {cause for walk in earlier for step in walk for cause in step.causes
                if cause not in now and any(f.fixed for f in self.fixes)}
