"""Every command the wizard ran for a session, in the order they ran: the ones that read
the host (the facts' command log) and the ones a fix ran (AppliedFix.commands).

A junior admin learns the manual steps from it, a senior checks them. The TUI's
"Commands run" screen and the Markdown export both list it from here; the TUI itself
never runs a command.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wizard.engine.runner import Session
from wizard.safe_text import md_fence

# What each command of a fix was for (fixes/recorder.py roles), said in words.
_ROLE_WORDS = {
    "command": "", "guard": "asked first", "precondition": "checked first",
    "check": "checked first", "backup": "backup", "edit": "the change",
    "validate": "configuration test", "rollback": "undo",
}
READ_WORDS = "read the host"


@dataclass(frozen=True)
class CommandRun:
    argv: list[str]
    returncode: int | None
    output: str
    error: str | None
    duration: float
    started: float
    part: str  # what it was for, in words: "read the host", "fix: Start nginx (undo)"
    changes_host: bool  # a fix's command: it may have changed the host

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)

    @property
    def outcome(self) -> str:
        """'exit 0', 'exit 1', or why it did not run to its end."""
        if self.returncode is None:
            return self.error or "did not finish"
        return f"exit {self.returncode}"

    @property
    def took(self) -> str:
        return f"{self.duration * 1000:.0f} ms" if self.duration < 1 else \
            f"{self.duration:.1f} s"


def _output(entry: dict[str, Any]) -> str:
    return (str(entry.get("stdout") or "") + str(entry.get("stderr") or "")).rstrip("\n")


def _run(entry: dict[str, Any], part: str, changes: bool) -> CommandRun:
    return CommandRun(
        argv=[str(a) for a in entry.get("argv") or []], returncode=entry.get("returncode"),
        output=_output(entry), error=entry.get("error"),
        duration=float(entry.get("duration") or 0.0), started=float(entry.get("started") or 0),
        part=part, changes_host=changes)


def fix_titles(steps: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Plan id -> its title, from the fixes offered in these steps (Step.to_json())."""
    titles: dict[str, str] = {}
    for step in steps:
        for offer in step.get("fixes") or []:
            plan = offer.get("plan") or {}
            if plan.get("id"):
                titles[str(plan["id"])] = str(plan.get("title") or "")
    return titles


def commands_run(read: list[dict[str, Any]], fixes: list[dict[str, Any]],
                 titles: dict[str, str]) -> list[CommandRun]:
    """`read`: the command log's entries; `fixes`: AppliedFix records as dicts."""
    runs = [_run(entry, READ_WORDS, False) for entry in read]
    for fix in fixes:
        title = titles.get(str(fix.get("id")), "") or "a fix"
        for entry in fix.get("commands") or []:
            role = _ROLE_WORDS.get(str(entry.get("role")), str(entry.get("role") or ""))
            part = f"fix: {title}" + (f" ({role})" if role else "")
            runs.append(_run(entry, part, entry.get("role") not in ("guard", "precondition",
                                                                    "check")))
    return sorted(runs, key=lambda run: run.started)


def session_commands(session: Session) -> list[CommandRun]:
    """The commands of a live (or replayed) session so far."""
    transcript = session.transcript
    steps = [s.to_json() for walk in [*transcript.earlier_walks, transcript.steps]
             for s in walk]
    fixes = [{"id": f.id, "commands": f.commands} for f in transcript.fixes]
    return commands_run(session.facts.commands.entries(), fixes, fix_titles(steps))


def replayed(session: Session) -> bool:
    """The commands reading the host ran when the snapshot was recorded, not now."""
    return session.facts.commands.replayed


def commands_markdown(runs: list[CommandRun], output_lines: int = 200) -> list[str]:
    """The Markdown section: each command, what it was for, how it ended, its output."""
    out = ["## Commands run", ""]
    if not runs:
        return [*out, "No command was run.", ""]
    out += ["Reading the host changes nothing; a fix's commands may have changed it.", ""]
    for number, run in enumerate(runs, 1):
        out += [f"{number}. `{run.command_line}` ({run.part}; {run.outcome}; {run.took})", ""]
        lines = run.output.splitlines()
        if lines:
            shown = lines[:output_lines]
            if len(lines) > output_lines:
                shown.append(f"... ({len(lines) - output_lines} more lines)")
            out += [*md_fence(shown, indent="   "), ""]  # no output line can close it
    return out
