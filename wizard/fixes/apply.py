"""Running a confirmed fix plan, in this order:

0. preconditions (`plan.preconditions`): a listing the plan was made from (a firewall's
   rules) must read as it did then, else nothing runs;
1. config edits (`plan.edits`, see file_edits.py): refuse when a file's sha256 is not the
   one the plan was made from; save each original outside every config folder; write the
   new text atomically through any symlink;
2. validation (`plan.validate`, e.g. nginx -t): any failure restores the backups at once
   and reports the validator's own message;
3. the commands (e.g. a reload), each skipped when its guard says it is already in place.
   A failed command after edits restores the backups and runs the commands again, so the
   service is back on its old config.

Every file operation is itself a command (sha256sum, cp, mv) run with the same privilege
as the rest, so it lands in the transcript with its output and exit code, and the same
code works as root and through sudo. The caller (Session.apply_fix) proves the fix on
fresh evidence afterwards and calls `rollback` only when that proof says it failed.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import time
from collections.abc import Callable
from typing import Any

from wizard.fixes.backups import SYSTEM_BACKUP_DIR, encoded, is_backup_copy
from wizard.fixes.file_edits import restore, write_edits
from wizard.fixes.privilege import RootAccess, ask_on_tty, obtain, probe_of
from wizard.fixes.recorder import CommandRecorder, run_commands, unchanged_since_plan
from wizard.fixes.result import AppliedFix
from wizard.fixes.ssh_guard import cuts, protected_ports
from wizard.host.commands import CommandResult, Output
from wizard.host.facts import Facts


def _quiet(line: str) -> None:
    """The default output sink: drop lines (the transcript still keeps them)."""


_LOG_PREFIX = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: ")


def validator_message(result: CommandResult) -> str:
    """The line of a validator's output that says what is wrong."""
    lines = [line.strip() for line in (result.output or "").splitlines() if line.strip()]
    for marker in ("[emerg]", "ERROR:", "[alert]", "[crit]", "error"):
        found = next((line for line in lines if marker in line), None)
        if found:  # nginx's "2024/01/02 03:04:05 [emerg] 12#12: " prefix says nothing
            return _LOG_PREFIX.sub(r"[\1] ", found)
    return lines[-1] if lines else (result.error or f"exit code {result.returncode}")


def copy_text(plan: dict[str, Any], with_sudo: bool) -> list[str]:
    """The plan as commands a person with root can paste; edits become a backup and a copy
    of the new text, which is saved in a temp file for them."""
    lines: list[str] = []
    sudo = "sudo " if with_sudo else ""
    edits = plan.get("edits") or []
    if edits:
        keep = tempfile.mkdtemp(prefix="n502-fix-")
        os.chmod(keep, 0o755)  # the person copying may use another account
        for index, edit in enumerate(edits):
            new = os.path.join(keep, f"{index}-{os.path.basename(edit['path'])}")
            with open(new, "w", encoding="utf-8", newline="") as fh:
                fh.write(edit["new_text"])
            os.chmod(new, 0o644)
            backup = f"{SYSTEM_BACKUP_DIR}/{encoded(edit['path'])}.$(date +%Y%m%d-%H%M%S)"
            lines.append(f"{sudo}install -d -m 0700 {SYSTEM_BACKUP_DIR}")
            lines.append(f"{sudo}cp {shlex.quote(edit['path'])} {backup}")
            # cp onto an existing file keeps its owner and mode and writes through a link
            lines.append(f"{sudo}cp {shlex.quote(new)} {shlex.quote(edit['path'])}")
    for argv in [*(plan.get("validate") or []), *(plan.get("commands") or [])]:
        lines.append(sudo + shlex.join(argv))
    return lines


def restore_commands(plan: dict[str, Any]) -> list[list[str]]:
    """What to run after the backups are back: the plan's undo without its `cp` of a
    backup (apply restores those itself, atomically), else the plan's own commands."""
    rest = [list(argv) for argv in plan.get("undo") or [] if not is_backup_copy(argv)]
    return rest or [list(argv) for argv in plan.get("commands") or []]


def _not_run(plan: dict[str, Any], reason: str, root: RootAccess, on_output: Output,
             confirmed: float) -> AppliedFix:
    with_sudo = root.access.mode == "password"
    lines = copy_text(plan, with_sudo)
    on_output(f"Nothing was run: {reason}.")
    on_output("Run these yourself" + ("" if with_sudo else " as root") + ":")
    for line in lines:
        on_output("  " + line)
    text = f"not run: {reason}. Commands to run yourself:\n" + "\n".join(lines)
    return AppliedFix(plan["id"], confirmed, [], succeeded=False, after=text)


def apply_fix(plan: dict[str, Any], facts: Facts, on_output: Output = _quiet, *,
              password: str | None = None, root: RootAccess | None = None,
              ask: Callable[[], str | None] | None = ask_on_tty) -> AppliedFix:
    """Apply a confirmed plan (FixPlan.to_json()). `root` lets the caller share one root
    access between apply and rollback; else it is obtained here (`password` for sudo, or
    `ask` for one). Facts are invalidated afterwards."""
    confirmed = time.time()
    own = root is None
    root = root or obtain(bool(plan.get("needs_root")), password, ask, probe_of(plan))
    try:
        if not root.usable:
            return _not_run(plan, root.access.reason, root, on_output, confirmed)
        verified, why = root.verify()
        if not verified:
            return _not_run(plan, why, root, on_output, confirmed)
        return _apply(plan, CommandRecorder(root, on_output), confirmed)
    finally:
        if own:
            root.close()
        facts.invalidate()


