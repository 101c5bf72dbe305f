"""Minimal Debian roots for the service-manager tests, debootstrapped once and kept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"


def debootstrap_once(root: Path, include: str, ready: str) -> None:
    """Make `root` (minbase plus `include`) unless `ready` exists in it already. It takes
    about a minute from Debian's archive; a half-made root is removed so the next run
    starts clean."""
    if (root / ready).exists():
        return
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    made = subprocess.run(["debootstrap", "--variant=minbase", f"--include={include}",
                           "bookworm", str(partial), MIRROR],
                          capture_output=True, text=True, timeout=900, check=False)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    partial.rename(root)
