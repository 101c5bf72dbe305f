"""The engine: walks a flow node by node, running checks against the session's facts.

UI-agnostic: it reports through events and returns step records. A check that raises,
hangs past its timeout, or is cancelled becomes an `unknown` step with the reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wizard.checks import REGISTRY, CheckSpec, load_all
from wizard.engine.events import (
    Answered,
    AnswerNeeded,
    CheckRanAgain,
    EventSink,
    FixRecorded,
    StepFinished,
    StepStarted,
    WalkFinished,
    WalkStarted,
)
from wizard.engine.fix_proof import (
    FAILING,
    FIXED,
    UNPROVEN,
    Proof,
    describe_answer,
    judge_check,
)
from wizard.engine.placeholders import fill, unresolved
from wizard.engine.transcript import FixOffer, Step, Transcript
from wizard.fixes import ACTIONS, FixNotApplicable
from wizard.fixes import load_all as load_fixes
from wizard.fixes.result import AppliedFix
from wizard.flow.model import Choice, FixRef, Flow, Node, Outcome
from wizard.host.errorlog import mark_logs
from wizard.host.facts import Facts, FactUnavailable
from wizard.host.failing_request import FailingRequest, from_log, request_now
from wizard.outcome import CheckResult, Status

MAX_STEPS = 500  # a runaway cycle in a flow must end, not spin forever
SETTLE_SECONDS = 8.0  # how long a just-started or reloaded service may take to answer
SETTLE_POLL = 0.5


def _nginx_records(window: dict[str, Any], causes: list[str]) -> list[dict[str, Any]]:
    """The fields of nginx's records that name one of `causes`, newest first."""
    return [ev.get("fields") or {} for ev in reversed(window.get("events") or [])
            if ev.get("kind") == "nginx" and set(causes) & set(ev.get("causes") or [])]


def _capitalised(text: str) -> str:
    """A sentence's first letter, unless it starts with an address (http://...)."""
    return text if "://" in text.split(" ", 1)[0] else text[:1].upper() + text[1:]


class AnswerRequired(Exception):
    """An ask node has no answer yet (headless with neither --answer nor default_choice)."""


@dataclass
class CheckRun:
    result: CheckResult
    status: Status


