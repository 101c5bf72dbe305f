"""The session runs ahead of the person (the TUI's answer first): every check runs without
waiting for Enter, questions take their safe default until the person answers, a
different answer runs the walk on from that question, a question asked only for a
reason is not asked without one, and after a fix the walk starts over on fresh facts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from wizard.engine.runner import Session
from wizard.flow.loader import FlowLoadError, parse_flow
from wizard.host.facts import Facts
from wizard.outcome import CheckResult, Status

FLOW = """\
flow: t
start: pool
nodes:
  - id: pool
    kind: check
    check: test.pool
    title: Workers
    on:
      ok: {text: "room enough", next: traffic}
      full: {text: "all workers busy", next: traffic}
  - id: traffic
    kind: ask
    title: Traffic
    question: Did traffic rise?
    ask_if: {pool: [full]}
    default_choice: "no"
    choices:
      - {key: "no", label: "No, or I do not know", next: deploy}
      - {key: "yes", label: "Yes", cause: php_fpm_saturated, next: deploy}
  - id: deploy
    kind: ask
    title: Deploy
    question: Did you deploy?
    default_choice: "no"
    choices:
      - {key: "no", label: "No", next: end}
      - {key: "yes", label: "Yes", cause: upstream_crash, next: after_deploy}
  - id: after_deploy
    kind: check
    check: test.pool
    title: Workers after the deploy
    default: {text: "{summary}", next: end}
  - id: end
    kind: end
    text: finished
"""


def session(recorded: Callable[..., Facts], test_checks: Callable[..., None],
            result: str = "ok", flow: str = FLOW) -> Session:
    test_checks("test.pool", lambda facts: CheckResult(result, f"pool {result}"),
                results={"ok": Status.OK, "full": Status.WARNING})
    return Session(parse_flow(flow, "t.yaml"), recorded({}), headless=False)


def walked(s: Session) -> list[tuple[str, Any, bool]]:
    return [(step.node, step.result, step.assumed) for step in s.transcript.steps]


def test_runs_every_step_and_takes_safe_defaults(recorded: Any, test_checks: Any) -> None:
    s = session(recorded, test_checks, "full")
    s.run_ahead(threading.Event())
    assert s.finished
    assert walked(s) == [("pool", "full", False), ("traffic", "no", True),
                         ("deploy", "no", True), ("end", None, False)]
    assert all(not step.causes for step in s.transcript.steps)  # no cause assumed


def test_a_question_without_a_reason_is_not_asked(recorded: Any, test_checks: Any) -> None:
    s = session(recorded, test_checks, "ok")
    s.run_ahead(threading.Event())
    traffic = s.transcript.steps[1]
    assert traffic.status == Status.SKIPPED and traffic.summary.startswith("Not asked")
    assert not traffic.causes
    # headless too: diagnose never adds the cause of a question with no reason to ask
    headless = Session(parse_flow(FLOW, "t.yaml"), recorded({})).run()
    assert headless.steps[1].status == Status.SKIPPED
    s2 = Session(parse_flow(FLOW, "t.yaml"), recorded({}), headless=False)
    s2.facts.options.answers["traffic"] = "yes"  # an answer given ahead still counts
    s2.run_ahead(threading.Event())
    assert s2.transcript.steps[1].causes == ["php_fpm_saturated"]


def test_a_different_answer_runs_on_from_that_question(recorded: Any,
                                                      test_checks: Any) -> None:
    s = session(recorded, test_checks, "full")
    s.run_ahead(threading.Event())
    assert s.answer("deploy", "yes") is True  # cut back to the question
    assert [step.node for step in s.transcript.steps] == ["pool", "traffic"]
    s.run_ahead(threading.Event())
    assert walked(s)[2:] == [("deploy", "yes", False), ("after_deploy", "full", False),
                             ("end", None, False)]
    assert s.transcript.steps[2].causes == ["upstream_crash"]


def test_the_same_answer_only_confirms_it(recorded: Any, test_checks: Any) -> None:
    s = session(recorded, test_checks, "full")
    s.run_ahead(threading.Event())
    assert s.answer("traffic", "no") is False
    assert walked(s)[1] == ("traffic", "no", False)  # the person said it now
    assert s.finished and len(s.transcript.steps) == 4


def test_a_question_without_a_default_stops_the_run(recorded: Any,
                                                    test_checks: Any) -> None:
    s = session(recorded, test_checks, "full", FLOW.replace(
        '    question: Did you deploy?\n    default_choice: "no"\n',
        '    question: Did you deploy?\n'))
    s.run_ahead(threading.Event())
    assert not s.finished and s.current == "deploy"
    assert s.answer("deploy", "no") is True
    s.run_ahead(threading.Event())
    assert s.finished and walked(s)[2] == ("deploy", "no", False)


def test_start_over_keeps_the_earlier_walk_and_the_answers(recorded: Any,
                                                           test_checks: Any) -> None:
    s = session(recorded, test_checks, "full")
    s.run_ahead(threading.Event())
    s.answer("deploy", "yes")
    s.run_ahead(threading.Event())
    first = [step.node for step in s.transcript.steps]
    s.start_over()
    s.run_ahead(threading.Event())
    assert [step.node for step in s.transcript.earlier_walks[0]] == first
    assert walked(s)[2] == ("deploy", "yes", False)  # the person's answer still holds
    saved = s.transcript.to_json()
    assert len(saved["earlier_walks"]) == 1 and saved["steps"][1]["assumed"] is True


def test_stop_ends_the_run_between_steps(recorded: Any, test_checks: Any) -> None:
    stop = threading.Event()
    stop.set()
    s = session(recorded, test_checks)
    s.run_ahead(stop)
    assert s.transcript.steps == [] and s.current == "pool"


def test_ask_if_needs_a_default_and_names_real_checks(recorded: Any) -> None:
    broken = FLOW.replace('    ask_if: {pool: [full]}\n    default_choice: "no"\n',
                          '    ask_if: {pool: [full]}\n')
    try:
        parse_flow(broken, "t.yaml")
    except FlowLoadError as exc:
        assert "has `ask_if` but no `default_choice`" in str(exc)
    else:
        raise AssertionError("a flow with ask_if and no default loaded")
