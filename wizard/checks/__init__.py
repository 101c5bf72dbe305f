"""Checks: pure functions over gathered facts, registered by name.

Importing this package imports every module in it, so each module's `@check`
registrations are in `REGISTRY`.
"""

from __future__ import annotations

import importlib
import pkgutil

from wizard.checks.base import REGISTRY, CheckSpec, check

__all__ = ["REGISTRY", "CheckSpec", "check", "load_all"]


def load_all() -> dict[str, CheckSpec]:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name != "base":
            importlib.import_module(f"{__name__}.{mod.name}")
    return REGISTRY
