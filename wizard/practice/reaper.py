"""The sandbox's watcher: sweeps the sandbox once the wizard is gone, however it went
(it quit, the terminal hung up, it was killed with SIGKILL or by the OOM killer).

    python -I -m wizard.practice.reaper FOLDER      (stdin: a pipe the wizard holds open)

The kernel closes the wizard's end of the pipe when the wizard ends, for any reason; the
watcher's read then returns end-of-file and it sweeps FOLDER. It runs in a session of its
own, so a hang-up of the wizard's terminal does not reach it, and ignores Ctrl+C there.
"""

from __future__ import annotations

import os
import signal
import sys

from wizard.practice.sweep import sweep


def wait_for_end_of_file(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 4096):
                return
        except InterruptedError:
            continue
        except OSError:
            return


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not os.path.isabs(argv[0]):
        print("usage: FOLDER (stdin: the pipe to watch)", file=sys.stderr)
        return 64
    for sig in (signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    wait_for_end_of_file(0)
    sweep(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
