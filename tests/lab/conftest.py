"""Fixtures for lab tests: real nginx / PHP-FPM in a temp prefix, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.debian_site import debian_site  # noqa: F401  (a fixture)
from tests.lab.harness import Lab, require_lab


@pytest.fixture
def make_lab() -> Iterator[Callable[..., Lab]]:
    """Factory: `make_lab(php_listen="tcp", start_php=False, ...)`; every lab is stopped
    (processes killed, folder removed) when the test ends, passed or failed."""
    require_lab()
    made: list[Lab] = []

    def factory(**kwargs: Any) -> Lab:
        instance = Lab(**kwargs)
        made.append(instance)
        return instance

    yield factory
    for instance in made:
        instance.stop()


@pytest.fixture
def lab(make_lab: Callable[..., Lab]) -> Lab:
    """A healthy lab: nginx in front of PHP-FPM on a unix socket."""
    return make_lab()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/lab/" in str(item.fspath):
            item.add_marker(pytest.mark.lab)
