"""Files written for a person (snapshots, exported sessions, the Markdown report) are 0600,
also when they replace an older file that anyone could read."""

from __future__ import annotations

import stat
from pathlib import Path

from wizard.private_file import write_private


def test_a_new_file_and_a_replaced_one_are_private(tmp_path: Path) -> None:
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    old.write_text("older, readable by all\n")
    old.chmod(0o644)
    for path in (new, old):
        write_private(path, "facts\n")
        assert path.read_text() == "facts\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
