"""Whether fixes can be applied from the TUI: the apply back-end may be absent in a
trimmed install, and the TUI then shows the plan without running it."""

from __future__ import annotations

import importlib.util


def fix_backend_available() -> bool:
    try:
        return importlib.util.find_spec("wizard.fixes.apply") is not None
    except ImportError:
        return False
