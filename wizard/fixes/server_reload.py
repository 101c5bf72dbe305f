"""Reload a hand-started nginx or PHP-FPM (one not run by a service) and wait until the
reloaded server really runs, so the step after it (the re-check) sees the new config.

Run as a helper, as root, isolated (see helper_argv):
    python -I -m wizard.fixes.server_reload nginx -- NGINX -s reload -c CONF [-p PREFIX]
        runs that very command, the one an admin types, which signals the master that
        the config's pid file names; then waits until that master runs new workers.
    python -I -m wizard.fixes.server_reload php-fpm CONF
        sends SIGUSR2 (PHP-FPM's graceful reload) to the master that runs CONF, as named
        by the pid file CONF names at this moment (not a pid frozen at plan time; with
        no pid file, the one master whose title names CONF), then waits until it is back
        (a daemonizing master comes back under a new pid: it is followed) and every pool
        of CONF accepts connections again.
Both first check that the pid file names a live master running that config: a stale pid
file whose number now belongs to another process is never signalled.
Exit 0 when the server runs the reloaded config, 1 with one line on stderr when not, 64 on
bad usage. Nothing is changed besides the one signal.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import crossplane
import psutil

from wizard.fixes.helper_argv import helper
from wizard.host.commands import run
from wizard.host.nginx_discover import master_args, parse_build_info
from wizard.host.phpfpm import parse_fpm_config, parse_listen, parse_seconds

MODULE = "server_reload"
POLL = 0.05
NGINX_READY_TIMEOUT = 30.0  # a new worker starts in milliseconds; a failed reload never
NGINX_SIGNAL_TIMEOUT = 30.0  # `nginx -s reload` parses the whole config first
FPM_READY_TIMEOUT = 20.0  # plus the config's process_control_timeout (busy workers)
FPM_MAX_WAIT = 90.0  # stays below the fix recorder's 120 s per command
NGINX_DEFAULT_PID = "logs/nginx.pid"  # nginx's compiled-in default, relative to its prefix
NGINX_DEFAULT_PREFIX = "/usr/local/nginx"
_FPM_MASTER = re.compile(r"^php-fpm: master process \((.*)\)$")
_FPM_WORKER = re.compile(r"^php-fpm: pool (\S+)$")
_ANY_V4 = ("*", "0.0.0.0")
_ANY_V6 = ("::", "[::]")


class ReloadError(Exception):
    """The reload cannot be done or did not finish; str(exc) says why, in one line."""


# -- argv builders (used when planning) ----------------------------------------------------

def instance_conf(instance: dict[str, Any]) -> str | None:
    """The config an nginx master runs: -c, resolved against -p as nginx does."""
    conf = instance.get("c")
    if not conf:
        return None
    if not os.path.isabs(conf) and instance.get("p"):
        conf = os.path.join(instance["p"], conf)
    return os.path.normpath(conf)


def nginx_reload_argv(program: str, instance: dict[str, Any]) -> list[str]:
    """The helper that runs `PROGRAM -s reload -c CONF [-p PREFIX]` for this master."""
    conf = instance_conf(instance)
    if not conf:
        raise ValueError("an nginx master started without -c")
    prefix = ["-p", instance["p"]] if instance.get("p") else []
    return helper(MODULE, "nginx", "--", program, "-s", "reload", "-c", conf, *prefix)


def phpfpm_reload_argv(conf: str) -> list[str]:
    return helper(MODULE, "php-fpm", conf)


# -- shared ----------------------------------------------------------------------------------

def title(proc: psutil.Process) -> str:
    """A process's title as `ps` shows it (nginx and PHP-FPM pad theirs with empty args)."""
    return " ".join(part for part in proc.cmdline() if part).strip()


def read_pid(path: str) -> int:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            text = fh.read(64).strip()
    except OSError as exc:
        raise ReloadError(f"cannot read the pid file {path} ({exc.strerror}): is the server "
                          "running?") from None
    if not text.isdigit() or int(text) <= 1:
        raise ReloadError(f"the pid file {path} holds no usable pid ({text[:20]!r})")
    return int(text)


def process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def children(proc: psutil.Process) -> dict[int, str]:
    """Child pid -> title; a child that exits meanwhile is left out."""
    found: dict[int, str] = {}
    with contextlib.suppress(psutil.Error):
        for child in proc.children():
            with contextlib.suppress(psutil.Error):
                found[child.pid] = title(child)
    return found


