"""Records are written where nobody else can read or swap them: in a shared temp folder
another local user can create the wizard's folder name first, or plant a symlink there to
a folder of theirs, before root runs the wizard (SECURITY.md, item 2)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.support import require
from wizard.engine.transcript import Transcript
from wizard.engine.transcript_store import save_transcript, transcript_dir

NOBODY = 65534


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The state folder cannot be made (its parent is a file), so the fallback in the
    shared temp folder ($TMPDIR, here a private stand-in for /tmp) is used."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))
    shared = tmp_path / "shared-tmp"
    shared.mkdir(mode=0o1777)
    os.chmod(shared, 0o1777)
    monkeypatch.setenv("TMPDIR", str(shared))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)  # read $TMPDIR again
    return shared


def test_the_fallback_folder_is_private(shared_tmp: Path) -> None:
    folder = transcript_dir()
    assert folder.parent == shared_tmp
    assert stat.S_IMODE(folder.lstat().st_mode) == 0o700


def test_a_symlink_planted_at_the_fallback_name_is_not_followed(shared_tmp: Path,
                                                                tmp_path: Path) -> None:
    attacker = tmp_path / "attacker"
    attacker.mkdir(mode=0o777)
    (shared_tmp / f"nginx-502-wizard-{os.getuid()}").symlink_to(attacker)

    with pytest.raises(OSError):
        save_transcript(Transcript(flow="nginx-502", options={}, started=1.0), {"lead": None})
    assert list(attacker.iterdir()) == []


def test_a_folder_another_user_made_first_is_not_used(shared_tmp: Path) -> None:
    require(os.geteuid() == 0, "making a folder owned by another user needs root")
    planted = shared_tmp / f"nginx-502-wizard-{os.getuid()}"
    planted.mkdir(mode=0o777)
    os.chmod(planted, 0o777)
    os.chown(planted, NOBODY, NOBODY)

    with pytest.raises(OSError):
        transcript_dir()


def test_a_saved_record_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    saved = save_transcript(Transcript(flow="nginx-502", options={}, started=1.0), {"lead": None},
                            tmp_path / "session.json")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
