"""The session journal: every step, answer, fix and command is on disk (0600) before the
engine goes on; restarts, answers that cut the walk back and the walks after a fix read
back as the session had them; a journal cut off mid-line still reads; `sessions
list|show|export` render it; and `--resume` finds where the person stopped."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wizard.engine.events import Event, FixRecorded, StepFinished
from wizard.engine.report import build_report
from wizard.engine.runner import Session
from wizard.engine.session_journal import SessionJournal, journal_path
from wizard.engine.session_records import NoSuchSession, find_session, read_session
from wizard.engine.session_resume import resume_point
from wizard.engine.transcript_store import session_path
from wizard.fixes.result import AppliedFix
from wizard.flow.loader import parse_flow
from wizard.host.commands import run
from wizard.host.facts import PROVIDERS, Facts, fact
from wizard.options import Options
from wizard.outcome import CheckResult, Evidence

REPO = Path(__file__).resolve().parents[2]
FLOW = """\
flow: journal-test
title: Journal test
start: first
nodes:
  - id: first
    kind: check
    check: test.first
    title: First check
    on:
      bad: {text: "it is broken", cause: php_fpm_down, next: ask}
      ok: {text: "all good", next: ask}
  - id: ask
    kind: ask
    title: Deployed?
    question: Did you deploy in the last hour?
    default_choice: "no"
    choices:
      - {key: "yes", label: "Yes, a deploy", cause: upstream_crash, next: end}
      - {key: "no", label: "No deploy", next: end}
  - id: end
    kind: end
    text: finished
