"""The test suite on every Python the wizard supports (issue 13): `.venv/bin/python -m nox`.

- `tests`: the whole suite on the Python that runs nox (.venv's, made by tests/install-deps).
- `oldest_newest-3.9`, `oldest_newest-3.13`: a venv of each with the project and its dev
  extras, then the unit tests and one live lab scenario (PHP-FPM broken, diagnosed
  headless by the real CLI). The versions between are covered by the same code: no version
  check outside wizard/compat.py, and tests/unit/test_python_support.py keeps it so.

With CI=true a missing interpreter fails the run, and tests/conftest.py fails any skip in
every session; elsewhere a missing interpreter is skipped and nox says which.
`-s tests` (or `-s oldest_newest`) runs one kind; arguments after `--` go to pytest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

OLDEST_NEWEST = ["3.9", "3.13"]
SMOKE = "tests/lab/test_scenarios.py::test_socket_only_root_may_open_is_socket_permission"

nox.needs_version = ">=2024.4"
nox.options.error_on_missing_interpreters = os.environ.get("CI") == "true"
nox.options.reuse_venv = "yes"  # a second run only installs what changed
nox.options.sessions = ["oldest_newest", "tests"]  # the short ones first, fail fast


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in folder.name.split(".") if part.isdigit())


def _pyenv_on_path() -> None:
    """Put pyenv's own Pythons of the wanted versions first on PATH. Its shims answer only
    for the versions `pyenv global` names, so nox would take the shim of a 3.9 that pyenv
    has but does not offer for a missing interpreter."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for version in OLDEST_NEWEST:
        installed = [p for p in versions.glob(f"{version}.*")
                     if (p / "bin" / f"python{version}").exists()]
        if installed:
            found.append(str(max(installed, key=_version_key) / "bin"))
    os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_pyenv_on_path()


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The whole suite, as `python -m pytest -q` ran it before nox."""
    session.run(sys.executable, "-m", "pytest", "-q", *session.posargs)


@nox.session(python=OLDEST_NEWEST, venv_backend="venv")
def oldest_newest(session: nox.Session) -> None:
    """The unit tests and one live lab scenario on the oldest and newest Python."""
    # The pip a venv starts with may be years old (3.9 has 23.0): its resolver backtracks
    # for minutes over this index. A current one takes seconds.
    session.install("-q", "--upgrade", "pip")
    session.install("-q", "-e", ".[dev]")
    # The single file is built once, in `tests`: its offline test runs it on 3.9 and 3.13.
    session.run("python", "-m", "pytest", "-q", "tests/unit", SMOKE,
                "--ignore=tests/unit/test_zipapp.py", *session.posargs)
