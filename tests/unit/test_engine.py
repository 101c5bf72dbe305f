"""The engine walks a flow, survives broken and hanging checks, and records everything."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from wizard.engine.events import StepFinished, StepStarted, WalkFinished
from wizard.engine.report import build_report, exit_code, render_text
from wizard.engine.runner import AnswerRequired, Session
from wizard.flow.loader import parse_flow
from wizard.host.facts import Facts
from wizard.outcome import DIRECT, STRONG, CheckResult, Evidence, Status

FLOW = """\
flow: t
start: first
nodes:
  - id: first
    kind: check
    check: test.first
    title: First
    on:
      ok: {text: "all good with {thing}", next: ask}
      bad:
        text: "{thing} is broken"
        cause: php_fpm_down
        fixes: [{action: service.start, args: {service: "{thing}"}}]
        next: ask
    default: {text: "could not tell: {summary}", next: ask}
  - id: ask
    kind: ask
    title: Deployed?
    question: Did you deploy?
    default_choice: "no"
    choices:
      - {key: "yes", label: "Yes", cause: upstream_crash, next: end}
      - {key: "no", label: "No", next: end}
  - id: end
    kind: end
    text: finished
"""


def make_session(recorded: Callable[..., Facts], facts: dict[str, Any] | None = None,
                 **kw: Any) -> Session:
    return Session(parse_flow(FLOW, "t.yaml"), recorded(facts or {}), **kw)


def test_walks_to_the_end_and_fills_placeholders(recorded, test_checks) -> None:
    test_checks("test.first", lambda f: CheckResult(
        "bad", "php is down", vars={"thing": f.get("svc")},
        evidence=[Evidence("process", "no php-fpm")], confidence=DIRECT))
    events: list[object] = []
    facts = {"svc": "php8.2-fpm", "system": {"service_manager": "sysvinit"}}
    transcript = make_session(recorded, facts, on_event=events.append).run()
    assert [s.node for s in transcript.steps] == ["first", "ask", "end"]
    first = transcript.steps[0]
    assert first.status == Status.PROBLEM
    assert first.text == "php8.2-fpm is broken"
    assert first.fixes[0].plan is not None
    assert first.fixes[0].plan["commands"][0] == ["service", "php8.2-fpm", "start"]
    assert transcript.steps[1].result == "no"  # headless takes the default choice
    assert isinstance(events[0], StepStarted) and isinstance(events[1], StepFinished)
    assert isinstance(events[-1], WalkFinished)
    report = build_report(transcript, recorded({}))
    assert [c["id"] for c in report["causes"]] == ["php_fpm_down"]
    assert report["causes"][0]["evidence"] == [{"source": "process", "detail": "no php-fpm"}]
    assert exit_code(report) == 1


def test_an_exception_in_a_check_becomes_unknown(recorded, test_checks) -> None:
    def broken(facts: Facts) -> CheckResult:
        raise KeyError("servers")

    test_checks("test.first", broken)
    step = make_session(recorded).advance()
    assert step is not None and step.status == Status.UNKNOWN
    assert step.text == ("could not tell: the check could not finish: an internal error "
                         "(KeyError: 'servers')")


def test_a_missing_fact_becomes_unknown_with_its_reason(recorded, test_checks) -> None:
    test_checks("test.first", lambda f: CheckResult("ok", str(f.get("nginx"))))
    step = make_session(recorded).advance()
    assert step is not None and step.status == Status.UNKNOWN
    assert "the snapshot has no 'nginx' facts" in step.summary


def test_a_hanging_check_times_out(recorded, test_checks) -> None:
    release = threading.Event()
    test_checks("test.first", lambda f: (release.wait(30), CheckResult("ok", "late"))[1])
    started = time.monotonic()
    step = make_session(recorded, check_timeout=0.3).advance()
    release.set()
    assert step is not None and step.status == Status.UNKNOWN
    assert step.summary == "the check did not finish within 0.3s"
    assert time.monotonic() - started < 10


def test_a_running_check_can_be_cancelled(recorded, test_checks) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(facts: Facts) -> CheckResult:
        entered.set()
        release.wait(30)
        return CheckResult("ok", "late")

    test_checks("test.first", slow)
    session = make_session(recorded)
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.update(step=session.advance()))
    worker.start()
    assert entered.wait(10)
    session.cancel()
    worker.join(10)
    release.set()
    assert box["step"].summary == "the check was cancelled"


def test_undeclared_result_is_unknown(recorded, test_checks) -> None:
    test_checks("test.first", lambda f: CheckResult("weird", "?"))
    step = make_session(recorded).advance()
    assert step is not None
    assert step.summary == "check test.first returned undeclared result 'weird'"


def test_answers_given_ahead_and_interactive(recorded, test_checks) -> None:
    test_checks("test.first", lambda f: CheckResult("ok", "fine", vars={"thing": "x"}))
    facts = recorded({})
    facts.options.answers = {"ask": "yes"}
    transcript = Session(parse_flow(FLOW, "t.yaml"), facts).run()
    assert transcript.steps[1].causes == ["upstream_crash"]

    interactive = make_session(recorded, headless=False)
    interactive.advance()
    with pytest.raises(AnswerRequired):
        interactive.advance()
    assert interactive.current == "ask"
    step = interactive.advance(answer="yes")
    assert step is not None and step.result == "yes"


def test_unknown_answer_stops_headless_with_a_reason(recorded, test_checks) -> None:
    test_checks("test.first", lambda f: CheckResult("ok", "fine"))
    facts = recorded({})
    facts.options.answers = {"ask": "maybe"}
    transcript = Session(parse_flow(FLOW, "t.yaml"), facts).run()
    assert transcript.error == "'maybe' is not an answer to 'ask' (one of: yes, no)"
    assert exit_code(build_report(transcript, facts)) == 3


def test_rerun_reads_fresh_facts_without_moving(recorded, test_checks) -> None:
    calls: list[int] = []
    test_checks("test.first", lambda f: (calls.append(1), CheckResult("ok", "fine"))[1])
    session = make_session(recorded)
    session.advance()
    assert session.rerun("first").status == Status.OK
    assert session.current == "ask" and len(calls) == 2


def test_causes_rank_direct_evidence_first(recorded, test_checks) -> None:
    test_checks("test.first", lambda f: CheckResult(
        "ok", "fine", vars={"thing": "x"}, causes=["upstream_timeout"], confidence=DIRECT))
    facts = recorded({})
    facts.options.answers = {"ask": "yes"}
    report = build_report(Session(parse_flow(FLOW, "t.yaml"), facts).run(), facts)
    assert [c["id"] for c in report["causes"]] == ["upstream_timeout", "upstream_crash"]


RANKING_FLOW = """\
flow: r
start: log
nodes:
  - id: log
    kind: check
    check: test.log
    default: {next: probe}
  - id: probe
    kind: check
    check: test.probe
    on:
      ok: {rules_out: [php_fpm_down]}
      bad: {cause: upstream_address_mismatch}
    default: {}
