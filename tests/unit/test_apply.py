"""Applying a fix plan: guards skip what is in place, config edits are checked, backed up,
validated and restored byte for byte when validation or a command fails, and every command
lands in the transcript. Real files and real commands (coreutils), no mocks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from wizard.engine.transcript import Transcript
from wizard.fixes.apply import apply_fix, restore_commands, rollback
from wizard.fixes.backups import BACKUP_DIR_ENV, SYSTEM_BACKUP_DIR, backup_hint, encoded
from wizard.fixes.base import FixNotApplicable
from wizard.fixes.config_edit import Change, finish, read_config
from wizard.fixes.config_nginx import nginx_target, size_text
from wizard.fixes.privilege import Access, RootAccess, check_access
from wizard.host.facts import Facts

OLD = "# a config\nworkers = 2\nlimit = 10\n"


def facts() -> Facts:
    return Facts.from_snapshot({"format": 1, "facts": {}})


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def config(tmp_path: Path, text: str = OLD, mode: int = 0o640) -> Path:
    path = tmp_path / "app.conf"
    path.write_text(text)
    path.chmod(mode)
    return path


def edit_plan(path: Path, new: str, old: str = OLD, **extra: Any) -> dict[str, Any]:
    plan = {"id": "test.edit", "title": "edit", "needs_root": False, "commands": [],
            "undo": [], "edits": [{"path": str(path), "new_text": new,
                                   "old_sha256": sha(old)}], "validate": []}
    plan.update(extra)
    return plan


@pytest.fixture(autouse=True)
def backup_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Backups of these tests go to a folder of their own, never beside the config."""
    folder = tmp_path / "backups"
    monkeypatch.setenv(BACKUP_DIR_ENV, str(folder))
    return folder


def backups_of(path: Path) -> list[Path]:
    folder = Path(os.environ[BACKUP_DIR_ENV])
    return sorted(folder.glob(encoded(str(path)) + ".*")) if folder.exists() else []


def config_folder_is_clean(folder: Path) -> bool:
    """Only the config file itself: no backup, no temporary file beside it."""
    return sorted(p.name for p in folder.iterdir() if p.name != "backups") == ["app.conf"]


# -- commands and guards -------------------------------------------------------------------

def test_a_guard_that_passes_skips_its_command_and_says_so(tmp_path: Path) -> None:
    present, missing = tmp_path / "present", tmp_path / "missing"
    present.write_text("x")
    plan = {"id": "t", "needs_root": False,
            "commands": [["touch", str(present)], ["touch", str(missing)]],
            "guards": [["test", "-e", str(present)], ["test", "-e", str(missing)]],
            "asks": ["Is the first file there?", "Is the second file there?"]}
    lines: list[str] = []

    applied = apply_fix(plan, facts(), lines.append)

    assert applied.succeeded
    assert missing.exists()
    # the guard is shown as its question and answer; its own command is not on screen
    assert lines == [f"Is the first file there? yes, so this is skipped: touch {present}",
                     "Is the second file there? no, so:", f"$ touch {missing}"]
    ran = [(r["role"], r["argv"][0], r["returncode"]) for r in applied.commands]
    assert ran == [("guard", "test", 0), ("guard", "test", 1), ("command", "touch", 0)]


def test_a_failed_command_stops_the_plan_and_is_recorded(tmp_path: Path) -> None:
    after = tmp_path / "after"
    plan = {"id": "t", "needs_root": False,
            "commands": [["ls", str(tmp_path / "nope")], ["touch", str(after)]]}
    lines: list[str] = []

    applied = apply_fix(plan, facts(), lines.append)

    assert not applied.succeeded
    assert not after.exists()
    record = applied.commands[-1]
    assert record["returncode"] != 0 and "nope" in record["stdout"]
    assert "exit code 2" in lines


def test_output_streams_line_by_line_and_the_transcript_keeps_it(tmp_path: Path) -> None:
    lines: list[str] = []
    plan = {"id": "t", "needs_root": False, "commands": [["printf", "one\\ntwo\\n"]]}

    applied = apply_fix(plan, facts(), lines.append)

    assert lines == ["$ printf 'one\\ntwo\\n'", "one", "two"]
    record = applied.commands[0]
    assert record["argv"] == ["printf", "one\\ntwo\\n"]
    assert record["stdout"] == "one\ntwo\n" and record["returncode"] == 0
    assert record["started"] >= applied.confirmed_at
    transcript = Transcript(flow="t", options={}, fixes=[applied])
    saved = json.loads(json.dumps(transcript.to_json()))
    assert saved["fixes"][0]["commands"][0]["stdout"] == "one\ntwo\n"
    assert saved["fixes"][0]["confirmed_at"] == applied.confirmed_at


