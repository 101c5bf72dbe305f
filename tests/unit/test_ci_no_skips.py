"""CI proves nothing was skipped: with CI=true a run that skips any test fails and names
it with its reason (tests/conftest.py); without CI a skip is just a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.unit.test_readme import setup_commands

ROOT = Path(__file__).resolve().parents[2]

SKIPPING_TESTS = '''
import pytest

def test_runs():
    pass

def test_needs_a_tool():
    pytest.skip("the frobnicator is not installed")
'''
SKIPPED_MODULE = '''
import pytest

pytest.importorskip("no_such_module_for_the_ci_test")

def test_never_collected():
    pass
'''


def run_pytest(folder: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    """pytest on `folder` with the repo's own hooks (loaded as the plugin tests.conftest),
    in a clean child process, so the outer run's CI setting and options do not leak in."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    if ci:
        env["CI"] = "true"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest",
            "-p", "no:cacheprovider", "--rootdir", str(folder), str(folder)]
    return subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def write_tests(folder: Path) -> None:
    (folder / "test_skipping.py").write_text(SKIPPING_TESTS)
    (folder / "test_skipped_module.py").write_text(SKIPPED_MODULE)


def test_a_skip_fails_the_run_in_ci_and_says_why(tmp_path: Path) -> None:
    write_tests(tmp_path)
    done = run_pytest(tmp_path, ci=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "skipped, but CI=true must run every test" in done.stdout
    assert "test_skipping.py::test_needs_a_tool: the frobnicator is not installed" \
        in done.stdout
    assert "test_skipped_module.py" in done.stdout
    assert "no_such_module_for_the_ci_test" in done.stdout


def test_a_skip_is_only_a_skip_outside_ci(tmp_path: Path) -> None:
    write_tests(tmp_path)
    done = run_pytest(tmp_path, ci=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 2 skipped" in done.stdout
    assert "CI=true must run every test" not in done.stdout


def test_a_run_without_skips_passes_in_ci(tmp_path: Path) -> None:
    (tmp_path / "test_fine.py").write_text("def test_fine():\n    pass\n")
    done = run_pytest(tmp_path, ci=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_script_sets_ci_before_the_tests() -> None:
    """.ci/run exports CI=true before its (README's) test command, so the hooks apply."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    tests = lines.index(setup_commands()[1])  # the README's test command (nox, then pytest)
    assert "export CI=true" in lines[:tests]
