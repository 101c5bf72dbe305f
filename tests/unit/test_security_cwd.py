"""Nothing is imported from the folder the wizard is started in (SECURITY.md, item 5).

Root often starts it from wherever the shell stands: a web root, an upload folder, a
folder of logs. A wizard.py, psutil.py or yaml.py lying there must not run. The fix's own
helper commands are covered by test_helper_isolation.py (they run with `python -I`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).parent / "nginx-502-wizard"
PLANTED = ("wizard", "psutil", "yaml", "crossplane", "distro", "textual", "pexpect")


def plant(folder: Path) -> Path:
    """A module for each name that leaves a marker file behind if it is ever imported."""
    ran = folder / "ran"
    ran.mkdir()
    for name in PLANTED:
        (folder / f"{name}.py").write_text(
            f"import pathlib\npathlib.Path({str(ran / name)!r}).write_text('imported')\n")
    return ran


def start(argv: list[str], cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return subprocess.run([*argv, "flows", "list"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_command_imports_nothing_from_the_working_directory(tmp_path: Path) -> None:
    if not CONSOLE_SCRIPT.exists():
        pytest.fail(f"{CONSOLE_SCRIPT} is missing: install the project (pip install -e .)")
    folder = tmp_path / "uploads"
    folder.mkdir()
    ran = plant(folder)

    done = start([str(CONSOLE_SCRIPT)], folder, tmp_path)

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in ran.iterdir()) == []


def test_python_m_wizard_imports_no_library_from_the_working_directory(
        tmp_path: Path) -> None:
    """`python -m` puts the working directory first on sys.path; wizard/__main__.py takes
    it off before anything else is imported. (A planted wizard.py itself would be found
    before that: SECURITY.md says to use the command or `python -P`.)"""
    folder = tmp_path / "uploads"
    folder.mkdir()
    ran = plant(folder)
    (folder / "wizard.py").unlink()

    done = start([sys.executable, "-m", "wizard"], folder, tmp_path)

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in ran.iterdir()) == []


def test_python_P_m_wizard_ignores_a_planted_wizard_py(tmp_path: Path) -> None:
    """SECURITY.md's advice for this Python: -P from 3.11 on, -I before (no -P there)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    ran = plant(folder)
    safe = "-P" if sys.version_info >= (3, 11) else "-I"

    done = start([sys.executable, safe, "-m", "wizard"], folder, tmp_path)

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in ran.iterdir()) == []