# -- config edits ------------------------------------------------------------------------------

def test_an_edit_keeps_a_backup_with_mode_and_writes_the_new_text(tmp_path: Path) -> None:
    path = config(tmp_path)
    new = OLD.replace("limit = 10", "limit = 60")
    plan = edit_plan(path, new, validate=[["grep", "-q", "limit = 60", str(path)]])

    applied = apply_fix(plan, facts(), lambda line: None)

    assert applied.succeeded, applied.after
    assert path.read_text() == new
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    (backup,) = backups_of(path)
    assert backup.read_text() == OLD and oct(backup.stat().st_mode & 0o777) == "0o600"
    assert oct(backup.parent.stat().st_mode & 0o777) == "0o700"
    assert applied.backups[0]["backup"] == str(backup)
    assert applied.backups[0]["undo"] == ["cp", "--", str(backup), str(path)]
    roles = [r["role"] for r in applied.commands]
    assert roles == ["check", "backup", "backup", "backup", "edit", "edit", "edit", "validate"]
    assert config_folder_is_clean(tmp_path)


def test_an_edit_through_a_symlink_writes_its_target_and_keeps_the_link(
        tmp_path: Path) -> None:
    available, enabled = tmp_path / "sites-available", tmp_path / "sites-enabled"
    available.mkdir()
    enabled.mkdir()
    real = config(available)
    link = enabled / "app.conf"
    link.symlink_to("../sites-available/app.conf")
    new = OLD.replace("limit = 10", "limit = 60")

    applied = apply_fix(edit_plan(link, new), facts())

    assert applied.succeeded, applied.after
    assert link.is_symlink() and os.readlink(link) == "../sites-available/app.conf"
    assert real.read_text() == new
    assert sorted(p.name for p in enabled.iterdir()) == ["app.conf"]
    assert sorted(p.name for p in available.iterdir()) == ["app.conf"]
    assert rollback(applied, facts())
    assert link.is_symlink() and real.read_text() == OLD
    assert sorted(p.name for p in available.iterdir()) == ["app.conf"]


def test_failed_validation_restores_the_file_byte_for_byte(tmp_path: Path) -> None:
    original = OLD.encode() + b"\xe2\x9c\x93 trailing\r\n"
    path = tmp_path / "app.conf"
    path.write_bytes(original)
    plan = edit_plan(path, "broken = \n", old=original.decode(),
                     validate=[["grep", "-q", "GOOD", str(path)]],
                     commands=[["touch", str(tmp_path / "reloaded")]])
    lines: list[str] = []

    applied = apply_fix(plan, facts(), lines.append)

    assert not applied.succeeded
    assert path.read_bytes() == original
    assert applied.after.startswith("rolled back: grep -q GOOD")
    assert any(line.startswith("Validation failed") for line in lines)
    assert f"Restored {path} from {applied.backups[0]['backup']}" in lines
    assert not (tmp_path / "reloaded").exists()  # the reload never ran
    assert Path(applied.backups[0]["backup"]).read_bytes() == original


def test_the_validators_own_message_is_reported(tmp_path: Path) -> None:
    path = config(tmp_path)
    plan = edit_plan(path, "x\n", validate=[["ls", str(tmp_path / "no-such-file")]])

    applied = apply_fix(plan, facts())

    assert "No such file or directory" in applied.after
    assert path.read_text() == OLD


def test_a_file_changed_since_the_plan_is_refused_untouched(tmp_path: Path) -> None:
    path = config(tmp_path)
    plan = edit_plan(path, "new\n", commands=[["touch", str(tmp_path / "reloaded")]])
    path.write_text(OLD + "# someone else was here\n")

    applied = apply_fix(plan, facts())

    assert not applied.succeeded
    assert "changed since the plan was made" in applied.after
    assert path.read_text() == OLD + "# someone else was here\n"
    assert backups_of(path) == []
    assert config_folder_is_clean(tmp_path)
    assert not (tmp_path / "reloaded").exists()


def test_a_failed_command_after_an_edit_restores_and_runs_the_undo(tmp_path: Path) -> None:
    path = config(tmp_path)
    marker = tmp_path / "reloaded-old"
    plan = edit_plan(path, "new\n", commands=[["false"]],
                     undo=[["cp", "--", backup_hint(str(path)), str(path)],
                           ["touch", str(marker)]])

    applied = apply_fix(plan, facts())

    assert applied.after == "rolled back: a command failed"
    assert path.read_text() == OLD
    assert marker.exists()


