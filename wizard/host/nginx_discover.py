"""Finding nginx: its binary, build settings (`nginx -V`), running instances and the config
they use, and what `nginx -t` says about that config."""

from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass
from typing import Any

from wizard.host.commands import run, which

DEFAULT_CONF = "/etc/nginx/nginx.conf"
VERSION_TIMEOUT = 10.0
TEST_TIMEOUT = 20.0  # nginx -t resolves upstream host names; slow DNS must not hang us


@dataclass
class BuildInfo:
    """What `nginx -V` says: version and compiled-in paths."""

    version: str | None = None
    prefix: str | None = None
    conf_path: str | None = None
    error_log_path: str | None = None
    user: str | None = None


def parse_build_info(text: str) -> BuildInfo:
    info = BuildInfo()
    m = re.search(r"nginx version: \S+?/(\S+)", text)
    if m:
        info.version = m.group(1)
    for key, attr in (("prefix", "prefix"), ("conf-path", "conf_path"),
                      ("error-log-path", "error_log_path"), ("user", "user")):
        m = re.search(rf"--{key}=(\S+)", text)
        if m:
            setattr(info, attr, m.group(1).strip("'\""))
    if info.prefix and info.conf_path and not os.path.isabs(info.conf_path):
        info.conf_path = os.path.join(info.prefix, info.conf_path)
    return info


def build_info(binary: str | None) -> BuildInfo:
    if binary is None:
        return BuildInfo()
    result = run([binary, "-V"], timeout=VERSION_TIMEOUT)
    return parse_build_info(result.output)


def find_binary(masters: list[dict[str, Any]]) -> str | None:
    """The running master's program when it names one, else nginx on PATH or in sbin."""
    for master in masters:
        args = master_args(master)
        program = args.get("program")
        if program and os.path.isabs(program) and os.access(program, os.X_OK):
            return program
    return which("nginx")


# -- running instances -------------------------------------------------------------------
def _joined(proc: dict[str, Any]) -> str:
    return " ".join(proc.get("cmdline") or [])


def is_master(proc: dict[str, Any]) -> bool:
    return "nginx: master process" in _joined(proc)


def is_worker(proc: dict[str, Any]) -> bool:
    text = _joined(proc)
    return text.startswith("nginx: worker process") or text.startswith("nginx: cache ")


