"""Fix actions, registered by name; importing this package registers all of them."""

from __future__ import annotations

import importlib
import pkgutil

from wizard.fixes.base import ACTIONS, FixAction, FixNotApplicable, FixPlan, fix_action

__all__ = ["ACTIONS", "FixAction", "FixNotApplicable", "FixPlan", "fix_action", "load_all"]


def load_all() -> dict[str, FixAction]:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name != "base":
            importlib.import_module(f"{__name__}.{mod.name}")
    # not at the top: a helper run as `python -m wizard.fixes.X` imports this package
    # first and must not find itself imported already (the gate imports two of them)
    from wizard.fixes.practice_gate import confine_to_sandbox

    confine_to_sandbox(ACTIONS)  # practice mode: plans for the sandbox only
    return ACTIONS