def _apply(plan: dict[str, Any], rec: CommandRecorder, confirmed: float) -> AppliedFix:
    backups: list[dict[str, Any]] = []
    applied = AppliedFix(plan["id"], confirmed, rec.records, succeeded=False, backups=backups,
                         restore_commands=restore_commands(plan))
    changed = unchanged_since_plan(rec, plan)
    if changed:
        applied.after = f"not applied: {changed}"
        rec.on_output(f"Not applied: {changed}")
        return applied
    edits = plan.get("edits") or []
    if edits:
        refused = write_edits(rec, edits, confirmed, backups, as_root(rec.root))
        if refused:
            applied.after = f"not applied: {refused}"
            rec.on_output(f"Not applied: {refused}")
            return applied
        for argv in plan.get("validate") or []:
            result = rec.run(argv, "validate")
            if not result.ok:
                message = validator_message(result)
                rec.on_output(f"Validation failed: {message}. Restoring the backup.")
                restored = restore(rec, backups)
                applied.after = (f"rolled back: {shlex.join(argv)} rejected the change: "
                                 f"{message}" + ("" if restored else " (restore FAILED)"))
                return applied
    if run_commands(rec, plan):
        applied.succeeded = True
        return applied
    if backups:
        rec.on_output("A command failed; restoring the backup and running it again.")
        restored = restore(rec, backups)
        for argv in applied.restore_commands:
            rec.run(argv, "rollback")
        applied.after = "rolled back: a command failed" + ("" if restored else
                                                           " (restore FAILED)")
    elif _changed_something(rec.records) and plan.get("undo"):
        # e.g. the runtime rule went in but the permanent one failed: take it back out,
        # so a failed fix leaves the host as it was.
        rec.on_output("A command failed after others had run; running the undo commands.")
        ports = protected_ports()  # read once: it may ask sshd for its ports
        undone = all([_undo_unless_it_cuts_ssh(rec, argv, ports) for argv in plan["undo"]])
        applied.after = "rolled back: a command failed; the undo commands ran" + (
            "" if undone else " (some undo commands failed: see the output)")
    return applied


def _writable(path: str) -> bool:
    return os.access(path, os.W_OK) and os.access(os.path.dirname(path) or ".", os.W_OK)


def as_root(root: RootAccess) -> bool:
    """Do this fix's commands run as root (directly or through sudo)?"""
    return root.access.mode in ("sudo", "password") or os.geteuid() == 0


def rollback_summary(applied: AppliedFix, restored: bool) -> str:
    """What is on disk and what runs after a rollback, in words, so they can agree."""
    files = ", ".join(b["path"] for b in applied.backups)
    reloads = [r for r in applied.commands if r.get("role") == "rollback"]
    failed = [r for r in reloads if r.get("returncode") != 0]
    if not restored:
        return (f"the rollback FAILED: {files} may still hold the change; the originals "
                "are " + ", ".join(b["backup"] for b in applied.backups))
    disk = f"rolled back: {files} is as before (checked by sha256)"
    if not reloads:
        return disk + "; nothing was running it, so nothing was reloaded"
    if failed:
        again = "; ".join(shlex.join(r["argv"]) for r in failed)
        return (disk + f", but `{again}` failed, so the running server may still use the "
                "change: run it again by hand")
    return disk + ", and the running server was reloaded with it"


def _undo_unless_it_cuts_ssh(rec: CommandRecorder, argv: list[str], ports: list[int]) -> bool:
    """Run one undo command, unless it would close one of `ports` (the SSH session's) by
    removing the accept that lets it in: then say so, and leave it to the person."""
    for port in ports:
        why = cuts(argv, port)
        if why:
            rec.on_output(f"Not run by itself: `{shlex.join(argv)}` {why} on port {port}, "
                          "which your SSH connection uses. Run it yourself only if you "
                          "are sure.")
            return False
    return rec.run(argv, "rollback").ok


def _changed_something(records: list[dict[str, Any]]) -> bool:
    """Did any of the plan's own commands run and succeed (not skipped by a guard)?"""
    return any(r.get("role") == "command" and r.get("returncode") == 0 for r in records)


def rollback(applied: AppliedFix, facts: Facts, on_output: Output = _quiet, *,
             password: str | None = None, root: RootAccess | None = None,
             ask: Callable[[], str | None] | None = ask_on_tty) -> bool:
    """Undo an applied config fix: restore its backups, then run its commands again (the
    reload that makes the old config live, from the plan's undo). Records land in
    applied.commands."""
    if not applied.backups:
        on_output("Nothing to roll back: this fix changed no file.")
        return False
    needs_root = not all(_writable(b.get("target") or b["path"])
                         and os.access(b["backup"], os.R_OK) for b in applied.backups)
    own = root is None
    root = root or obtain(needs_root, password, ask)
    try:
        if not root.usable:
            on_output(f"Cannot roll back: {root.access.reason}. Restore by hand:")
            for item in applied.backups:
                on_output("  " + shlex.join(item["undo"]))
            return False
        rec = CommandRecorder(root, on_output, applied.commands)
        ok = restore(rec, applied.backups)
        for argv in applied.restore_commands:
            ok = rec.run(argv, "rollback").ok and ok
        return ok
    finally:
        if own:
            root.close()
        facts.invalidate()