"""


def _broken(facts: Facts) -> CheckResult:
    return CheckResult("bad", "php is down", confidence=3,
                       evidence=[Evidence("process", "no php-fpm")])


def journaled(test_checks: Callable[..., None],
              on_step: Callable[[Path, Event], None] | None = None,
              facts: Facts | None = None) -> tuple[Session, SessionJournal, Path]:
    """A session on recorded facts whose events go to a journal in the state folder."""
    test_checks("test.first", _broken)
    facts = facts or Facts.from_snapshot({"format": 1, "facts": {}, "errors": {}},
                                         Options(flow="journal-test"))
    session = Session(parse_flow(FLOW, "t.yaml"), facts, headless=False)
    path = journal_path(session_path(session.transcript.started))
    journal = SessionJournal.start(session, path)

    def follow(event: Event) -> None:
        journal.follow(event)
        if on_step is not None:
            on_step(path, event)

    session.on_event = follow
    return session, journal, path


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sessions_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", "sessions", *args],
                          capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
                          env=dict(os.environ))


def test_each_step_is_on_disk_before_the_walk_goes_on_and_private(
        test_checks: Callable[..., None]) -> None:
    seen_on_disk: list[str] = []

    def on_step(path: Path, event: Event) -> None:
        if isinstance(event, StepFinished):  # read through another file, as after a crash
            seen_on_disk.append(records(path)[-1]["step"]["node"])

    session, journal, path = journaled(test_checks, on_step)
    session.run_ahead(threading.Event())
    assert seen_on_disk == ["first", "ask", "end"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    kinds = [r["type"] for r in records(path)]
    assert kinds == ["session", "step", "step", "step", "walk_end"]
    journal.close({"causes": []})
    assert records(path)[-1]["type"] == "close"


def test_restarts_answers_and_fixes_read_back_as_the_session_had_them(
        test_checks: Callable[..., None]) -> None:
    session, journal, path = journaled(test_checks)
    session.run_ahead(threading.Event())  # the question takes its default, assumed
    assert session.answer("ask", "yes")  # the person's answer cuts the walk back...
    session.run()  # ...and it runs on from there
    session.restart()  # an address became known: from the start
    session.run()
    fix = AppliedFix("service.start:php8.2-fpm", time.time(), [
        {"argv": ["service", "php8.2-fpm", "start"], "returncode": 0, "stdout": "ok\n",
         "stderr": "", "error": None, "duration": 0.1, "role": "command",
         "started": time.time()}], succeeded=True, after="fixed")
    session.transcript.fixes.append(fix)
    session.on_event(FixRecorded(fix))
    session.start_over()  # after the fix: a fresh walk, the old one kept
    session.run()
    journal.close(None)
    record = read_session(path)
    assert record.answers == {"ask": "yes"}
    assert [s["node"] for s in record.steps] == [s.node for s in session.transcript.steps]
    assert [s["result"] for s in record.steps] == [s.result for s in session.transcript.steps]
    assert len(record.walks) == len(session.transcript.earlier_walks) + 1 == 2
    assert [s["result"] for s in record.walks[0]] == ["bad", "yes", None]
    assert record.fixes[0]["id"] == "service.start:php8.2-fpm"
    assert record.finished and record.state == "finished"
    live = build_report(session.transcript, session.facts)
    assert record.report()["causes"] == live["causes"]
    assert record.lead_cause() == live["causes"][0]["title"]


def test_a_journal_cut_off_mid_line_still_reads_and_resumes_on_a_whole_line(
        test_checks: Callable[..., None]) -> None:
    session, journal, path = journaled(test_checks)
    session.advance()
    journal.position(1)
    with path.open("a", encoding="utf-8") as stream:  # killed while writing a record
        stream.write('{"type": "step", "at": 1, "step": {"node": "ask", "ti')
    record = read_session(path)
    assert record.unreadable == 1 and not record.closed and not record.finished
    assert [s["node"] for s in record.steps] == ["first"]
    assert record.revealed == 1
    assert "killed, crashed, or its terminal went away" in record.why_unfinished()
    again = Session(session.flow, session.facts, headless=False)
    SessionJournal.resume(again, path).close(None)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-2]) == {**json.loads(lines[-2]), "type": "walk", "why": "resume"}
    assert read_session(path).resumed == 1


def test_sessions_list_show_and_export(test_checks: Callable[..., None]) -> None:
    session, _journal, path = journaled(test_checks)
    session.advance()  # killed after its first step: never closed
    listed = sessions_cli("list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "STARTED", "FLOW", "STATE", "ADDRESS", "LEAD", "CAUSE"]
    session_id = read_session(path).id
    assert row.split()[0] == session_id and "journal-test" in row
    assert "unfinished" in row and row.endswith("PHP-FPM is not running")
    shown = sessions_cli("show", session_id[:15])
    assert shown.returncode == 0, shown.stderr
    assert "State: unfinished: the wizard ended without closing its record" in shown.stdout
    assert "[PROBLEM] First check: php is down" in shown.stdout
    assert "1. PHP-FPM is not running" in shown.stdout
    exported = sessions_cli("export", session_id, "--output", str(path.with_suffix(".md")))
    assert exported.returncode == 0, exported.stderr
    markdown = path.with_suffix(".md").read_text(encoding="utf-8")
    assert markdown.startswith("# 502 diagnosis (journal-test)")
    assert "## Session" in markdown and "## Commands run" in markdown
    assert stat.S_IMODE(path.with_suffix(".md").stat().st_mode) == 0o600
    missing = sessions_cli("show", "19990101")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "nginx-502-wizard: no session '19990101' (`sessions list` shows them)"]


def test_a_session_ended_by_a_signal_says_so_when_shown(
        test_checks: Callable[..., None]) -> None:
    session, journal, path = journaled(test_checks)
    session.advance()
    journal.close(None, ended_by="SIGHUP")  # the SSH session dropped mid-walk
    record = read_session(path)
    assert record.ended_by == "SIGHUP" and not record.finished
    shown = sessions_cli("show", record.id)
    assert shown.returncode == 0, shown.stderr
    assert "State: unfinished: the wizard was stopped by SIGHUP before" in shown.stdout
    assert "Ended by: SIGHUP" in shown.stdout


def test_a_check_run_again_by_hand_is_recorded_with_what_it_found(
        test_checks: Callable[..., None]) -> None:
    session, journal, path = journaled(test_checks)
    session.run_ahead(threading.Event())
    # the admin started PHP-FPM by hand, then pressed r on the step (what the TUI calls)
    session.flow.by_id["first"].check = "test.again"
    test_checks("test.again", lambda facts: CheckResult("ok", "php answers again"))
    again = session.rerun("first")
    journal.close(None)
    assert records(path)[-2]["type"] == "rerun"
    record = read_session(path)
    assert [s["summary"] for s in record.reruns] == [again.summary] == ["php answers again"]
    assert record.steps[0]["result"] == "bad"  # the walk itself did not move
    shown = sessions_cli("show", record.id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    ran = lines.index("Checks run again:")
    assert lines[ran + 1].startswith("  - First check (")
    assert lines[ran + 1].endswith("): php answers again")


def test_resume_finds_the_newest_unfinished_session_and_where_it_stopped(
        test_checks: Callable[..., None], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the flow is given by a path relative to here
    (tmp_path / "flow.yaml").write_text(FLOW, encoding="utf-8")
    url = "http://shop.example/?token=T0k3nValue"
    facts = Facts.from_snapshot({"format": 1, "facts": {}, "errors": {}},
                                Options(flow="flow.yaml", url=url))
    session, journal, path = journaled(test_checks, facts=facts)
    session.advance()
    session.answer("ask", "yes")
    session.advance()
    journal.position(2)
    monkeypatch.chdir(REPO)  # resumed from elsewhere
    point = resume_point(Options())
    assert point.record.path == path
    assert point.answers == {"ask": "yes"} and point.revealed == 2
    assert point.options.flow == str(tmp_path / "flow.yaml")
    assert point.options.url is None  # the token was never saved: asked again
    assert "give it again" in " ".join(point.notes)
    given = resume_point(Options(url="http://shop.example/"))
    assert given.options.url == "http://shop.example/"
    journal.close(None)  # the walk had not reached its end: still unfinished
    assert resume_point(Options()).record.path == path
    session.advance()  # the resumed walk reaches its end, and the wizard closes
    SessionJournal.resume(session, path).close(None)
    assert find_session("last").state == "finished"
    with pytest.raises(NoSuchSession):
        resume_point(Options())


def test_no_session_to_resume_is_one_plain_line() -> None:
    with pytest.raises(NoSuchSession, match="no unfinished session to resume"):
        resume_point(Options())


def _reads_host(facts: Facts) -> dict[str, Any]:
    done = run(["printf", "%s\\n", "listening on 127.0.0.1:9000"])
    failed = run(["false"])
    return {"output": done.stdout, "failed": failed.returncode}


if "test_reads_host" not in PROVIDERS:
    fact("test_reads_host")(_reads_host)


def test_the_commands_that_read_the_host_are_logged_journaled_and_snapshotted(
        test_checks: Callable[..., None]) -> None:
    facts = Facts(Options())
    _session, journal, path = journaled(test_checks, facts=facts)
    facts.get("test_reads_host")
    journal.close(None)
    commands = [r["command"] for r in records(path) if r["type"] == "command"]
    assert [(c["argv"], c["returncode"], c["purpose"]) for c in commands] == [
        (["printf", "%s\\n", "listening on 127.0.0.1:9000"], 0, "test_reads_host"),
        (["false"], 1, "test_reads_host")]
    assert commands[0]["stdout"] == "listening on 127.0.0.1:9000\n"
    assert commands[0]["duration"] >= 0 and commands[0]["started"] <= time.time()
    replay = Facts.from_snapshot(json.loads(json.dumps(facts.to_snapshot())))
    assert replay.commands.replayed and replay.commands.entries() == facts.commands.entries()
    assert run(["true"]).ok  # outside a fact: not this session's reading of the host
    assert len(facts.commands.entries()) == 2
