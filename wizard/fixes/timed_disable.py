"""The re-enable half of "temporarily disable the firewall": a detached timer.

    python -m wizard.fixes.timed_disable after SECONDS --log FILE -- ARGV...
returns at once (after printing when it will fire) and leaves a grandchild in its own
session (setsid, double fork, SIGHUP ignored, no terminal, no inherited pipes) that waits
SECONDS and then runs ARGV. So the firewall comes back even when the SSH session that
disabled it drops, and the wizard's output pipe is not held open for the wait.

    python -m wizard.fixes.timed_disable save [--prepend LINE] FILE -- ARGV...
writes ARGV's output to FILE (mode 600), LINE first: how `nft list ruleset` is saved
without a shell redirection.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from wizard.host.commands import run

RESTORE_TIMEOUT = 60.0


def timer_argv(python_helper: list[str], seconds: int, log: str, argv: list[str]) -> list[str]:
    return [*python_helper, "after", str(seconds), "--log", log, "--", *argv]


def _detach() -> bool:
    """Double fork; True in the grandchild, which has no terminal and no inherited fds."""
    if os.fork() > 0:
        return False
    os.setsid()  # a new session: no controlling terminal, not in the SSH session's group
    if os.fork() > 0:
        os._exit(0)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, 1024)  # the caller's pipes must see EOF now, not after the wait
    return True


def _log(path: str, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
    except OSError:
        pass  # nowhere to write: the restore itself matters more than its log


def after(seconds: float, log: str, argv: list[str]) -> int:
    fire_at = time.time() + seconds
    sys.stdout.write(f"the firewall comes back by itself at "
                     f"{time.strftime('%H:%M:%S', time.localtime(fire_at))} "
                     f"(running {' '.join(argv)}); log: {log}\n")
    sys.stdout.flush()
    if not _detach():
        os.wait()  # the intermediate child exits at once
        return 0
    try:
        _log(log, f"waiting {seconds:g}s to run: {' '.join(argv)}")
        while (left := fire_at - time.time()) > 0:
            time.sleep(min(left, 1.0))  # a timer, not test synchronisation
        result = run(argv, timeout=RESTORE_TIMEOUT)
        _log(log, f"ran {' '.join(argv)}: exit {result.returncode} {result.error or ''}"
                  f" {result.output}".rstrip())
    finally:
        os._exit(0)


def save(path: str, prepend: str | None, argv: list[str]) -> int:
    result = run(argv, timeout=30.0)
    if not result.ok:
        print(result.error or result.output or f"{argv[0]} failed", file=sys.stderr)
        return 1
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write((prepend + "\n" if prepend else "") + result.stdout)
    print(f"saved to {path}")
    return 0


def _main(args: list[str]) -> int:
    try:
        split = args.index("--")
    except ValueError:
        split = -1
    head, argv = (args[:split], args[split + 1:]) if split >= 0 else (args, [])
    if len(head) == 4 and head[0] == "after" and head[2] == "--log" and argv:
        try:
            return after(float(head[1]), head[3], argv)
        except ValueError:
            pass
    if head and head[0] == "save" and argv:
        if len(head) == 2:
            return save(head[1], None, argv)
        if len(head) == 4 and head[1] == "--prepend":
            return save(head[3], head[2], argv)
    print("usage: after SECONDS --log FILE -- ARGV... | save [--prepend LINE] FILE -- ARGV...",
          file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