def wait_until(ready: Callable[[], str | None], timeout: float) -> str | None:
    """Poll `ready` (None when ready, else what is missing) until it is ready or the
    deadline passes; returns None, or the last thing that was missing."""
    deadline = time.monotonic() + timeout
    missing = ready()
    while missing is not None and time.monotonic() < deadline:
        time.sleep(POLL)
        missing = ready()
    return missing


def accepts(target: str) -> bool:
    """Does `unix:/path` or `host:port` accept a connection right now?"""
    try:
        if target.startswith("unix:"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(target[5:])
        else:
            host, _, port = target.rpartition(":")
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
                pass
    except (OSError, ValueError):
        return False
    return True


# -- nginx -----------------------------------------------------------------------------------

def reload_argv_parts(argv: list[str]) -> tuple[str, str | None]:
    """(conf, prefix) of `NGINX -s reload -c CONF [-p PREFIX]`; anything else is refused,
    so this root helper runs nothing but an nginx reload."""
    if len(argv) < 5 or argv[1:3] != ["-s", "reload"] or not os.path.isabs(argv[0]):
        raise ReloadError("expected: /path/to/nginx -s reload -c CONF [-p PREFIX]")
    options = dict(zip(argv[3::2], argv[4::2]))
    if len(argv[3:]) % 2 or set(options) - {"-c", "-p"} or "-c" not in options:
        raise ReloadError("expected: /path/to/nginx -s reload -c CONF [-p PREFIX]")
    conf = instance_conf({"c": options["-c"], "p": options.get("-p")})
    assert conf is not None
    return conf, options.get("-p")


def _top_level_pid(payload: dict[str, Any], index: int, depth: int = 0) -> str | None:
    """The `pid` directive of the main context (also from a file included there)."""
    configs = payload.get("config") or []
    if index >= len(configs) or depth > 8:
        return None
    for stmt in configs[index].get("parsed") or []:
        if stmt.get("directive") == "pid" and stmt.get("args"):
            return str(stmt["args"][0])
        if stmt.get("directive") == "include":
            for sub in stmt.get("includes") or []:
                found = _top_level_pid(payload, sub, depth + 1)
                if found:
                    return found
    return None


def nginx_pid_file(binary: str, conf: str, prefix: str | None) -> str:
    """The pid file `nginx -s reload` reads: the config's `pid`, else the compiled-in
    --pid-path; a relative one is taken from the prefix (-p, else the compiled one), as
    nginx does. (A `pid` given with -g is not seen: the fix never plans -g.)"""
    payload = crossplane.parse(conf, check_ctx=False, check_args=False, catch_errors=True,
                               comments=False)
    configured = _top_level_pid(payload, 0)
    version = run([binary, "-V"], timeout=10.0).output
    build = parse_build_info(version)
    compiled = re.search(r"--pid-path=(\S+)", version)
    path = configured or (compiled.group(1).strip("'\"") if compiled else NGINX_DEFAULT_PID)
    if os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(prefix or build.prefix or NGINX_DEFAULT_PREFIX, path))


def is_nginx_master_of(proc: psutil.Process, conf: str) -> bool:
    try:
        text = title(proc)
    except psutil.Error:
        return False
    return text.startswith("nginx: master process") and \
        instance_conf(master_args({"cmdline": [text]})) == conf


NGINX_WORKER = "nginx: worker process"


def nginx_workers_missing(now: dict[int, str], before: dict[int, str]) -> str | None:
    """None once a new worker runs and no old one takes new connections. A new worker
    first shows its master's title, then NGINX_WORKER; an old one, told to quit, calls
    itself "... is shutting down" and closes its listening sockets right after (it may
    still finish requests it has), or is gone."""
    if not any(pid not in before and text == NGINX_WORKER for pid, text in now.items()):
        return "no new worker yet"
    accepting = [pid for pid, text in before.items()
                 if text == NGINX_WORKER and now.get(pid) == NGINX_WORKER]
    return f"old worker {accepting[0]} still takes connections" if accepting else None


def nginx_master(argv: list[str]) -> psutil.Process:
    """The master `argv` will signal, checked to be an nginx master running its config."""
    conf, prefix = reload_argv_parts(argv)
    return nginx_master_of(argv[0], conf, prefix)


