"""Run `python -m wizard ARGS` and write the wizard process's own peak RSS (VmHWM, KiB) to
OUT when it exits: `python bench/own_peak.py OUT ARGS...`.

GNU time's %M is the largest of a process and every child it waited for, so a diagnose
whose `nginx -t` of a 5,000-server config peaks at 234 MiB would be charged that figure.
The memory target is the wizard's own, so this reads it from /proc/self/status.
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def _write_peak(out: Path) -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out.write_text(line.split()[1])


def main() -> None:
    out = Path(sys.argv[1])
    sys.argv = ["wizard", *sys.argv[2:]]
    atexit.register(_write_peak, out)
    runpy.run_module("wizard", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