def test_rollback_restores_a_successful_edit_and_reloads(tmp_path: Path) -> None:
    path = config(tmp_path)
    marker = tmp_path / "reloaded"
    plan = edit_plan(path, "new\n", commands=[["touch", str(marker)]])
    applied = apply_fix(plan, facts())
    assert applied.succeeded and path.read_text() == "new\n"
    marker.unlink()
    lines: list[str] = []

    assert rollback(applied, facts(), lines.append)

    assert path.read_text() == OLD
    assert marker.exists()  # the plan's command (the reload) ran again
    assert [r["role"] for r in applied.commands][-1] == "rollback"


def test_restore_commands_are_the_undo_without_the_backup_copy() -> None:
    plan = {"commands": [["kill", "-HUP", "1"]],
            "undo": [["cp", "--", backup_hint("/x"), "/x"], ["reload"]]}
    assert restore_commands(plan) == [["reload"]]
    assert restore_commands({"commands": [["reload"]], "undo": []}) == [["reload"]]


# -- privilege ----------------------------------------------------------------------------------

def test_without_root_access_nothing_runs_and_the_commands_are_shown(tmp_path: Path) -> None:
    path = config(tmp_path)
    plan = edit_plan(path, "new\n", needs_root=True, commands=[["systemctl", "reload", "x"]])
    root = RootAccess(Access("denied", "this user may not use sudo here"))
    lines: list[str] = []

    applied = apply_fix(plan, facts(), lines.append, root=root)

    assert not applied.succeeded and applied.commands == []
    assert applied.after.startswith("not run: this user may not use sudo here")
    assert "  systemctl reload x" in lines
    copy = next(line for line in lines if line.startswith("  cp /") and line.endswith(str(path)))
    assert any(line.startswith(f"  install -d -m 0700 {SYSTEM_BACKUP_DIR}") for line in lines)
    new_file = copy.split()[1]
    assert Path(new_file).read_text() == "new\n"  # the new text is there to copy
    shutil.rmtree(Path(new_file).parent)
    assert path.read_text() == OLD


def test_a_plan_without_root_runs_directly() -> None:
    assert check_access(False).mode == "direct"


# -- planning helpers --------------------------------------------------------------------------

def test_change_sets_and_adds_lines_keeping_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "crlf.conf"
    path.write_bytes(b"[www]\r\n  listen = a\r\nlast = 1")
    change = Change.of(str(path))
    change.set_line(2, "  listen = b")
    change.add_after(3, ["added = 2"])
    assert change.new_text() == "[www]\r\n  listen = b\r\nlast = 1\r\nadded = 2\r\n"
    assert "-  listen = a" in change.diff() and "+added = 2" in change.diff()
    edits, _, undo = finish([change])
    assert edits[0].old_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert undo[0][:2] == ["cp", "--"]


def test_a_change_that_changes_nothing_is_not_offered(tmp_path: Path) -> None:
    path = config(tmp_path)
    change = Change.of(str(path))
    change.set_line(3, "limit = 10")
    with pytest.raises(FixNotApplicable, match="already has this value"):
        finish([change])


def test_binary_and_missing_files_get_plain_reasons(tmp_path: Path) -> None:
    binary = tmp_path / "bin.conf"
    binary.write_bytes(b"\x00\x01")
    with pytest.raises(FixNotApplicable, match="binary file"):
        read_config(str(binary))
    with pytest.raises(FixNotApplicable, match="cannot read"):
        read_config(str(tmp_path / "none.conf"))
    with pytest.raises(FixNotApplicable, match="has no line 9"):
        Change.of(str(config(tmp_path))).set_line(9, "x")


@pytest.mark.parametrize(("listen", "target"), [
    ("/run/php/php8.2-fpm.sock", "unix:/run/php/php8.2-fpm.sock"),
    ("unix:/run/php/x.sock", "unix:/run/php/x.sock"),
    ("9000", "127.0.0.1:9000"),
    ("0.0.0.0:9001", "127.0.0.1:9001"),
    ("[::]:9002", "127.0.0.1:9002"),
    ("127.0.0.1:9003", "127.0.0.1:9003"),
])
def test_pool_listen_values_become_fastcgi_pass_addresses(listen: str, target: str) -> None:
    assert nginx_target(listen) == target


