"""The diagnosis report: the contract's JSON shape, and text / Markdown renderings of it.

Ids (cause, fix, node) are for scripts and stay in the JSON; the text and Markdown are
read by people, so they say each thing by its title and never print an id.
"""

from __future__ import annotations

import json
from typing import Any

from wizard import TOOL_NAME, __version__
from wizard.engine.cause_ranking import rank
from wizard.engine.exit_codes import EXIT_INCOMPLETE, EXIT_OK, EXIT_PROBLEM
from wizard.engine.exit_codes import EXIT_USAGE as EXIT_USAGE  # still named here
from wizard.engine.root_note import sudo_note
from wizard.engine.transcript import Step, Transcript
from wizard.engine.why_now import changes_markdown, changes_text, report_changes
from wizard.host.facts import Facts
from wizard.outcome import Status
from wizard.safe_text import md_code, md_fence, md_text, printable


def host_summary(facts: Facts) -> dict[str, str]:
    system = facts.try_get("system") or {}
    firewall = facts.try_get("firewall") or {}
    return {
        "distro": str(system.get("distro", "unknown")),
        "distro_version": str(system.get("distro_version", "")),
        "family": str(system.get("family", "unknown")),
        "service_manager": str(system.get("service_manager", "none")),
        "firewall": str(firewall.get("backend", "none")),
    }


def ranked_causes(steps: list[Step]) -> list[dict[str, Any]]:
    """Causes established by the steps, most likely first (see cause_ranking)."""
    return rank(steps).causes


def build_report(transcript: Transcript, facts: Facts) -> dict[str, Any]:
    ranking = rank(transcript.steps)
    report: dict[str, Any] = {
        "tool": {"name": TOOL_NAME, "version": __version__},
        "flow": transcript.flow,
        "symptom": transcript.symptom,
        "host": host_summary(facts),
        "causes": ranking.causes,
        "steps": [
            {"node": s.node, "title": s.title, "status": str(s.status), "summary": s.summary,
             "causes": list(s.causes)}
            for s in transcript.steps
        ],
    }
    report["history"] = ranking.history
    report["changes"] = report_changes(transcript.steps, report["causes"])
    if (note := sudo_note(facts)) is not None:
        report["sudo_note"] = note
    if transcript.error:
        report["error"] = transcript.error
    return report


def exit_code(report: dict[str, Any]) -> int:
    if report.get("error"):
        return EXIT_INCOMPLETE
    if report["causes"] or any(_still_a_problem(s) for s in report["steps"]):
        return EXIT_PROBLEM
    return EXIT_OK


def _still_a_problem(step: dict[str, Any]) -> bool:
    """A step that found a problem, unless what it found was a cause that later evidence
    made history (the log said PHP-FPM was down; it runs now)."""
    return step["status"] == Status.PROBLEM and not step.get("causes")


_MARK = {"ok": "ok", "problem": "PROBLEM", "warning": "warning", "unknown": "unknown",
         "skipped": "skipped"}
_SOURCE_WORDS = {"error_log": "error log"}


def evidence_source(source: str) -> str:
    """An evidence source as words: 'error_log' is 'error log'; the rest are words already."""
    return _SOURCE_WORDS.get(source, source.replace("_", " "))


MAX_HISTORY_SHOWN = 8


def _history_text(history: list[dict[str, str]]) -> list[str]:
    """Lines that are not causes now, each with why, so nobody mistakes them for one."""
    if not history:
        return []
    lines = ["", "History (seen in the logs, not a cause now):"]
    for item in history[:MAX_HISTORY_SHOWN]:
        lines += [f"  - {item['why']}", f"    {evidence_source(item['source'])}: {item['detail']}"]
    if len(history) > MAX_HISTORY_SHOWN:
        lines.append(f"  ... and {len(history) - MAX_HISTORY_SHOWN} more (see --format json)")
    return lines


def _history_markdown(history: list[dict[str, str]]) -> list[str]:
    if not history:
        return []
    out = ["## History (not a cause now)", ""]
    out += [f"- {md_text(item['why'])}: {md_code(item['detail'])}"
            for item in history[:MAX_HISTORY_SHOWN]]
    return [*out, ""]


