"""Fixtures and hooks shared by every test folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import in_ci
from wizard.checks.base import REGISTRY, check
from wizard.host.facts import Facts
from wizard.outcome import CheckResult, Status

# -- CI proves nothing was skipped -------------------------------------------------------
# `require` (tests/support.py) already fails in CI where a part is missing; these hooks
# catch every other skip too (pytest.skip, skipif, importorskip, a skipped module), so a
# green CI run means every test ran. Skips are noted as pytest reports them and turn the
# session into a failure at the end, each named with its reason.
_SKIPPED: list[tuple[str, str]] = []  # (test id, reason) in this pytest process


def _note_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):  # an xfail is not a skip
        return
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    _SKIPPED.append((report.nodeid, reason.removeprefix("Skipped: ")))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_skip(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    passing = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    if in_ci() and _SKIPPED and session.exitstatus in passing:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not (in_ci() and _SKIPPED):
        return
    terminalreporter.section("skipped, but CI=true must run every test", red=True)
    for nodeid, reason in _SKIPPED:
        terminalreporter.write_line(f"SKIPPED {nodeid}: {reason}", red=True)


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Transcripts written by tests land in a temp folder, not the developer's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def recorded() -> Callable[[dict[str, Any]], Facts]:
    """Facts replayed from a dict, as a snapshot file would give them."""

    def make(values: dict[str, Any], errors: dict[str, str] | None = None) -> Facts:
        return Facts.from_snapshot({"format": 1, "facts": values, "errors": errors or {}})

    return make


@pytest.fixture
def test_checks() -> Iterator[Callable[..., None]]:
    """Register throwaway checks named test.* for one test, removed afterwards."""
    added: list[str] = []

    def register(name: str, fn: Callable[[Facts], CheckResult],
                 results: dict[str, Status] | None = None, timeout: float = 5.0) -> None:
        check(name, results=results or {"ok": Status.OK, "bad": Status.PROBLEM},
              timeout=timeout)(fn)
        added.append(name)

    yield register
    for name in added:
        REGISTRY.pop(name, None)
