"""Running external commands: argv lists only, always with a timeout, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

# sbin folders are often missing from a non-root PATH, yet nginx and php-fpm live there.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
OUTPUT_LIMIT = 256 * 1024  # bytes kept per stream; a runaway command must not fill memory


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