def render_text(report: dict[str, Any]) -> str:
    host = report["host"]
    lines = [
        f"{TOOL_NAME} {report['tool']['version']} - flow {report['flow']}",
        f"host: {host['distro']} {host['distro_version']}, services: {host['service_manager']}, "
        f"firewall: {host['firewall']}",
        "",
        "Steps:",
    ]
    for step in report["steps"]:
        title = f"{step['title']}: " if step["title"] else ""  # untitled: never its node id
        lines.append(f"  [{_MARK.get(step['status'], step['status']):>7}] {title}"
                     f"{step['summary']}")
    lines.append("")
    if not report["causes"]:
        lines.append(f"No cause of a {report.get('symptom', '502')} was found.")
    for number, item in enumerate(report["causes"], 1):
        lines.append(f"{number}. {item['title']}")
        lines.append(f"   {item['explanation']}")
        for ev in item["evidence"]:
            lines.append(f"   - {evidence_source(ev['source'])}: {ev['detail']}")
        for fix in item["fixes"]:
            root = " (needs root)" if fix["needs_root"] else ""
            lines.append(f"   fix: {fix['title']}{root}")
            for argv in fix["commands"]:
                lines.append(f"     $ {' '.join(argv)}")
        for folded in item.get("consequences", []):
            lines.append(f"   because of this: {folded['title']}")
    lines += _history_text(report.get("history") or [])
    lines += changes_text(report)
    if report.get("sudo_note"):
        lines += ["", report["sudo_note"]["text"]]
    if report.get("error"):
        lines += ["", f"The diagnosis did not finish: {report['error']}"]
    if report.get("transcript"):
        lines += ["", f"Transcript: {report['transcript']}"]
    return printable("\n".join(lines) + "\n")  # host text inside: shown, never acted on


def render_markdown(report: dict[str, Any]) -> str:
    """Every value from the host goes through md_text / md_code / md_fence: it shows as
    written and cannot open a link, a tag or a heading, nor close its code span."""
    host = {k: md_text(v) for k, v in report["host"].items()}
    symptom = md_text(report.get("symptom", "502"))
    out = [
        f"# {symptom} diagnosis ({md_text(report['flow'])})", "",
        f"- Host: {host['distro']} {host['distro_version']} ({host['family']})",
        f"- Service manager: {host['service_manager']}; firewall: {host['firewall']}",
        f"- Tool: {TOOL_NAME} {md_text(report['tool']['version'])}", "", "## Causes", "",
    ]
    if not report["causes"]:
        out.append(f"No cause of a {symptom} was found.")
    for number, item in enumerate(report["causes"], 1):
        out += _cause_markdown(number, item)
    out += _history_markdown(report.get("history") or [])
    out += changes_markdown(report)
    if report.get("sudo_note"):
        out += [md_text(report["sudo_note"]["text"]), ""]
    out += ["## Steps", "", "| step | status | finding |", "|---|---|---|"]
    for step in report["steps"]:
        out.append(f"| {md_text(step['title'])} | {md_text(step['status'])} | "
                   f"{md_text(step['summary'])} |")
    if report.get("error"):
        out += ["", f"**The diagnosis did not finish:** {md_text(report['error'])}"]
    return "\n".join(out) + "\n"


def _cause_markdown(number: int, item: dict[str, Any]) -> list[str]:
    out = [f"### {number}. {md_text(item['title'])}", "", md_text(item["explanation"]), ""]
    if item["evidence"]:
        out += ["Evidence:", ""]
        out += [f"- {md_text(evidence_source(ev['source']))}: {md_code(ev['detail'])}"
                for ev in item["evidence"]]
        out.append("")
    for fix in item["fixes"]:
        out.append(f"Fix: {md_text(fix['title'])}")
        out += ["", *md_fence([" ".join(a) for a in fix["commands"]]), ""]
    out += [f"Because of this: {md_text(folded['title'])}"
            for folded in item.get("consequences", [])]
    return out


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report)