def masters_and_workers(processes: list[dict[str, Any]],
                        ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    masters = sorted((p for p in processes if is_master(p)), key=lambda p: p["pid"])
    master_pids = {p["pid"] for p in masters}
    workers = [p for p in processes if is_worker(p) and p.get("ppid") in master_pids]
    return masters, workers


def master_args(master: dict[str, Any]) -> dict[str, str]:
    """-c / -p / program from a master's title, e.g.
    'nginx: master process /usr/sbin/nginx -p /srv/x/ -c conf/nginx.conf'.
    nginx rewrites its argv into one string, so split it again; -g's value (which contains
    spaces and semicolons) is skipped."""
    text = _joined(master)
    text = text.split("master process", 1)[1] if "master process" in text else text
    words = text.split()
    found: dict[str, str] = {}
    if words and not words[0].startswith("-"):
        found["program"] = words[0]
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-c", "-p") and i + 1 < len(words):
            found[word[1]] = words[i + 1]
            i += 2
            continue
        if word.startswith(("-c", "-p")) and len(word) > 2 and word[1] in "cp":
            found[word[1]] = word[2:]  # nginx also accepts -cFILE
        if word == "-g":
            break
        i += 1
    return found


@dataclass
class ConfChoice:
    conf_path: str
    prefix: str | None
    source: str  # option | process | nginx -V | default


def choose_conf(option: str | None, masters: list[dict[str, Any]],
                build: BuildInfo) -> ConfChoice:
    """Discovery order: --nginx-conf, a running master's -c/-p, nginx -V, the Debian default."""
    if option:
        conf = os.path.abspath(option)
        # A master already running this file knows its prefix better than the build does.
        prefix = next((c.prefix for c in map(lambda m: _master_choice(m, build), masters)
                       if c and c.conf_path == conf), build.prefix)
        return ConfChoice(conf, prefix, "option")
    for master in masters:
        choice = _master_choice(master, build)
        if choice:
            return choice
    if build.conf_path:
        return ConfChoice(build.conf_path, build.prefix, "nginx -V")
    return ConfChoice(DEFAULT_CONF, build.prefix, "default")


def _master_choice(master: dict[str, Any], build: BuildInfo) -> ConfChoice | None:
    args = master_args(master)
    prefix = args.get("p") or build.prefix
    conf = args.get("c") or build.conf_path
    if not conf:
        return None
    if not os.path.isabs(conf) and prefix:
        conf = os.path.join(prefix, conf)  # nginx resolves -c against the prefix
    return ConfChoice(os.path.normpath(conf), prefix, "process")


# -- nginx -t ------------------------------------------------------------------------------
_LEVEL = re.compile(r"\[(emerg|alert|crit|error|warn|notice|info)\]\s+(?:\d+#\d+:\s+)?(.*)$")
_WHERE = re.compile(r"^(.*) in (\S+):(\d+)$")


def test_messages(output: str) -> list[dict[str, Any]]:
    """Each [level] line of nginx -t output with the message and file:line it names."""
    found = []
    for raw in output.splitlines():
        m = _LEVEL.search(raw)
        if not m:
            continue
        message = m.group(2).strip()
        where = _WHERE.match(message)
        found.append({
            "level": m.group(1),
            "message": where.group(1) if where else message,
            "file": where.group(2) if where else None,
            "line": int(where.group(3)) if where else None,
            "text": raw.strip(),
        })
    return found


FATAL = ("emerg", "alert", "crit")


def needs_root_only(messages: list[dict[str, Any]]) -> bool:
    """True when every fatal message is a permission denial that root would not get."""
    fatal = [m for m in messages if m["level"] == "emerg"]
    return bool(fatal) and all("(13: Permission denied)" in m["message"] for m in fatal)


def test_config(binary: str | None, conf: str, prefix: str | None,
                is_root: bool) -> dict[str, Any]:
    """Run `nginx -t` on conf; ok None (with a reason) when it cannot tell."""
    argv = [binary or "nginx", "-t", "-c", conf]
    if prefix:
        argv += ["-p", prefix if prefix.endswith("/") else prefix + "/"]
    base: dict[str, Any] = {"ok": None, "output": "", "argv": argv, "reason": None,
                            "returncode": None, "message": None, "file": None, "line": None,
                            "messages": []}
    if binary is None:
        return {**base, "reason": "nginx is not installed, so its config cannot be tested"}
    result = run(argv, timeout=TEST_TIMEOUT)
    output = result.output
    messages = test_messages(output)
    base.update(output=output, returncode=result.returncode, messages=messages)
    if result.returncode is None:
        return {**base, "reason": f"nginx -t did not finish: {result.error}"}
    if result.ok:
        return {**base, "ok": True}
    first = next((m for m in messages if m["level"] in FATAL), None)
    if first:
        base.update(message=first["message"], file=first["file"], line=first["line"])
    elif result.returncode < 0:  # nginx 1.22 recurses until it overflows on an include loop
        base.update(message=f"nginx -t crashed ({_signal_name(-result.returncode)}) without "
                            "a message; a config that includes itself (an include loop) "
                            "does this")
    if not is_root and needs_root_only(messages):
        return {**base, "reason": (
            "nginx -t needs root here: as this user it may not open "
            f"{_denied_paths(messages)}; run the wizard with sudo to test the config fully")}
    return {**base, "ok": False}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _denied_paths(messages: list[dict[str, Any]]) -> str:
    paths = []
    for m in messages:
        found = re.search(r'"([^"]+)" failed \(13: Permission denied\)', m["message"])
        if found and found.group(1) not in paths:
            paths.append(found.group(1))
    return ", ".join(paths) or "some files"