def nginx_master_of(binary: str, conf: str, prefix: str | None) -> psutil.Process:
    """The live nginx master running `conf`, as named by the pid file that config sets;
    ReloadError when there is none (no pid file, or a stale one)."""
    pid_file = nginx_pid_file(binary, conf, prefix)
    pid = read_pid(pid_file)
    master = process(pid)
    if master is None or not is_nginx_master_of(master, conf):
        raise ReloadError(f"the pid file {pid_file} names pid {pid}, which is not an nginx "
                          f"master running {conf} (a stale pid file?); nothing was signalled")
    return master


def reload_nginx(argv: list[str]) -> str:
    """Run `nginx -s reload ...` and wait until the master's new workers serve; returns
    what happened. nginx -s only sends SIGHUP: the master then reads the config, forks new
    workers and tells the old ones to quit; only the new ones serve the change."""
    master = nginx_master(argv)
    before = children(master)
    result = run(argv, timeout=NGINX_SIGNAL_TIMEOUT)
    if not result.ok:
        last = (result.output.splitlines() or [result.error or ""])[-1]
        raise ReloadError(f"{' '.join(argv[:3])} failed: {last or result.returncode}")

    def ready() -> str | None:
        if not master.is_running():
            raise ReloadError(f"nginx master {master.pid} exited during the reload; "
                              "nginx's error log says why")
        return nginx_workers_missing(children(master), before)

    missing = wait_until(ready, NGINX_READY_TIMEOUT)
    if missing is not None:
        raise ReloadError(f"nginx master {master.pid} did not switch to new workers "
                          f"within {NGINX_READY_TIMEOUT:g}s ({missing}): the reload failed; "
                          "nginx's error log says why")
    return f"nginx master {master.pid} runs new workers with the reloaded config"


# -- PHP-FPM ---------------------------------------------------------------------------------

def runs_fpm_conf(proc: psutil.Process, conf: str) -> bool:
    """Is proc a PHP-FPM master whose title names conf? A relative title path is the
    master's own -y, relative to the folder it was started in."""
    try:
        found = _FPM_MASTER.match(title(proc))
        exe = os.path.basename(proc.exe())
        named = found.group(1) if found else ""
        if named and not os.path.isabs(named):
            named = os.path.join(proc.cwd(), named)
    except psutil.Error:
        return False
    if not found or not exe.startswith("php"):
        return False
    return named == conf or os.path.realpath(named) == os.path.realpath(conf)


def fpm_pid_file(settings: dict[str, Any]) -> str | None:
    """The [global] `pid =` path, when absolute. PHP-FPM resolves a relative one against
    its -p prefix, which its title does not show, so then the master is found by title."""
    path = (settings["global"].get("pid") or "").strip()
    return os.path.normpath(path) if path.startswith("/") else None


def fpm_master(conf: str, pid_file: str | None) -> psutil.Process:
    """The master running conf now: the one its pid file names, verified."""
    if pid_file:
        pid = read_pid(pid_file)
        proc = process(pid)
        if proc is None or not runs_fpm_conf(proc, conf):
            raise ReloadError(f"the pid file {pid_file} names pid {pid}, which is not a "
                              f"php-fpm master running {conf} (a stale pid file?); nothing "
                              "was signalled")
        return proc
    masters = [p for p in psutil.process_iter() if runs_fpm_conf(p, conf)]
    if len(masters) != 1:
        raise ReloadError(f"{conf} names no pid file and {len(masters)} php-fpm masters run "
                          "it, so which one to reload is not clear; nothing was signalled")
    return masters[0]


def fpm_targets(settings: dict[str, Any]) -> dict[str, str]:
    """Pool name -> where it listens, as a client connects to it."""
    targets = {}
    for name, pool in settings["pools"].items():
        values = pool["values"]
        where = parse_listen(values.get("listen"), values.get("prefix"))
        if where["socket"]:
            targets[name] = "unix:" + where["socket"]
        elif where["port"] is not None:
            host = where["host"] or "*"
            host = "127.0.0.1" if host in _ANY_V4 else "[::1]" if host in _ANY_V6 else host
            targets[name] = f"{host}:{where['port']}"
    return targets


def file_state(path: str | None) -> tuple[int, int] | None:
    """What changes when the pid file is written again (PHP-FPM does at every start)."""
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns) if st else None


