"""How a fix runs one of our own helper modules (guards, undo, the timed re-enable), often
as root through sudo.

`python -I`: isolated mode, so neither the working directory nor PYTHONPATH nor the
user's site-packages is on sys.path: a `wizard/` folder planted in /tmp or in a checkout
can never be imported as root. The interpreter is this very one by absolute path (the
installed wizard's), and stream() runs every fix command from `/` with a clean
environment on top of that.
"""

from __future__ import annotations

import os
import sys

HELPER_PACKAGE = "wizard.fixes"


def interpreter() -> str:
    """The absolute path of the running Python (a venv's python is kept as is: resolving
    its symlink would lose the venv's site-packages)."""
    exe = sys.executable or ""
    return exe if os.path.isabs(exe) else "/usr/bin/python3"


def helper(module: str, *args: str) -> list[str]:
    """argv that runs wizard.fixes.MODULE as a script, isolated."""
    return [interpreter(), "-I", "-m", f"{HELPER_PACKAGE}.{module}", *args]


def helper_module(argv: list[str]) -> str | None:
    """The helper module an argv made by `helper` runs (`firewall_nftables`), else None."""
    if len(argv) > 3 and argv[1] == "-I" and argv[2] == "-m" \
            and argv[3].startswith(HELPER_PACKAGE + "."):
        return argv[3][len(HELPER_PACKAGE) + 1:]
    return None
