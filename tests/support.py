"""Shared test helpers."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """CI=true: the run must prove everything, so a missing part fails instead of skipping."""
    return os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when a part is missing on a contributor's machine; fail in CI, which must have it."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)
