"""nginx config fixes: point fastcgi_pass where the pool listens, and raise the proxy /
fastcgi buffer sizes when a backend's response header does not fit ("upstream sent too
big header"). Each edits the file at the pass's line, validates the whole config with
`nginx -t -c CONF [-p PREFIX]`, then reloads nginx.

How nginx is reloaded comes from the facts: the distro's service when nginx runs as that
service, else (a master started by hand with -c / -p) `nginx -s reload` with that master's
own -c and -p, as its admin would type it. That reads the pid file the config names when
it runs, so the plan's undo still reaches the master after a binary upgrade or a restart
gave it another pid. It runs inside the server_reload helper, which first checks that the
pid file names a master running this config and afterwards waits for the new workers.
"""

from __future__ import annotations

import os
import re
from typing import Any

import crossplane

from wizard.fixes.base import FixNotApplicable, FixPlan, fix_action, fix_id
from wizard.fixes.config_edit import Change, finish, undo_note
from wizard.fixes.server_reload import instance_conf, nginx_reload_argv
from wizard.fixes.service import manager_for
from wizard.host.facts import Facts
from wizard.host.nginx_config import DEFAULT_BUFFER
from wizard.host.nginx_values import parse_size

BUFFER_KINDS = ("proxy", "fastcgi")
MIN_AUTO_BUFFER = 32 * 1024
BUFFER_COUNT = 8
TOO_BIG_SIGNATURE = "upstream_header_too_big"  # wizard/signatures.py
# A fastcgi_pass address: unix:/path or host:port, nothing nginx would read as syntax.
_TARGET = re.compile(r"^(unix:/[^\s;{}'\"$]+|[A-Za-z0-9_.\-]+:\d{1,5}|\[[0-9A-Fa-f:]+\]:\d{1,5})$")
_WILDCARD = ("*", "0.0.0.0", "[::]", "::")


def nginx_fact(facts: Facts) -> dict[str, Any]:
    nginx = facts.try_get("nginx") or {}
    if not nginx.get("conf_path"):
        raise FixNotApplicable("nginx's configuration was not found")
    return nginx


def validate_argv(nginx: dict[str, Any]) -> list[str]:
    """nginx -t on the whole config (an edited include is only checked through it)."""
    argv = (nginx.get("test") or {}).get("argv")
    if argv:
        return list(argv)
    argv = [nginx.get("binary") or "nginx", "-t", "-c", nginx["conf_path"]]
    prefix = nginx.get("prefix")
    return argv + (["-p", prefix if prefix.endswith("/") else prefix + "/"] if prefix else [])


