"""Writing a config fix's files: check, back up, write atomically, restore.

Every file operation is a command (sha256sum, install, cp, mv, rm) run with the fix's
privilege, so the same code works as root and through sudo, and each lands in the
transcript with its output and exit code. On screen each step is one plain line.

- The file that changes is the symlink's target: `sites-enabled/default` stays the link
  it was, and `sites-available/default` gets the new text.
- The new text goes to a dot-file beside the target with the target's owner, mode,
  timestamps and SELinux context (`cp --preserve=all` of the target, then its bytes
  replaced), and is renamed over it: nginx never reads half a file.
- Backups go to a root-only folder outside every include glob (see backups.py).
- A restore writes the backup's bytes back the same way and checks the sha256.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from wizard.compat import zip_strict
from wizard.fixes.backups import backup_dir, backup_path, temp_beside
from wizard.fixes.recorder import CommandRecorder


def sha_of(rec: CommandRecorder, path: str) -> str | None:
    result = rec.run(["sha256sum", "--", path], "check")
    words = result.stdout.split()
    return words[0] if result.ok and words else None


def real_file(path: str) -> str:
    """The file a config path names, through any symlinks (sites-enabled -> available)."""
    return os.path.realpath(path)


def replace_bytes(rec: CommandRecorder, source: str, target: str, role: str) -> bool:
    """Put source's bytes at target atomically, keeping target's attributes. A failed step
    removes the temporary file, so nothing is left in a config folder."""
    temp = temp_beside(target)
    steps = [["cp", "--preserve=all", "--", target, temp], ["cp", "--", source, temp],
             ["mv", "-f", "-T", "--", temp, target]]
    for argv in steps:
        result = rec.run(argv, role, quiet=True)
        if not result.ok:
            rec.on_output(f"Could not write {target}: {result.error or result.output}")
            rec.run(["rm", "-f", "--", temp], role, quiet=True)
            return False
    return True


def restore(rec: CommandRecorder, backups: list[dict[str, Any]]) -> bool:
    """Put every backup back over its file; True when each file matches its backup."""
    ok = True
    for item in reversed(backups):
        target = item.get("target") or item["path"]
        if not replace_bytes(rec, item["backup"], target, "restore"):
            ok = False
            rec.on_output(f"Could not restore {item['path']}; its backup is {item['backup']}")
            continue
        if item.get("sha256") and sha_of(rec, target) != item["sha256"]:
            ok = False
            rec.on_output(f"{item['path']} does not match its backup {item['backup']}")
        else:
            rec.on_output(f"Restored {item['path']} from {item['backup']}")
    return ok


def _check_unchanged(rec: CommandRecorder, edits: list[dict[str, Any]]) -> str | None:
    for edit in edits:  # every file must be as planned before any is touched
        now = sha_of(rec, real_file(edit["path"]))
        if now is None:
            return f"cannot read {edit['path']}, so nothing was written"
        if now != edit["old_sha256"]:
            return (f"{edit['path']} changed since the plan was made, so nothing was "
                    "written; look at the fix again to see the current change")
    return None


def _back_up(rec: CommandRecorder, edit: dict[str, Any], folder: str,
             when: float) -> dict[str, Any] | None:
    target = real_file(edit["path"])
    backup = backup_path(folder, target, when)
    for argv in (["install", "-d", "-m", "0700", "--", folder],
                 ["cp", "--", target, backup], ["chmod", "0600", "--", backup]):
        if not rec.run(argv, "backup", quiet=True).ok:
            rec.run(["rm", "-f", "--", backup], "backup", quiet=True)
            return None
    rec.on_output(f"Saved the original {edit['path']} as {backup}")
    return {"path": edit["path"], "target": target, "backup": backup,
            "sha256": edit["old_sha256"], "undo": ["cp", "--", backup, target]}


def write_edits(rec: CommandRecorder, edits: list[dict[str, Any]], when: float,
                backups: list[dict[str, Any]], as_root: bool) -> str | None:
    """Check, back up and write every edit; None on success, else why nothing is changed
    (files already written are restored before returning)."""
    refused = _check_unchanged(rec, edits)
    if refused:
        return refused
    folder = backup_dir(as_root)
    for edit in edits:
        item = _back_up(rec, edit, folder, when)
        if item is None:  # nothing is written yet: there is nothing to put back
            return f"could not save a backup of {edit['path']} in {folder}"
        backups.append(item)
    workdir = tempfile.mkdtemp(prefix="n502-fix-")  # 0700, ours; root may read it
    try:
        for index, (edit, item) in enumerate(zip_strict(edits, backups)):
            source = os.path.join(workdir, f"{index}-{os.path.basename(item['target'])}")
            with open(source, "w", encoding="utf-8", newline="") as fh:
                fh.write(edit["new_text"])
            if not replace_bytes(rec, source, item["target"], "edit"):
                restore(rec, backups)
                return f"could not write {edit['path']}"
            rec.on_output(f"Wrote the change to {item['target']}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return None
