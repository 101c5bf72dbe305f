"""A recorded session as text (`sessions show`) or Markdown for a ticket or post-mortem
(`sessions export`): when and how it ran, the report of where it got to, the person's
answers, the fixes and every command with its output. Redacted again on the way out, so
even a record written before a redaction rule existed leaves without the secret."""

from __future__ import annotations

import time
from typing import Any

from wizard.engine import commands_run as live
from wizard.engine.commands_run import CommandRun, commands_markdown, commands_run, fix_titles
from wizard.engine.report import render_markdown, render_text
from wizard.engine.runner import Session
from wizard.engine.session_records import SessionRecord
from wizard.redact import redact_text
from wizard.safe_text import md_text, printable


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def session_commands(record: SessionRecord) -> list[CommandRun]:
    return commands_run(record.commands, record.fixes, fix_titles(record.all_steps()))


def _facts_lines(record: SessionRecord) -> list[str]:
    """(label: value) lines about the session itself."""
    options = record.options
    state = "finished" if record.finished else f"unfinished: {record.why_unfinished()}"
    lines = [f"Started: {_when(record.started)}", f"Flow: {record.flow}", f"State: {state}"]
    if record.ended_by:
        lines.append(f"Ended by: {record.ended_by} (the wizard stopped in order: a fix under "
                     "way was let finish)")
    if record.waiting and not record.finished:
        lines.append(f"Stopped at the question: {record.waiting}")
    if options.get("url"):
        lines.append(f"Address: {options['url']}")
    if options.get("nginx_conf"):
        lines.append(f"nginx.conf: {options['nginx_conf']}")
    if record.snapshot:
        lines.append(f"Facts: replayed from the snapshot {record.snapshot}")
    if record.resumed:
        lines.append(f"Resumed: {record.resumed} time(s)")
    if len(record.walks) > 1:
        lines.append(f"Walks: {len(record.walks)} (the checks ran again after a fix or a "
                     "resume; the report is of the newest)")
    if record.unreadable:
        lines.append(f"Unreadable lines: {record.unreadable} (a write was cut off)")
    return lines


def _answers(record: SessionRecord) -> list[str]:
    """Each question the person answered, with the answer's words (never the ids)."""
    steps = record.all_steps()
    lines = []
    for node, key in record.answers.items():
        step = next((s for s in reversed(steps)
                     if s.get("node") == node and s.get("result") == key), None)
        if step is not None:
            lines.append(f"{step.get('question') or step.get('title')}: {step.get('summary')}")
    return lines


def _fixes(record: SessionRecord) -> list[str]:
    titles = fix_titles(record.all_steps())
    lines = []
    for fix in record.fixes:
        title = titles.get(str(fix.get("id")), "") or "a fix"
        result = "worked" if fix.get("succeeded") else "did not work"
        after = f": {fix['after']}" if fix.get("after") else ""
        lines.append(f"{title} ({_when(float(fix.get('confirmed_at') or 0))}): {result}{after}")
    return lines


def _reruns(record: SessionRecord) -> list[str]:
    """Each check the person ran again by hand, and what it found that time."""
    return [f"{step.get('title')} ({_when(float(step.get('started') or 0))}): "
            f"{step.get('summary') or step.get('status')}" for step in record.reruns]


def _sections(record: SessionRecord, answers: str) -> list[tuple[str, list[str]]]:
    return [(answers, _answers(record)), ("Checks run again", _reruns(record)),
            ("Fixes run", _fixes(record))]


def render_session_text(record: SessionRecord) -> str:
    out = [f"Session {record.id}", *(f"  {line}" for line in _facts_lines(record)), ""]
    out.append(render_text(record.report()).rstrip("\n"))
    for heading, lines in _sections(record, "Your answers"):
        if lines:
            out += ["", f"{heading}:", *(f"  - {line}" for line in lines)]
    runs = session_commands(record)
    out += ["", f"Commands run: {len(runs)}"]
    out += [f"  $ {run.command_line}   ({run.part}; {run.outcome}; {run.took})" for run in runs]
    if runs:
        out += ["", f"Their output: sessions export {record.id}"]
    return printable(redact_text("\n".join(out) + "\n"))


def render_session_markdown(record: SessionRecord) -> str:
    report: dict[str, Any] = record.report()
    out = [render_markdown(report).rstrip("\n"), "", "## Session", ""]
    out += [f"- {md_text(line)}" for line in [f"Id: {record.id}", *_facts_lines(record)]]
    out.append("")
    for heading, lines in _sections(record, "Answers given"):
        if lines:
            out += [f"## {heading}", "", *(f"- {md_text(line)}" for line in lines), ""]
    out += commands_markdown(session_commands(record))
    # printable again over the whole: command output is host text too
    return printable(redact_text("\n".join(out).rstrip("\n") + "\n"))


def live_markdown(report: dict[str, Any], session: Session) -> str:
    """The TUI's Markdown export (key e): the report, then every command run so far."""
    out = [render_markdown(report).rstrip("\n"), "",
           *commands_markdown(live.session_commands(session))]
    return printable(redact_text("\n".join(out).rstrip("\n") + "\n"))


def clipboard_text(report: dict[str, Any]) -> str:
    """The summary the TUI copies (key x): the plain-text report, secrets redacted."""
    return printable(redact_text(render_text(report)))