"""


@pytest.mark.parametrize("probe_result, expected", [
    # The log suggests PHP-FPM is down (or listens elsewhere); the probe decides.
    ("bad", ["upstream_address_mismatch", "php_fpm_down"]),
    # Ruled out, and the log's other reading is no finding of its own: the direct log
    # line stays (the failure is real) rather than an empty report.
    ("ok", ["php_fpm_down"]),
])
def test_support_adds_up_and_ruled_out_causes_give_way(recorded, test_checks, probe_result,
                                                   expected) -> None:
    test_checks("test.log", lambda f: CheckResult(
        "bad", "socket missing", causes=["php_fpm_down", "upstream_address_mismatch"],
        confidence=DIRECT))
    test_checks("test.probe", lambda f: CheckResult(probe_result, "probe", confidence=DIRECT))
    facts = recorded({})
    report = build_report(Session(parse_flow(RANKING_FLOW, "r.yaml"), facts).run(), facts)
    assert [c["id"] for c in report["causes"]] == expected


def test_without_other_evidence_the_log_order_stands(recorded, test_checks) -> None:
    test_checks("test.log", lambda f: CheckResult(
        "bad", "socket missing", causes=["php_fpm_down", "upstream_address_mismatch"],
        confidence=DIRECT))
    test_checks("test.probe", lambda f: CheckResult("skipped", "n/a"))
    facts = recorded({})
    report = build_report(Session(parse_flow(RANKING_FLOW, "r.yaml"), facts).run(), facts)
    # The line's other reading is not a cause unless a check finds it.
    assert [c["id"] for c in report["causes"]] == ["php_fpm_down"]


EXPLAINS_FLOW = """\
flow: e
start: log
nodes:
  - id: log
    kind: check
    check: test.log
    default: {next: names}
  - id: names
    kind: check
    check: test.names
    on:
      bad: {cause: server_name_mismatch, explains: [upstream_down]}
    default: {}
