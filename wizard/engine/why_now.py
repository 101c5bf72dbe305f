"""The report's "What changed before it broke" section: the changes the `changes.recent`
step found, oldest first, each tied to the causes of this report it can bring about (a
change that could explain a cause the diagnosis did not find is listed, tied to nothing).
"""

from __future__ import annotations

from typing import Any

from wizard.causes import cause as cause_info
from wizard.compat import fromisoformat
from wizard.engine.transcript import Step
from wizard.safe_text import md_code, md_text

ENTRIES_VAR = "change_entries"  # the step variable the check puts its changes in
TITLE = "What changed before it broke"


def report_changes(steps: list[Step], causes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{"time", "source", "what", "explains": [cause ids present in the report]}], by time."""
    found: list[dict[str, Any]] = next(
        (s.vars[ENTRIES_VAR] for s in reversed(steps)
         if isinstance(s.vars.get(ENTRIES_VAR), list)), [])
    present = {c["id"] for c in causes}
    changes = [{"time": e["time"], "source": e["source"], "what": e["what"],
                "explains": [c for c in e.get("explains") or [] if c in present]}
               for e in found]
    return sorted(changes, key=lambda e: fromisoformat(e["time"]))


def _shown(iso: str) -> str:
    """'2024-05-01T10:02:00+02:00' -> '2024-05-01 10:02'."""
    return iso[:16].replace("T", " ")


def _from(change: dict[str, Any]) -> str:
    """' (source)', unless the sentence already names it (a config file's own path)."""
    return "" if change["source"] in change["what"] else f" ({change['source']})"


def _why(change: dict[str, Any]) -> list[str]:
    return [f"-> likely why: {cause_info(c).title}" for c in change["explains"]]


def changes_text(report: dict[str, Any]) -> list[str]:
    """Lines for the text report; none when nothing changed."""
    changes = report.get("changes") or []
    if not changes:
        return []
    lines = ["", f"{TITLE}:"]
    for change in changes:
        lines.append(f"  {_shown(change['time'])}  {change['what']}{_from(change)}")
        lines += [f"{'':20}{why}" for why in _why(change)]
    return lines


def changes_markdown(report: dict[str, Any]) -> list[str]:
    """Lines for the Markdown report; none when nothing changed."""
    changes = report.get("changes") or []
    if not changes:
        return []
    lines = ["", f"## {TITLE}", ""]
    for change in changes:
        why = "".join(f" **-> likely why: {md_text(cause_info(c).title)}**"
                      for c in change["explains"])
        source = f" ({md_code(change['source'])})" if _from(change) else ""
        lines.append(f"- {md_text(_shown(change['time']))}: {md_text(change['what'])}"
                     f"{source}{why}")
    return [*lines, ""]