def run_check(spec: CheckSpec, facts: Facts, timeout: float,
              cancel: threading.Event | None = None) -> CheckRun:
    """Run one check in a daemon thread, so a hang can be abandoned and never blocks exit."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = spec.fn(facts)
        except FactUnavailable as exc:  # the host could not tell: its reason is plain
            box["error"] = str(exc)
        except Exception as exc:  # any bug or host surprise becomes a plain reason
            box["error"] = f"an internal error ({type(exc).__name__}: {exc})"

    worker = threading.Thread(target=target, name=f"check:{spec.name}", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout
    while worker.is_alive():
        if cancel is not None and cancel.is_set():
            return _unknown("the check was cancelled")
        if time.monotonic() >= deadline:
            return _unknown(f"the check did not finish within {timeout:g}s")
        worker.join(0.05)
    if "error" in box:
        return _unknown(f"the check could not finish: {box['error']}")
    result = box.get("result")
    if not isinstance(result, CheckResult):
        return _unknown("the check returned no result")
    try:
        return CheckRun(result, spec.status_of(result.result))
    except ValueError as exc:
        return _unknown(str(exc))


def _unknown(reason: str) -> CheckRun:
    return CheckRun(CheckResult("unknown", reason, confidence=0), Status.UNKNOWN)


class Session:
    """One walk through one flow."""

    def __init__(self, flow: Flow, facts: Facts, *, on_event: EventSink | None = None,
                 check_timeout: float | None = None, headless: bool = True) -> None:
        load_all()
        load_fixes()
        self.flow = flow
        self.facts = facts
        self.on_event = on_event or (lambda event: None)
        self.check_timeout = check_timeout
        self.headless = headless
        self.transcript = Transcript(flow=flow.flow, options=facts.options.to_json(),
                                     symptom=flow.symptom)
        self.current: str | None = flow.start
        self.cancel_event = threading.Event()
        self.answers: dict[str, str] = {}  # what the person answered in this session
        self._nodes = flow.by_id

    @property
    def finished(self) -> bool:
        return self.current is None

    def cancel(self) -> None:
        self.cancel_event.set()

    def advance(self, answer: str | None = None, assume: bool = False) -> Step | None:
        """Run the current node and move on. Returns its step, or None when finished.
        `assume`: a question nobody answered yet takes its default_choice (marked so)."""
        if self.current is None:
            return None
        if len(self.transcript.steps) >= MAX_STEPS:
            self._stop(f"stopped after {MAX_STEPS} steps: the flow seems to loop")
            return None
        node = self._nodes[self.current]
        self.cancel_event.clear()
        self.on_event(StepStarted(node.id, node.title))
        if node.kind == "check":
            step, nxt = self._run_check_node(node)
        elif node.kind == "ask":
            step, nxt = self._run_ask_node(node, answer, assume)
        else:
            step, nxt = self._run_text_node(node)
        self.transcript.steps.append(step)
        self.current = nxt
        self.on_event(StepFinished(step))
        if self.current is None:
            self._stop(None)
        return step

    def facts_needed(self) -> list[str]:
        """The facts this flow's checks declare they read."""
        names = {name for node in self.flow.nodes if node.check in REGISTRY
                 for name in REGISTRY[node.check or ""].facts}
        return sorted(names)

    def prefetch(self, wait: bool = True) -> None:
        """Gather every fact the flow will read at once, in parallel: commands, probes and
        log reads overlap instead of waiting for each check in turn. `wait=False` (the
        TUI) starts them and returns: each check then shows as soon as its own facts are
        in, and one whose fact hangs (an upstream that accepts and never answers) ends
        at its timeout as `unknown` instead of holding up every check behind it."""
        if not self.facts.replay:
            # A thread for each: most of them wait on a command, a probe or a fact they
            # read, so none should queue behind another (PHP-FPM's tests start at once).
            names = self.facts_needed()
            self.facts.gather(names, workers=max(1, len(names)), wait=wait)

    def run(self) -> Transcript:
        """Walk to the end without a person (headless)."""
        try:
            while self.advance() is not None:
                pass
        except AnswerRequired as exc:
            self._stop(str(exc))
        return self.transcript

    def run_ahead(self, stop: threading.Event) -> None:
        """Run every node no person is needed for, in order: checks, notes, and questions
        by their safe default_choice (marked `assumed`, asked when the walk reaches
        them). Ends at the flow's end, at a question without a default, or on `stop`."""
        try:
            while not self.finished and not stop.is_set():
                self.advance(assume=True)
        except AnswerRequired:
            pass  # the walk waits at this question for the person (AnswerNeeded was sent)

    def answer(self, node_id: str, key: str) -> bool:
        """The person's answer to an ask node, kept for this session. An answer to a
        question taken by default either confirms it, or cuts the walk back to that
        question so it runs on from the new answer. True when the walk must run on."""
        node = self._nodes[node_id]
        if all(choice.key != key for choice in node.choices):
            raise AnswerRequired(f"{key!r} is not an answer to {node_id!r}")
        self.answers[node_id] = key
        self.on_event(Answered(node_id, key))
        steps = self.transcript.steps
        index = next((i for i in range(len(steps) - 1, -1, -1) if steps[i].node == node_id),
                     None)
        if index is None:
            return self.current == node_id
        if steps[index].result == key and steps[index].status != Status.SKIPPED:
            steps[index].assumed = False
            return False
        self.transcript.steps = steps[:index]  # a new list: readers on other threads
        self.current = node_id
        self.transcript.finished, self.transcript.error = None, None
        self.on_event(WalkStarted("answer", index))
        return True

    def restart(self) -> None:
        """Walk again from the start, dropping the steps so far: nothing on the host
        changed, but what the walk reads did (the address to request became known)."""
        self.transcript.steps = []
        self.transcript.finished, self.transcript.error = None, None
        self.current = self.flow.start
        self.on_event(WalkStarted("restart", 0))

    def start_over(self) -> None:
        """After a fix changed the host, walk again from the start on fresh facts (the
        logs count only lines written since the fix; see prove). The walk so far is kept
        in the transcript as an earlier walk; the person's answers still hold."""
        self.transcript.earlier_walks.append(self.transcript.steps)
        self.transcript.steps = []
        self.transcript.finished, self.transcript.error = None, None
        self.current = self.flow.start
        self.facts.invalidate()
        self.on_event(WalkStarted("after_fix", 0))

    def rerun(self, node_id: str) -> Step:
        """Run a check node again on fresh facts (after a fix) without moving the walk."""
        self.facts.invalidate()
        step, _ = self._run_check_node(self._nodes[node_id])
        self.on_event(CheckRanAgain(step))
        return step

    def apply_fix(self, step: Step, offer: FixOffer,
                  on_output: Callable[[str], None] = lambda line: None,
                  password: str | None = None) -> AppliedFix:
        """Run a confirmed fix, then prove it on fresh evidence (fix_proof.py). A config
        fix that fresh evidence shows failing is rolled back (backups restored, reloaded);
        one that answers now, or that nothing fresh can judge yet, is kept.

        `password` is for sudo when it asks for one (the TUI's masked input); headless, a
        person at a terminal is asked with getpass instead. It is used for this fix and
        its rollback only, and never recorded."""
        # runs commands: imported only when a fix is confirmed
        from wizard.fixes.apply import apply_fix, rollback, rollback_summary
        from wizard.fixes.privilege import ask_on_tty, obtain, probe_of

        if offer.plan is None:
            raise ValueError(f"fix {offer.action} has no plan: {offer.unavailable}")
        if self.facts.replay:  # the CLI and the TUI refuse first; this is the last guard
            refused = AppliedFix(offer.plan["id"], time.time(), [], succeeded=False,
                                 after="not run: the plan was made from a snapshot, not from "
                                       "this host; run the diagnosis on the host itself")
            on_output(_capitalised(refused.after))
            self.transcript.fixes.append(refused)
            self.on_event(FixRecorded(refused))
            return refused
        root = obtain(bool(offer.plan.get("needs_root")), password,
                      ask_on_tty if self.headless else None, probe_of(offer.plan))
        failing = self._failing_request(step)  # from the evidence of before the fix
        try:
            applied = apply_fix(offer.plan, self.facts, on_output, root=root)
            applied.before = f"{step.status}: {step.summary}"
            # `after` is already set when nothing was run, or it was refused or rolled back
            if not applied.after:
                proof = self.prove(step, failing)
                applied.proof = proof.verdict
                applied.after = proof.text
                applied.succeeded = applied.succeeded and proof.verdict == FIXED
                on_output(_capitalised(proof.text))
                if proof.verdict == FAILING and applied.backups:
                    on_output("The change did not help: putting the previous configuration "
                              "back.")
                    restored = rollback(applied, self.facts, on_output, root=root)
                    summary = rollback_summary(applied, restored)
                    applied.after += f"; {summary}"
                    on_output(_capitalised(summary))
        finally:
            root.close()
        self.transcript.fixes.append(applied)
        self.on_event(FixRecorded(applied))
        return applied

    def prove(self, step: Step, failing: FailingRequest | None) -> Proof:
        """Judge a fix that just ran on evidence from after it: `failing` is the request
        to send again. From now on this session reads only log lines written after this
        moment. A service that was just started or reloaded may need a moment: a failing
        verdict is looked at again until SETTLE_SECONDS have passed."""
        mark_logs(self.facts)
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            self.facts.invalidate()
            proof = self._prove_once(step, failing)
            if proof.verdict != FAILING or time.monotonic() >= deadline:
                return proof
            time.sleep(SETTLE_POLL)  # polling the host with a deadline, not a fixed wait

    def _prove_once(self, step: Step, failing: FailingRequest | None) -> Proof:
        record = request_now(self.facts, failing) if failing else None
        answer = describe_answer(record) if record else None
        if step.kind != "check" or self._nodes[step.node].check == "request.url":
            return answer or Proof(UNPROVEN, "applied, not yet proven: give the address "
                                   "with --url, or reload the page to see")
        after, _ = self._run_check_node(self._nodes[step.node])  # prove() invalidated
        checked = judge_check(after.status, after.summary, self._reads_logs(step.node))
        if answer is None or answer.verdict == UNPROVEN:
            return checked if answer is None or checked.verdict != FIXED else answer
        if answer.verdict == FIXED and checked.verdict == FAILING:
            # the page answers, yet the live host still shows the problem (a firewall
            # that only drops other hosts' traffic): keep the change, say both
            return Proof(UNPROVEN, f"{answer.text}, but the check still finds: "
                         f"{after.summary}", answer.evidence)
        return answer

    def _reads_logs(self, node_id: str) -> bool:
        spec = REGISTRY.get(self._nodes[node_id].check or "")
        return spec is not None and "error_log_events" in spec.facts

    def _failing_request(self, step: Step) -> FailingRequest | None:
        """What to request to prove a fix: --url; else the failing request in the log
        lines that found the problem: the fixed step's own, else the newest one nginx
        logged for the cause it fixes, else one another step found for that cause. Never
        an unrelated failure: that would judge this fix by another problem."""
        if self.facts.options.url:
            return FailingRequest(self.facts.options.url, self.facts.options.url_connect)
        nginx = self.facts.try_get("nginx") or {}
        window = self.facts.try_get("error_log_events") or {}
        candidates = [step.vars] if step.status == Status.PROBLEM else []
        candidates += _nginx_records(window, step.causes)
        candidates += [s.vars for s in reversed(self.transcript.steps)
                       if s.status == Status.PROBLEM and set(s.causes) & set(step.causes)]
        for fields in candidates:
            found = from_log(fields, nginx) if fields.get("request") else None
            if found:
                return found
        return None

    def _stop(self, error: str | None) -> None:
        self.current = None
        self.transcript.error = error
        self.transcript.finished = time.time()
        self.on_event(WalkFinished(self.transcript))

    def _run_check_node(self, node: Node) -> tuple[Step, str | None]:
        started = time.time()
        spec = REGISTRY.get(node.check or "")
        if spec is None:
            run = _unknown("this step names a check this version does not have "
                           "(`flows lint` lists it)")
        else:
            run = run_check(spec, self.facts, self.check_timeout or spec.timeout,
                            self.cancel_event)
        outcome = node.on.get(run.result.result) or node.default or Outcome()
        variables = {**run.result.vars, "summary": run.result.summary}
        causes = list(run.result.causes)
        if outcome.cause and outcome.cause not in causes:
            causes.insert(0, outcome.cause)
        step = Step(
            node=node.id, kind=node.kind, title=node.title, question=node.question,
            status=run.status, result=run.result.result, summary=run.result.summary,
            text=fill(outcome.text, variables) if outcome.text else run.result.summary,
            causes=causes, ruled_out=list(outcome.rules_out), explains=list(outcome.explains),
            confidence=run.result.confidence if causes else 0,
            evidence=list(run.result.evidence), history=list(run.result.history),
            vars=variables,
            fixes=self._offers(outcome.fixes, variables),
            started=started, duration=time.time() - started,
        )
        return step, outcome.next

    def _run_ask_node(self, node: Node, answer: str | None,
                      assume: bool = False) -> tuple[Step, str | None]:
        key = answer or self.answers.get(node.id) or self.facts.options.answers.get(node.id)
        if key is None and node.ask_if and not self._reason_to_ask(node):
            return self._not_asked(node)
        assumed = key is None and (self.headless or assume) and bool(node.default_choice)
        if assumed:
            key = node.default_choice
        if key is None:
            self.on_event(AnswerNeeded(node.id))
            raise AnswerRequired(f"the question {node.id!r} needs an answer "
                                 f"(--answer {node.id}=KEY)")
        choice = next((c for c in node.choices if c.key == key), None)
        if choice is None:
            keys = ", ".join(c.key for c in node.choices)
            raise AnswerRequired(f"{key!r} is not an answer to {node.id!r} (one of: {keys})")
        step = self._answered(node, choice)
        step.assumed = assumed
        return step, choice.next

    def _reason_to_ask(self, node: Node) -> bool:
        """Did a check this walk ran end with one of the results `ask_if` lists?"""
        return any(step.node in node.ask_if and step.result in node.ask_if[step.node]
                   for step in self.transcript.steps)

    def _not_asked(self, node: Node) -> tuple[Step, str | None]:
        """No check found a reason to ask: go on as the default answer would, adding
        nothing to the diagnosis (the default's cause, if any, is not assumed)."""
        choice = next(c for c in node.choices if c.key == node.default_choice)
        return Step(
            node=node.id, kind=node.kind, title=node.title, question=node.question,
            status=Status.SKIPPED, result=None, assumed=True,
            summary="Not asked: no check found a sign of it.",
            text="Not asked: no check found a sign of it.", started=time.time(),
        ), choice.next

    def _answered(self, node: Node, choice: Choice) -> Step:
        return Step(
            node=node.id, kind=node.kind, title=node.title, question=node.question,
            status=Status.PROBLEM if choice.cause else Status.OK, result=choice.key,
            summary=choice.label, text=choice.text or choice.label,
            causes=[choice.cause] if choice.cause else [], confidence=1 if choice.cause else 0,
            fixes=self._offers(choice.fixes, {}), started=time.time(),
        )

    def _run_text_node(self, node: Node) -> tuple[Step, str | None]:
        variables = self._all_vars()
        return Step(
            node=node.id, kind=node.kind, title=node.title, question=node.question,
            status=Status.PROBLEM if node.cause else Status.OK, result=None,
            summary=fill(node.text, variables), text=fill(node.text, variables),
            causes=[node.cause] if node.cause else [], confidence=1 if node.cause else 0,
            fixes=self._offers(node.fixes, variables), started=time.time(),
        ), node.next

    def _all_vars(self) -> dict[str, object]:
        merged: dict[str, object] = {}
        for step in self.transcript.steps:
            merged.update(step.vars)
        return merged

    def _offers(self, refs: list[FixRef], variables: dict[str, object]) -> list[FixOffer]:
        merged = {**self._all_vars(), **variables}
        return [self._offer(ref, merged) for ref in refs]

    def _offer(self, ref: FixRef, variables: dict[str, object]) -> FixOffer:
        args = {k: fill(v, variables) for k, v in ref.args.items()}
        action = ACTIONS.get(ref.action)
        if action is None:
            return FixOffer(ref.action, args, unavailable=f"no fix action {ref.action!r}")
        missing = [name for value in args.values() for name in unresolved(value)]
        if missing:
            return FixOffer(ref.action, args,
                            unavailable=f"not known on this host: {', '.join(missing)}")
        try:
            with self.facts.commands.recording("fix plan"):  # listings a plan reads
                return FixOffer(ref.action, args, plan=action.plan(args, self.facts).to_json())
        except FixNotApplicable as exc:
            return FixOffer(ref.action, args, unavailable=str(exc))
