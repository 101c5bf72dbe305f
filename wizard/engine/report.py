"""The diagnosis report: the contract's JSON shape, and text / Markdown renderings of it.

Ids (cause, fix, node) are for scripts and stay in the JSON; the text and Markdown are
read by people, so they say each thing by its title and never print an id.
"""

from __future__ import annotations

import json
from typing import Any

from wizard import TOOL_NAME, __version__
from wizard.causes import cause as cause_info
from wizard.engine.transcript import Step, Transcript
from wizard.host.facts import Facts
from wizard.outcome import Status

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


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
    """Causes established by the steps, most likely first.

    Every step that supports a cause adds to its score (a step's first cause is its
    finding; later ones are alternatives and count less), so a fresh log line plus a
    failed probe beats either alone. A cause that a passing check rules out (the log
    says PHP-FPM was down, but it answers now) goes below every cause nothing disproves.
    """
    merged: dict[str, dict[str, Any]] = {}
    score: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    best: dict[str, int] = {}
    ruled_out = {cause_id for step in steps for cause_id in step.ruled_out}
    for index, step in enumerate(steps):
        for position, cause_id in enumerate(step.causes):
            strength = max(step.confidence - position, 1)
            entry = merged.get(cause_id)
            if entry is None:
                info = cause_info(cause_id)
                entry = merged[cause_id] = {
                    "id": cause_id, "title": info.title,
                    "explanation": step.text or info.meaning, "evidence": [], "fixes": [],
                }
                score[cause_id], first_seen[cause_id], best[cause_id] = 0, index, strength
            elif strength > best[cause_id]:
                best[cause_id] = strength
                entry["explanation"] = step.text or entry["explanation"]
            score[cause_id] += strength
            _add_evidence_and_fixes(entry, step, primary=position == 0)
    order = sorted(merged, key=lambda cid: (cid in ruled_out, -score[cid], first_seen[cid]))
    for step in steps:
        if step.causes and step.explains and step.causes[0] not in ruled_out:
            _put_before_consequences(order, step.causes[0], step.explains)
    return [merged[cid] for cid in order]


def _put_before_consequences(order: list[str], cause_id: str, consequences: list[str]) -> None:
    """A root cause goes ahead of the causes it brings about, however much evidence they
    gathered: the consequence is how the root cause shows, not what to fix."""
    ahead = [order.index(c) for c in consequences if c in order and c != cause_id]
    if ahead and min(ahead) < order.index(cause_id):
        order.remove(cause_id)
        order.insert(min(ahead), cause_id)


def _add_evidence_and_fixes(entry: dict[str, Any], step: Step, primary: bool) -> None:
    for ev in step.evidence:
        if ev.to_json() not in entry["evidence"]:
            entry["evidence"].append(ev.to_json())
    if not primary:  # a step's fixes answer its own finding, not its alternatives
        return
    for offer in step.fixes:
        if offer.plan and all(f["id"] != offer.plan["id"] for f in entry["fixes"]):
            entry["fixes"].append({k: offer.plan[k] for k in
                                   ("id", "title", "needs_root", "commands")})


def build_report(transcript: Transcript, facts: Facts) -> dict[str, Any]:
    report: dict[str, Any] = {
        "tool": {"name": TOOL_NAME, "version": __version__},
        "flow": transcript.flow,
        "host": host_summary(facts),
        "causes": ranked_causes(transcript.steps),
        "steps": [
            {"node": s.node, "title": s.title, "status": str(s.status), "summary": s.summary}
            for s in transcript.steps
        ],
    }
    if transcript.error:
        report["error"] = transcript.error
    return report


def exit_code(report: dict[str, Any]) -> int:
    if report.get("error"):
        return EXIT_INCOMPLETE
    if report["causes"] or any(s["status"] == Status.PROBLEM for s in report["steps"]):
        return EXIT_PROBLEM
    return EXIT_OK


_MARK = {"ok": "ok", "problem": "PROBLEM", "warning": "warning", "unknown": "unknown",
         "skipped": "skipped"}
_SOURCE_WORDS = {"error_log": "error log"}


def evidence_source(source: str) -> str:
    """An evidence source as words: 'error_log' is 'error log'; the rest are words already."""
    return _SOURCE_WORDS.get(source, source.replace("_", " "))


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
        lines.append("No cause of a 502 was found.")
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
    if report.get("error"):
        lines += ["", f"The diagnosis did not finish: {report['error']}"]
    if report.get("transcript"):
        lines += ["", f"Transcript: {report['transcript']}"]
    return "\n".join(lines) + "\n"


def render_markdown(report: dict[str, Any]) -> str:
    host = report["host"]
    out = [
        f"# 502 diagnosis ({report['flow']})", "",
        f"- Host: {host['distro']} {host['distro_version']} ({host['family']})",
        f"- Service manager: {host['service_manager']}; firewall: {host['firewall']}",
        f"- Tool: {TOOL_NAME} {report['tool']['version']}", "", "## Causes", "",
    ]
    if not report["causes"]:
        out.append("No cause of a 502 was found.")
    for number, item in enumerate(report["causes"], 1):
        out += [f"### {number}. {item['title']}", "", item["explanation"], ""]
        if item["evidence"]:
            out.append("Evidence:")
            out.append("")
            out += [f"- {evidence_source(ev['source'])}: `{ev['detail']}`"
                    for ev in item["evidence"]]
            out.append("")
        for fix in item["fixes"]:
            out.append(f"Fix: {fix['title']}")
            out += ["", "```", *(" ".join(a) for a in fix["commands"]), "```", ""]
    out += ["## Steps", "", "| step | status | finding |", "|---|---|---|"]
    for step in report["steps"]:
        summary = step["summary"].replace("|", "\\|").replace("\n", " ")
        out.append(f"| {step['title']} | {step['status']} | {summary} |")
    if report.get("error"):
        out += ["", f"**The diagnosis did not finish:** {report['error']}"]
    return "\n".join(out) + "\n"


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report)
