"""A fix's helper commands (guards, undo, the timed re-enable) run as root: nothing from
the folder the wizard was started in, nor from the caller's environment, may be imported
by them. A `wizard/` package planted in the working directory (and on PYTHONPATH) would
otherwise be run as root in place of ours."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.fixes.apply import apply_fix
from wizard.fixes.helper_argv import helper
from wizard.host.facts import Facts

PLANTED = """\
import pathlib
pathlib.Path({marker!r}).write_text("the planted package ran")
raise SystemExit(0)
"""


def plant(folder: Path, marker: Path) -> None:
    """wizard/fixes/firewall_backend.py that only leaves a marker file behind."""
    package = folder / "wizard" / "fixes"
    package.mkdir(parents=True)
    (folder / "wizard" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "firewall_backend.py").write_text(PLANTED.format(marker=str(marker)))


def test_a_planted_package_in_the_working_directory_is_never_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted, marker, ran = tmp_path / "planted", tmp_path / "marker", tmp_path / "ran"
    plant(planted, marker)
    monkeypatch.chdir(planted)
    monkeypatch.setenv("PYTHONPATH", str(planted))
    # our real helper answers "no such line" (exit 1), so the command after it runs; the
    # planted one would exit 0 and skip it
    guard = helper("firewall_backend", "has-line", "no such line", "--", "echo", "other")
    plan = {"id": "t", "needs_root": False, "commands": [["touch", str(ran)]],
            "guards": [guard], "asks": ["Is it there?"]}

    applied = apply_fix(plan, Facts.from_snapshot({"format": 1, "facts": {}}))

    assert not marker.exists(), "a helper imported the planted wizard package"
    assert applied.succeeded and ran.exists()
    assert guard[1:3] == ["-I", "-m"] and os.path.isabs(guard[0])


def test_fix_commands_run_from_the_root_folder_with_a_clean_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LD_PRELOAD", "/nonexistent/evil.so")
    out = tmp_path / "seen"
    plan = {"id": "t", "needs_root": False,
            "commands": [["sh", "-c", f'pwd > {out}; echo "${{LD_PRELOAD:-unset}}" >> {out}']]}

    assert apply_fix(plan, Facts.from_snapshot({"format": 1, "facts": {}})).succeeded

    assert out.read_text().split() == ["/", "unset"]