class FpmReload:
    """One USR2 to a PHP-FPM master and the wait for its return.

    PHP-FPM reloads by ending its workers and exec'ing itself; the pool sockets are
    inherited, so a connect succeeds all along (queued in the backlog) and proves nothing
    alone. A master in the foreground (-F, daemonize = no) keeps its pid; a daemonizing one
    forks again, so the master that comes back has a new pid and the old one exits: it is
    followed through the pid file (or, with none, its title). What marks the new
    generation: the pid file written again (when the config names one), and new workers
    for each pool that starts some (pm static / dynamic; ondemand starts none until a
    request comes, so for those pools only the sockets are checked)."""

    def __init__(self, conf: str) -> None:
        errors: list[str] = []
        self.conf = conf
        self.settings = parse_fpm_config(conf, errors)
        if errors or not self.settings["pools"]:
            raise ReloadError(errors[0] if errors else f"{conf} defines no pool")
        self.pid_file = fpm_pid_file(self.settings)
        self.targets = fpm_targets(self.settings)
        self.spawning = [name for name, pool in self.settings["pools"].items()
                         if (pool["values"].get("pm") or "dynamic") != "ondemand"]
        self.signalled = fpm_master(conf, self.pid_file)
        self.master = self.signalled
        self.before_file = file_state(self.pid_file)
        self.before_children = children(self.signalled)

    def timeout(self) -> float:
        control = parse_seconds(self.settings["global"].get("process_control_timeout"))
        return min(FPM_MAX_WAIT, FPM_READY_TIMEOUT + (control or 0.0))

    def master_now(self) -> psutil.Process | str:
        """The master running the config now, or what is not there yet."""
        if self.pid_file:
            if file_state(self.pid_file) in (None, self.before_file):
                return f"{self.pid_file} is not written again yet"
            try:
                pid = read_pid(self.pid_file)
            except ReloadError as exc:
                return str(exc)
            proc = process(pid)
            return proc if proc and runs_fpm_conf(proc, self.conf) else \
                f"pid {pid} from {self.pid_file} is not a master of {self.conf} yet"
        if self.signalled.is_running():
            return self.signalled
        masters = [p for p in psutil.process_iter() if runs_fpm_conf(p, self.conf)]
        return masters[0] if len(masters) == 1 else f"no single master runs {self.conf} yet"

    def missing(self) -> str | None:
        """None when the reloaded master serves every pool, else what is not there yet."""
        master = self.master_now()
        if isinstance(master, str):
            return master
        self.master = master
        if not runs_fpm_conf(master, self.conf):
            return "the master is still re-executing itself"
        new = [text for pid, text in children(master).items()
               if pid not in self.before_children]
        pools = {m.group(1) for m in map(_FPM_WORKER.match, new) if m}
        waiting = [name for name in self.spawning if name not in pools]
        if waiting:
            return f"no new worker in pool {waiting[0]} yet"
        closed = [f"{name} ({target})" for name, target in self.targets.items()
                  if not accepts(target)]
        return f"pool {closed[0]} does not accept connections" if closed else None

    def run(self) -> str:
        try:
            self.signalled.send_signal(signal.SIGUSR2)  # psutil refuses a reused pid
        except psutil.Error as exc:
            raise ReloadError(f"could not signal php-fpm master {self.signalled.pid}: "
                              f"{exc}") from None
        missing = wait_until(self.missing, self.timeout())
        if missing is not None:
            raise ReloadError(f"php-fpm did not come back from reloading {self.conf} within "
                              f"{self.timeout():g}s ({missing}); its error log says why")
        pools = ", ".join(f"{name} ({target})" for name, target in self.targets.items())
        moved = "" if self.master.pid == self.signalled.pid else \
            f" (it was {self.signalled.pid}: a daemonizing master forks again)"
        return (f"php-fpm master {self.master.pid}{moved} reloaded {self.conf}; pools "
                f"ready: {pools}")


# -- command line ----------------------------------------------------------------------------

def _main(argv: list[str]) -> int:
    try:
        if len(argv) >= 3 and argv[0] == "nginx" and argv[1] == "--":
            print(reload_nginx(argv[2:]))
            return 0
        if len(argv) == 2 and argv[0] == "php-fpm" and os.path.isabs(argv[1]):
            print(FpmReload(argv[1]).run())
            return 0
    except ReloadError as exc:
        print(f"reload failed: {exc}", file=sys.stderr)
        return 1
    print("usage: nginx -- NGINX -s reload -c CONF [-p PREFIX] | php-fpm /path/to/CONF",
          file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