@pytest.mark.parametrize("bad", ["unix:/x; evil", "a b:1", "$host:9000", ""])
def test_addresses_nginx_would_misread_are_refused(bad: str) -> None:
    with pytest.raises(FixNotApplicable):
        nginx_target(bad)


def test_sizes_are_written_the_nginx_way() -> None:
    assert [size_text(n) for n in (32768, 4096, 1048576, 1000)] == ["32k", "4k", "1m", "1000"]


def test_the_transcript_record_round_trips(tmp_path: Path) -> None:
    path = config(tmp_path)
    applied = apply_fix(edit_plan(path, "new\n"), facts())
    data = json.loads(json.dumps(Transcript("t", {}, fixes=[applied]).to_json()))
    fix = data["fixes"][0]
    assert fix["backups"][0]["path"] == str(path)
    assert {"argv", "returncode", "stdout", "role", "started"} <= set(fix["commands"][0])
    assert os.path.exists(fix["backups"][0]["backup"])


def test_the_buffer_fix_is_not_offered_for_other_log_errors() -> None:
    from wizard.fixes.config_nginx import set_buffer_size

    with pytest.raises(FixNotApplicable, match="does not show a too-big response header"):
        set_buffer_size({"kind": "auto", "signature": "upstream_refused"}, facts())


def test_a_command_that_hangs_silently_is_ended_at_its_timeout() -> None:
    from wizard.host.commands import stream

    started = time.monotonic()
    lines: list[str] = []
    result = stream(["sh", "-c", "echo before; exec sleep 30"], lines.append, timeout=1.0)
    assert result.returncode is None and result.error == "timed out after 1s"
    assert lines == ["before"] and result.stdout == "before\n"
    assert time.monotonic() - started < 10


def test_output_without_a_final_newline_and_bad_bytes_still_arrive() -> None:
    from wizard.host.commands import stream

    lines: list[str] = []
    result = stream(["printf", "a\\nb\\377c"], lines.append)
    assert result.returncode == 0
    assert lines == ["a", "b\ufffdc"]


def test_a_command_failing_after_others_ran_undoes_them(tmp_path: Path) -> None:
    made = tmp_path / "runtime-rule"
    plan = {"id": "t", "needs_root": False,
            "commands": [["touch", str(made)], ["false"]],
            "undo": [["rm", "-f", str(made)]]}
    lines: list[str] = []

    applied = apply_fix(plan, facts(), lines.append)

    assert not applied.succeeded
    assert not made.exists(), "the half-applied change must be taken back"
    assert applied.after == "rolled back: a command failed; the undo commands ran"
    assert [r["role"] for r in applied.commands] == ["command", "command", "rollback"]


def test_when_the_first_command_fails_nothing_is_undone(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.write_text("x")
    plan = {"id": "t", "needs_root": False, "commands": [["false"]],
            "undo": [["rm", "-f", str(kept)]]}

    applied = apply_fix(plan, facts(), lambda line: None)

    assert not applied.succeeded and kept.exists()
    assert [r["role"] for r in applied.commands] == ["command"]


def test_an_automatic_undo_never_closes_the_ssh_port_in_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.7 50022 192.0.2.1 22")
    marker = tmp_path / "other-undo"
    cut = ["iptables", "-D", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"]
    plan = {"id": "t", "needs_root": False, "commands": [["true"], ["false"]],
            "undo": [cut, ["touch", str(marker)]]}
    lines: list[str] = []

    applied = apply_fix(plan, facts(), lines.append)

    assert not applied.succeeded
    assert all(r["argv"][0] != "iptables" for r in applied.commands)  # never ran
    assert any(line.startswith("Not run by itself: `iptables -D INPUT") and "port 22" in line
               for line in lines)
    assert marker.exists()  # the rest of the undo did run
    assert "some undo commands failed" in applied.after


def test_no_backup_means_nothing_is_written(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(BACKUP_DIR_ENV, str(blocker / "backups"))  # cannot be created
    path = config(tmp_path)
    plan = edit_plan(path, "new\n", commands=[["touch", str(tmp_path / "reloaded")]])

    applied = apply_fix(plan, facts())

    assert not applied.succeeded
    assert applied.after == f"not applied: could not save a backup of {path} in {blocker}/backups"
    assert path.read_text() == OLD
    assert [r["role"] for r in applied.commands if r["role"] in ("edit", "restore")] == []
    assert not (tmp_path / "reloaded").exists()