"""


def test_a_root_cause_folds_in_what_it_explains(recorded, test_checks) -> None:
    test_checks("test.log", lambda f: CheckResult(
        "bad", "refused", causes=["upstream_down"], confidence=DIRECT))
    test_checks("test.names", lambda f: CheckResult("bad", "wrong server", confidence=2))
    facts = recorded({})
    report = build_report(Session(parse_flow(EXPLAINS_FLOW, "e.yaml"), facts).run(), facts)
    assert [c["id"] for c in report["causes"]] == ["server_name_mismatch"]
    assert [c["id"] for c in report["causes"][0]["consequences"]] == ["upstream_down"]
    assert "because of this: " + report["causes"][0]["consequences"][0]["title"] \
        in render_text(report)


LEADS_FLOW = """\
flow: l
start: nginx
nodes:
  - id: nginx
    kind: check
    check: test.nginx
    default: {next: config}
  - id: config
    kind: check
    check: test.config
    on:
      bad: {cause: nginx_config_invalid, explains: [nginx_not_running], next: php}
    default: {next: php}
  - id: php
    kind: check
    check: test.php
    default: {next: probe}
  - id: probe
    kind: check
    check: test.probe
    default: {}
"""


@pytest.mark.parametrize("config, expected", [
    # More steps say PHP-FPM is down, but with nginx stopped no visitor reaches it yet.
    ("ok", ["nginx_not_running", "php_fpm_down"]),
    # nginx cannot start because of its config: that root cause leads, nginx folded in.
    ("bad", ["nginx_config_invalid", "php_fpm_down"]),
])
def test_nginx_not_running_leads_whatever_the_scores(recorded, test_checks, config,
                                                     expected) -> None:
    test_checks("test.nginx", lambda f: CheckResult(
        "bad", "no master", causes=["nginx_not_running"], confidence=STRONG))
    test_checks("test.config", lambda f: CheckResult(config, "nginx -t", confidence=DIRECT))
    for name in ("test.php", "test.probe"):
        test_checks(name, lambda f: CheckResult(
            "bad", "php-fpm stopped", causes=["php_fpm_down"], confidence=DIRECT))
    facts = recorded({})
    report = build_report(Session(parse_flow(LEADS_FLOW, "l.yaml"), facts).run(), facts)
    assert [c["id"] for c in report["causes"]] == expected


RULED_OUT_FLOW = """\
flow: h
start: log
nodes:
  - id: log
    kind: check
    check: test.log
    default: {next: running}
  - id: running
    kind: check
    check: test.running
    title: PHP-FPM running
    on:
      ok: {rules_out: [php_fpm_down]}
    default: {}
"""


def test_a_ruled_out_finding_is_history_with_its_reason(recorded, test_checks) -> None:
    line = "2024/05/01 10:00:00 [crit] 1#1: *1 connect() to unix:/run/php.sock failed"
    test_checks("test.log", lambda f: CheckResult(
        "bad", "socket missing", causes=["php_fpm_down", "upstream_address_mismatch"],
        evidence=[Evidence("error_log", line)], confidence=STRONG))
    test_checks("test.running", lambda f: CheckResult("ok", "PHP-FPM is running (pid 7)"))
    facts = recorded({})
    report = build_report(Session(parse_flow(RULED_OUT_FLOW, "h.yaml"), facts).run(), facts)
    assert report["causes"] == [] and exit_code(report) == 0
    assert report["history"] == [{
        "source": "error_log", "detail": line,
        "why": "not a cause now: PHP-FPM running says PHP-FPM is running (pid 7)"}]
    assert "History (seen in the logs, not a cause now):" in render_text(report)


def test_facts_needed_are_what_the_flows_checks_declare() -> None:
    from wizard.flow.library import find_flow

    session = Session(find_flow("nginx-502"), Facts())
    needed = session.facts_needed()
    assert {"nginx", "phpfpm", "error_log_events", "upstream_probes", "firewall"} <= set(needed)
    assert "system" not in needed  # read by the report, not by a check