def reload_commands(facts: Facts, nginx: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """(commands, notes) that make a running nginx load the changed config."""
    if not nginx.get("running"):
        return [], ["nginx is not running: the change is used when it starts."]
    manager = (facts.try_get("system") or {}).get("service_manager", "none")
    by_hand = [i for i in nginx.get("instances") or [] if i.get("c") or i.get("p")]
    ours = [i for i in by_hand if instance_conf(i) == os.path.normpath(nginx["conf_path"])]
    if ours:  # only the master(s) running this very config: others may run beside it
        return (by_hand_reloads(nginx, ours),
                ["This nginx was started by hand, not by a service: it is reloaded with "
                 "`nginx -s reload` and its master's own -c / -p; the step ends when the "
                 "new workers run."])
    if manager == "none" or (by_hand and len(by_hand) == len(nginx.get("instances") or [])):
        raise FixNotApplicable("no running nginx master was found for "
                               f"{nginx['conf_path']}, so it cannot be reloaded")
    # The service's reload (Debian's unit runs `nginx -s reload`) returns once the signal
    # is sent, not when new workers run; the re-check may still meet an old worker then.
    return manager_for(facts).verb("reload", "nginx"), []


def by_hand_reloads(nginx: dict[str, Any], ours: list[dict[str, Any]]) -> list[list[str]]:
    """One `nginx -s reload` per distinct program / -c / -p: during a binary upgrade the
    old and the new master share the config, and the pid file names only the new one."""
    commands: list[list[str]] = []
    for instance in ours:
        program = instance.get("program") or ""
        if not os.path.isabs(program):
            program = nginx.get("binary") or ""
        if not os.path.isabs(program):
            raise FixNotApplicable("the nginx program of the running master was not found, "
                                   "so it cannot be reloaded")
        argv = nginx_reload_argv(program, instance)
        if argv not in commands:
            commands.append(argv)
    return commands


def _int(text: str, what: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise FixNotApplicable(f"not a {what}: {text!r}") from None


def pass_at(nginx: dict[str, Any], file: str, line: int) -> dict[str, Any] | None:
    return next((p for p in nginx.get("passes") or [] if p.get("file") == file
                 and p.get("line") == line), None)


def nginx_target(listen: str) -> str:
    """A PHP-FPM `listen` value (or an nginx address) as fastcgi_pass writes it."""
    value = listen.strip()
    if value.startswith("/"):
        value = "unix:" + value
    elif value.isdigit():
        value = f"127.0.0.1:{value}"
    else:
        host, sep, port = value.rpartition(":")
        if sep and host in _WILDCARD:
            value = f"127.0.0.1:{port}"  # a pool on every address answers on loopback
    if not _TARGET.match(value):
        raise FixNotApplicable(f"{listen!r} is not an address fastcgi_pass can use")
    return value


def _plan(action: str, args: dict[str, str], title: str, facts: Facts,
          nginx: dict[str, Any], change: Change, verify: str) -> FixPlan:
    edits, diff, undo = finish([change])
    commands, notes = reload_commands(facts, nginx)
    return FixPlan(
        id=fix_id(action, args), title=title, commands=commands, needs_root=True,
        undo=[*undo, *commands], diff=diff, edits=edits, validate=[validate_argv(nginx)],
        verify=verify, notes=[*notes, undo_note(undo)],
    )


@fix_action("nginx.set_fastcgi_pass", params=("file", "line", "target"))
def set_fastcgi_pass(args: dict[str, str], facts: Facts) -> FixPlan:
    """Point a fastcgi_pass at the address where the PHP-FPM pool listens."""
    nginx = nginx_fact(facts)
    file, line = args.get("file", ""), _int(args.get("line", ""), "line number")
    target = nginx_target(args.get("target", ""))
    found = pass_at(nginx, file, line)
    if found is None:  # only a line nginx loads, never a file the arguments merely name
        raise FixNotApplicable(f"{file}:{line} is not a fastcgi_pass of the nginx "
                               "configuration that was read; run the diagnosis again")
    if found.get("upstream"):
        raise FixNotApplicable(f"{file}:{line} passes to upstream {found['upstream']}; "
                               "change the server line in that upstream block instead")
    change = Change.of(file)
    text = change.line(line)
    match = re.search(r"\bfastcgi_pass\s+([^;\s]+)", text)
    if not match:
        raise FixNotApplicable(f"{file}:{line} has no fastcgi_pass any more; run the "
                               "diagnosis again")
    change.set_line(line, text[:match.start(1)] + target + text[match.end(1):])
    return _plan("nginx.set_fastcgi_pass", args, f"Point fastcgi_pass at {target} "
                 f"({file}:{line})", facts, nginx, change,
                 f"a PHP-FPM pool listens where fastcgi_pass {target} points")


# -- buffers ---------------------------------------------------------------------------------

def size_text(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)}m"
    return f"{size // 1024}k" if size % 1024 == 0 else str(size)


def choose_pass(nginx: dict[str, Any], kind: str, args: dict[str, str]) -> dict[str, Any]:
    """The pass whose block gets the buffers: at file:line, else the one the log line's
    upstream names, else the only one of that kind."""
    passes = [p for p in nginx.get("passes") or [] if p.get("kind") == kind]
    if args.get("file") and args.get("line"):
        found = pass_at(nginx, args["file"], _int(args["line"], "line number"))
        if found is None or found.get("kind") != kind:
            raise FixNotApplicable(f"no {kind}_pass at {args['file']}:{args['line']}")
        return found
    upstream = (args.get("upstream") or "").strip()
    if upstream and not upstream.startswith("{"):
        named = [p for p in passes if p.get("target") and (p["target"] in upstream or (
            p.get("socket") and p["socket"] in upstream))]
        if len({(p["file"], p["line"]) for p in named}) == 1:
            return named[0]
    if len({(p["file"], p["line"]) for p in passes}) == 1:
        return passes[0]
    if not passes:
        raise FixNotApplicable(f"nginx has no {kind}_pass")
    places = ", ".join(f"{p['file']}:{p['line']}" for p in passes[:5])
    raise FixNotApplicable(f"nginx has several {kind}_pass lines ({places}); say which one "
                           "(file and line)")


def wanted_size(args: dict[str, str], current: int) -> int:
    text = (args.get("size") or "auto").strip()
    if text in ("auto", "") or text.startswith("{"):
        auto = max(MIN_AUTO_BUFFER, current * 2)
        return -(-auto // 4096) * 4096  # whole pages
    size = parse_size(text)
    if not size:
        raise FixNotApplicable(f"not a size nginx understands: {text!r} (e.g. 32k)")
    return size


def block_of(file: str, line: int, directive: str) -> list[dict[str, Any]]:
    """The statements of the block that holds `directive` at `line` (crossplane, this file
    only: an included fragment has no context of its own)."""
    payload = crossplane.parse(file, single=True, check_ctx=False, check_args=False,
                               catch_errors=True, comments=False)
    configs = payload.get("config") or []
    if not configs or configs[0].get("errors"):
        raise FixNotApplicable(f"cannot read the nginx syntax of {file}")

    def search(stmts: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        for stmt in stmts:
            if stmt.get("directive") == directive and stmt.get("line") == line:
                return stmts
            if stmt.get("block") is not None:
                found = search(stmt["block"])
                if found is not None:
                    return found
        return None

    block = search(configs[0].get("parsed") or [])
    if block is None:
        raise FixNotApplicable(f"{file}:{line} has no {directive} any more; run the "
                               "diagnosis again")
    return block


def _set_directive(change: Change, stmt: dict[str, Any], value: str) -> None:
    """Replace the whole line of a one-line directive with the new value."""
    line = change.line(stmt["line"])
    name = stmt["directive"]
    if not re.match(rf"^\s*{name}\s+[^;]*;\s*(#.*)?$", line):
        raise FixNotApplicable(f"{change.path}:{stmt['line']} holds more than {name}; "
                               "change it by hand")
    indent = line[:len(line) - len(line.lstrip())]
    change.set_line(stmt["line"], f"{indent}{name} {value};")


def buffer_change(file: str, line: int, kind: str, size: int) -> Change:
    """Set {kind}_buffer_size to size and make {kind}_buffers big enough for it (nginx
    wants the busy buffers, 2 x size by default, below all buffers minus one)."""
    block = block_of(file, line, f"{kind}_pass")
    change = Change.of(file)
    pass_line = change.line(line)
    indent = pass_line[:len(pass_line) - len(pass_line.lstrip())]
    present = {s["directive"]: s for s in block}
    added: list[str] = []
    buffer_size = present.get(f"{kind}_buffer_size")
    if buffer_size:
        _set_directive(change, buffer_size, size_text(size))
    else:
        added.append(f"{indent}{kind}_buffer_size {size_text(size)};")
    buffers = present.get(f"{kind}_buffers")
    count, each = BUFFER_COUNT, size
    if buffers and len(buffers.get("args") or []) == 2:
        have_n, have_size = _int(buffers["args"][0], "count"), parse_size(buffers["args"][1])
        if have_size and (have_n - 1) * have_size >= 2 * max(size, have_size):
            count, each = have_n, have_size  # already big enough: keep it
    value = f"{count} {size_text(each)}"
    if buffers and " ".join(buffers.get("args") or []) != value:
        _set_directive(change, buffers, value)
    elif not buffers:
        added.append(f"{indent}{kind}_buffers {value};")
    if added:
        _add_to_block(change, line, kind, added)
    return change


def _add_to_block(change: Change, line: int, kind: str, added: list[str]) -> None:
    """New directives go on the lines after the pass, unless its block closes on the same
    line (`location /x { proxy_pass ...; }`): then right after the pass, inside the block."""
    text = change.line(line)
    match = re.search(rf"\b{kind}_pass\s+[^;]*;", text)
    if match and "}" in text[match.end():]:
        inline = " ".join(a.strip() for a in added)
        change.set_line(line, f"{text[:match.end()]} {inline}{text[match.end():]}")
        return
    change.add_after(line, added)


@fix_action("nginx.set_buffer_size", params=("kind", "size"),
            optional=("file", "line", "upstream", "signature"))
def set_buffer_size(args: dict[str, str], facts: Facts) -> FixPlan:
    """Give nginx room for a backend's large response header (proxy_ or fastcgi_
    buffer_size and buffers, in the block of the pass). Optional args: file and line of
    the pass; upstream (the log line's, picks the pass and, with kind=auto, the kind);
    signature (the log's; anything but a too-big header makes the fix not apply)."""
    signature = (args.get("signature") or "").strip()
    if signature and not signature.startswith("{") and signature != TOO_BIG_SIGNATURE:
        raise FixNotApplicable("the error log does not show a too-big response header")
    kind = (args.get("kind") or "auto").strip()
    if kind == "auto":  # from the log line's upstream: fastcgi://... or http(s)://...
        upstream = args.get("upstream") or ""
        kind = "fastcgi" if upstream.startswith("fastcgi://") else (
            "proxy" if upstream.startswith(("http://", "https://")) else kind)
    if kind == "auto":
        raise FixNotApplicable("the log line does not say whether the answer came through "
                               "proxy_pass or fastcgi_pass, so which buffers to raise is "
                               "not known")
    if kind not in BUFFER_KINDS:
        raise FixNotApplicable(f"only the buffers of proxy_pass and fastcgi_pass can be "
                               f"raised here, not those of {kind}_pass")
    nginx = nginx_fact(facts)
    chosen = choose_pass(nginx, kind, args)
    current = int((chosen.get("settings") or {}).get("buffer_size") or DEFAULT_BUFFER)
    size = wanted_size(args, current)
    if size <= current:
        raise FixNotApplicable(f"{kind}_buffer_size is already {size_text(current)} there; "
                               "a bigger value must be chosen by hand")
    change = buffer_change(chosen["file"], chosen["line"], kind, size)
    return _plan("nginx.set_buffer_size", args,
                 f"Raise {kind}_buffer_size to {size_text(size)} "
                 f"({chosen['file']}:{chosen['line']})", facts, nginx, change,
                 f"a response header up to {size_text(size)} fits; requests that failed "
                 "with \"upstream sent too big header\" answer again")
