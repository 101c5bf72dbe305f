"""Running a fix's commands as root: directly when we are root, else through sudo.

First `sudo -n true` tells whether sudo works without a password. When it needs one, the
caller supplies it (the TUI from a masked input; headless, `ask_on_tty` reads it with
getpass when stdin is a terminal) and each command runs as `sudo -p PROMPT -- argv` in a
pseudo-terminal (pexpect) whose password prompt we answer from memory.

Why each command answers the prompt itself instead of `sudo -v` once and then `sudo -n`:
sudo keys its credential cache by terminal (Debian: timestamp_type=tty), so a `sudo -v` in
pexpect's pseudo-terminal does not let a later `sudo -n` from our own process through.

Where the password goes: only into sudo's prompt on the pseudo-terminal, which has echo
off from the start (echo=False) and no logfile. It is never put in argv, the environment,
a transcript, a log or a file. Python cannot wipe a str; `RootAccess.close()` drops the
reference as soon as the fix (and its rollback) is over.

Threads: pexpect forks a pseudo-terminal. On Python 3.12+ forking from a non-main thread
of a threaded process warns about deadlocks (pexpect issue 817). The TUI must call
`RootAccess.run` from its event-loop (main) thread, or suspend the app and let sudo ask on
the real terminal (`sudo -v`, then `sudo -n` for each command), not from a worker thread.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wizard.host.commands import CommandResult, run, stream, which

SUDO_CHECK_TIMEOUT = 10.0
PROMPT_TIMEOUT = 15.0  # sudo must show its prompt (or finish) within this
_NEEDS_PASSWORD = re.compile(r"a password is required|password is required", re.IGNORECASE)
_NOT_ALLOWED = re.compile(r"is not in the sudoers file|may not run sudo|is not allowed to "
                          r"execute|not allowed to run sudo", re.IGNORECASE)
_WRONG = re.compile(r"incorrect password|Sorry, try again", re.IGNORECASE)
_ANSI_CR = re.compile(r"\r")


def _c_locale_env() -> dict[str, str]:
    """Our environment with sudo's messages in English, so they can be recognised."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env.update(LC_ALL="C", LANG="C")
    return env


@dataclass
class Access:
    """How this fix's commands can run as root: `mode` is direct (root, or root not
    needed), sudo (no password), password (sudo asks for one) or denied (`reason` why)."""

    mode: str
    reason: str = ""

    @property
    def needs_password(self) -> bool:
        return self.mode == "password"


def check_access(needs_root: bool, probe: list[str] | None = None) -> Access:
    """Find out, without asking anybody anything, how root can be had for a plan.

    `probe` is the plan's first command: sudoers often allows only some commands (say
    `service`), so asking sudo about that very command (`sudo -n -l -- argv`) gives the
    true answer where `sudo -n true` would be refused."""
    if not needs_root or os.geteuid() == 0:
        return Access("direct")
    if which("sudo") is None:
        return Access("denied", "root is needed, and sudo is not installed")
    question = ["sudo", "-n", "-l", "--", *probe] if probe else ["sudo", "-n", "true"]
    result = run(question, timeout=SUDO_CHECK_TIMEOUT, env=_c_locale_env())
    if result.ok:
        return Access("sudo")
    text = result.output or result.error or ""
    if probe and not text:  # `sudo -l CMD` says nothing when CMD is not allowed
        return Access("denied", f"sudo does not allow this user to run {probe[0]}")
    if _NOT_ALLOWED.search(text):
        return Access("denied", f"this user may not use sudo here ({_first_line(text)})")
    if _NEEDS_PASSWORD.search(text):
        return Access("password", "sudo asks for this user's password")
    return Access("denied", f"sudo does not work here: {_first_line(text) or 'no reason given'}")


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def ask_on_tty(prompt: str = "Password for sudo (not shown): ") -> str | None:
    """Headless: read the password with getpass when a person sits at a terminal."""
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        return None


