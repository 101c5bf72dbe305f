"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wizard.checks.base import REGISTRY, check
from wizard.host.facts import Facts
from wizard.outcome import CheckResult, Status


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
