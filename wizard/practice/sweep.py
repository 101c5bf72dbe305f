"""Stop every process of a practice sandbox and remove its folder.

A sandbox's processes are found by the folder their command lines name (nginx's master
title keeps its `-p`/`-c`, PHP-FPM's names its config, the port holder takes the folder
as its first argument), and their children with them: nginx and PHP-FPM workers name no
folder, and a worker outlives a master killed hard. Only programs the sandbox runs are
looked at (nginx, php-fpm, python), so a person's `tail -f` on a sandbox log is left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time

import psutil

FOLDER_PREFIX = "nginx-502-practice-"
PROGRAMS = ("nginx", "php", "python")  # php: php-fpm8.2, php-fpm82, php-fpm
STOP_TIMEOUT = 5.0
POLL = 0.02


def is_sandbox_folder(prefix: str) -> bool:
    """Only a folder made for a sandbox is ever removed, whatever path is passed in."""
    return (os.path.isabs(prefix) and os.path.basename(prefix).startswith(FOLDER_PREFIX)
            and os.path.isdir(prefix) and not os.path.islink(prefix))


def names_folder(cmdline: list[str], prefix: str) -> bool:
    joined = " ".join(cmdline) + " "
    return f"{prefix}/" in joined or f"{prefix} " in joined


def sandbox_processes(prefix: str, spare: set[int]) -> list[psutil.Process]:
    """The sandbox's processes and all their children, never one of `spare`. Each one
    that names the folder is paused (SIGSTOP) before its children are listed, so a master
    cannot start a worker that the list would miss."""
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        info = proc.info
        if info["pid"] in spare or not str(info["name"] or "").startswith(PROGRAMS):
            continue
        if names_folder(info["cmdline"] or [], prefix):
            with contextlib.suppress(psutil.Error):
                proc.suspend()
                found[proc.pid] = proc
                found.update({child.pid: child for child in proc.children(recursive=True)})
    return [proc for pid, proc in found.items() if pid not in spare]


def ended(proc: psutil.Process) -> bool:
    """Gone, or a zombie: a dead process that holds no port, socket or file any more and
    only waits for its parent (often init, which may reap it late) to collect it."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def stop(procs: list[psutil.Process]) -> None:
    """SIGKILL, all at once: the sandbox is thrown away, so nothing in it needs a graceful
    stop (PHP-FPM's takes a second), and a master and its workers go together."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + STOP_TIMEOUT
    while not all(ended(proc) for proc in procs) and time.monotonic() < deadline:
        time.sleep(POLL)  # polling the processes' end, with a deadline


def sweep(prefix: str, spare: set[int] | None = None) -> None:
    """End the sandbox in `prefix`: its processes, then its folder (sockets and all).
    Twice, since a server being started while the first pass ran may appear late."""
    spare = (spare or set()) | own_line()
    for _ in range(2):
        stop(sandbox_processes(prefix, spare))
    if is_sandbox_folder(prefix):
        shutil.rmtree(prefix, ignore_errors=True)


def own_line() -> set[int]:
    """This process and its ancestors: the sweep never stops the wizard or its shell."""
    me = psutil.Process()
    with contextlib.suppress(psutil.Error):
        return {me.pid, *(parent.pid for parent in me.parents())}
    return {me.pid}