@dataclass
class RootAccess:
    """Runs argv lists as root for the length of one fix. Build it with `obtain`."""

    access: Access
    _password: str | None = field(default=None, repr=False)
    _prompt: str = field(default_factory=lambda: f"[n502 sudo {secrets.token_hex(4)}]: ")

    @property
    def usable(self) -> bool:
        return self.access.mode in ("direct", "sudo") or (
            self.access.mode == "password" and self._password is not None)

    def prefix(self) -> list[str]:
        """What is put before argv when showing or running a command."""
        return [] if self.access.mode == "direct" else ["sudo"]

    def run(self, argv: list[str], on_output: Callable[[str], None],
            timeout: float) -> CommandResult:
        """Run argv as root, streaming its output line by line."""
        if self.access.mode == "direct":
            return stream(argv, on_output, timeout)
        if self.access.mode == "sudo":
            result = stream(["sudo", "-n", "--", *argv], on_output, timeout)
            result.argv = ["sudo", "-n", *argv]
            return result
        if self._password is None:
            return CommandResult(["sudo", *argv], None, error="no password for sudo was given")
        return self._run_with_password(argv, on_output, timeout)

    def verify(self) -> tuple[bool, str]:
        """Check the password with `sudo -v` before anything runs; (ok, plain reason)."""
        if self.access.mode != "password":
            return self.usable, self.access.reason
        lines: list[str] = []
        result = self._run_with_password(["-v"], lines.append, PROMPT_TIMEOUT, validate=True)
        if result.ok:
            return True, ""
        return False, result.error or _first_line("\n".join(lines)) or "sudo refused"

    def close(self) -> None:
        """Forget the password (the fix and its rollback are over)."""
        self._password = None

    def _run_with_password(self, argv: list[str], on_output: Callable[[str], None],
                           timeout: float, validate: bool = False) -> CommandResult:
        import pexpect  # only when a password is needed: it forks a pseudo-terminal

        sudo = which("sudo") or "sudo"
        args = ["-p", self._prompt, *argv] if validate else ["-p", self._prompt, "--", *argv]
        shown = ["sudo", *argv]
        started = time.monotonic()
        try:
            # echo=False: the terminal never echoes what we send; no logfile is set, so
            # nothing that passes through the pseudo-terminal is recorded by pexpect.
            child = pexpect.spawn(sudo, args, echo=False, env=_c_locale_env(), timeout=timeout,
                                  encoding="utf-8", codec_errors="replace")
        except (pexpect.ExceptionPexpect, OSError) as exc:
            return CommandResult(shown, None, error=f"could not start sudo: {exc}")
        lines: list[str] = []
        answered = 0  # 0: not asked yet, 1: just answered, 2: answered and past it
        error: str | None = None
        patterns = [re.escape(self._prompt), r"\r?\n", pexpect.EOF, pexpect.TIMEOUT]
        try:
            while True:
                left = timeout - (time.monotonic() - started)
                which_one = child.expect(patterns, timeout=max(0.1, left))
                if which_one == 0:
                    if answered:  # asked again: the password was not accepted
                        error = "sudo did not accept the password"
                        break
                    child.sendline(self._password or "")
                    answered = 1
                    continue
                if which_one == 1:
                    line = _ANSI_CR.sub("", child.before or "")
                    if answered == 1:
                        answered = 2
                        if not line:  # the newline sudo prints after reading the password
                            continue
                    lines.append(line + "\n")
                    if not _WRONG.search(line):
                        on_output(line)
                    continue
                if which_one == 2:
                    tail = _ANSI_CR.sub("", child.before or "")
                    if tail:
                        lines.append(tail)
                        on_output(tail)
                    break
                error = f"timed out after {timeout:g}s"
                break
        finally:
            child.close(force=True)
        output = "".join(lines)
        code = child.exitstatus if error is None else None
        if error is None and code not in (0, None) and _NOT_ALLOWED.search(output):
            error = "this user may not run that command with sudo here: " + _first_line(
                next((line for line in output.splitlines() if _NOT_ALLOWED.search(line)), ""))
        elif error is None and code not in (0, None) and _WRONG.search(output):
            error = "sudo did not accept the password"
        return CommandResult(shown, code, output, error=error,
                             duration=time.monotonic() - started)


SUDO_ASK_TIMEOUT = 300.0  # a person typing a password at 3 a.m. may take a while


def authenticate_on_terminal(probe: list[str] | None = None,
                             timeout: float = SUDO_ASK_TIMEOUT) -> Access:
    """Let sudo itself ask for the password on the person's own terminal, while the TUI is
    suspended: the password never passes through this program at all. sudo then caches
    the credential for this terminal, so the fix's commands run with `sudo -n` (their
    processes share the terminal). Returns the access that results."""
    sudo = which("sudo")
    if sudo is None:
        return Access("denied", "root is needed, and sudo is not installed")
    print("\nThe fix needs root. sudo asks for your password below "
          "(nothing is shown while you type).", flush=True)
    # Whatever happens here (wrong password, timeout), the check below says where we stand.
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run([sudo, "-v", "-p", "[sudo] password for %p: "], timeout=timeout,
                       check=False, env=_c_locale_env())
    return check_access(True, probe)


def probe_of(plan: dict[str, object]) -> list[str] | None:
    """The command to ask sudo about for a plan: its first one, the one the fix is for."""
    commands = plan.get("commands")
    if isinstance(commands, list) and commands and isinstance(commands[0], list):
        return [str(part) for part in commands[0]]
    return None


def obtain(needs_root: bool, password: str | None = None,
           ask: Callable[[], str | None] | None = ask_on_tty,
           probe: list[str] | None = None) -> RootAccess:
    """Root access for one fix. A password is used (or asked for) only when sudo needs one;
    check `.usable` and `.access.reason` before running anything."""
    access = check_access(needs_root, probe)
    if access.mode != "password":
        return RootAccess(access)
    if password is None and ask is not None:
        password = ask()
    root = RootAccess(access, password)
    if password is None:
        root.access = Access("password", "sudo needs this user's password, and none was given")
    return root
