"""Running external commands: argv lists only, always with a timeout, never a traceback."""

from __future__ import annotations

import codecs
import functools
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, Any

from wizard.compat import ParamSpec

# sbin folders are often missing from a non-root PATH, yet nginx and php-fpm live there.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
OUTPUT_LIMIT = 256 * 1024  # bytes kept per stream; a runaway command must not fill memory
STREAM_TIMEOUT = 120.0
# What a command that changes the host runs with (often as root): no variable of the
# caller's (PYTHONPATH, LD_PRELOAD, a planted PATH entry) and `/` as working directory,
# so nothing from the folder the wizard was started in can be loaded by it.
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CLEAN_ENV = {"PATH": CLEAN_PATH, "LANG": "C", "LC_ALL": "C"}
Output = Callable[[str], None]
_P = ParamSpec("_P")


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int | None  # None when the command could not run or timed out
    stdout: str = ""
    stderr: str = ""
    error: str | None = None  # why it did not run to completion, in plain words
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()

    def to_json(self) -> dict[str, Any]:
        return {
            "argv": self.argv, "returncode": self.returncode, "stdout": self.stdout,
            "stderr": self.stderr, "error": self.error, "duration": round(self.duration, 3),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommandResult:
        return cls(
            argv=list(data["argv"]), returncode=data.get("returncode"),
            stdout=data.get("stdout", ""), stderr=data.get("stderr", ""),
            error=data.get("error"), duration=float(data.get("duration", 0.0)),
        )


# Who hears of each command `run` ends: the session's command log while a fact is read
# (Facts.get sets it in the thread that reads; see host/command_log.py).
_LISTENER: ContextVar[Callable[[CommandResult], None] | None] = ContextVar(
    "command_listener", default=None)


@contextmanager
def reported_to(listener: Callable[[CommandResult], None]) -> Iterator[None]:
    """Within this block (and this thread), every result of `run` goes to `listener`."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def _reported(fn: Callable[_P, CommandResult]) -> Callable[_P, CommandResult]:
    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> CommandResult:
        result = fn(*args, **kwargs)
        listener = _LISTENER.get()
        if listener is not None:
            listener(result)
        return result

    return wrapper


def which(name: str) -> str | None:
    """Find a program on PATH or in the sbin folders."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SBIN_DIRS:
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _decode(data: bytes | None) -> str:
    return (data or b"")[:OUTPUT_LIMIT].decode("utf-8", errors="replace")


@_reported
def run(
    argv: list[str],
    timeout: float = 10.0,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> CommandResult:
    """Run argv with a timeout. Failures to start become `error`, not exceptions."""
    started = time.monotonic()
    program = argv[0] if os.sep in argv[0] else which(argv[0])
    if program is None:
        return CommandResult(argv, None, error=f"{argv[0]} is not installed")
    try:
        proc = subprocess.run(  # argv list, no shell
            [program, *argv[1:]],
            input=input_text.encode() if input_text is not None else None,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return CommandResult(
            argv, None, _decode(exc.stdout), _decode(exc.stderr),
            error=f"timed out after {timeout:g}s", duration=time.monotonic() - started,
        )
    except OSError as exc:
        return CommandResult(argv, None, error=f"could not run {argv[0]}: {exc.strerror}")
    return CommandResult(
        argv, proc.returncode, _decode(proc.stdout), _decode(proc.stderr),
        duration=time.monotonic() - started,
    )


def stream(argv: list[str], on_output: Output, timeout: float = STREAM_TIMEOUT,
           env: dict[str, str] | None = None) -> CommandResult:
    """Run argv (a fix's command) from `/` with a clean environment, passing each output
    line on as it comes; killed after `timeout` even when it hangs without printing."""
    started = time.monotonic()
    program = argv[0] if os.sep in argv[0] else which(argv[0])
    if program is None:
        return CommandResult(argv, None, error=f"{argv[0]} is not installed")
    try:
        proc = subprocess.Popen(  # argv list from a plan, no shell
            [program, *argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, cwd="/", env=env if env is not None else CLEAN_ENV,
        )
    except OSError as exc:
        return CommandResult(argv, None, error=f"could not run {argv[0]}: {exc.strerror}")
    assert proc.stdout is not None
    output = _LineStream(on_output)
    finished = _pump(proc.stdout, output, deadline=started + timeout)
    if not finished:
        proc.kill()
    try:
        code: int | None = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # killed, yet not gone: report, do not hang
        code = None
    proc.stdout.close()
    output.flush()
    if not finished or code is None:
        return CommandResult(argv, None, output.text, error=f"timed out after {timeout:g}s",
                             duration=time.monotonic() - started)
    return CommandResult(argv, code, output.text, duration=time.monotonic() - started)


def _pump(pipe: IO[bytes], output: _LineStream, deadline: float) -> bool:
    """Copy the pipe into `output` until end of file (True) or the deadline (False)."""
    with selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=min(left, 0.5)):
                continue
            chunk = os.read(pipe.fileno(), 65536)
            if not chunk:
                return True
            output.feed(chunk)
    return False


class _LineStream:
    """Bytes in, whole lines out to `on_output` (UTF-8, bad bytes replaced), all kept."""

    def __init__(self, on_output: Output) -> None:
        self.on_output = on_output
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        self.parts: list[str] = []

    def feed(self, chunk: bytes) -> None:
        text = self.decoder.decode(chunk)
        self.parts.append(text)
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.on_output(line)

    def flush(self) -> None:
        tail = self.decoder.decode(b"", final=True)
        self.parts.append(tail)
        if self.pending + tail:
            self.on_output(self.pending + tail)
        self.pending = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)
