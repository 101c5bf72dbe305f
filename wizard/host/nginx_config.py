"""Walking a parsed nginx config into the pieces a 502 diagnosis needs.

Pure functions: no file reads besides `parse_config`, which reads the files the way
crossplane does (nginx_tree; crossplane.parse itself under a crossplane version nginx_tree
was not checked against).
Each included file is read as a separate list with `include` statements marked by
indices; `_assemble` inlines them again while every directive keeps its own file and
line, so a finding can always point at `file:line`.

Inheritance follows nginx: a directive set in http applies to every server and location
below unless a lower level sets it again. Array directives (fastcgi_param,
proxy_set_header) are inherited only when the lower level sets none of its own.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import crossplane

from wizard.host import nginx_lexer
from wizard.host.nginx_directive import Directive
from wizard.host.nginx_directive import IncludeMark as _IncludeMark
from wizard.host.nginx_tree import follows_installed_crossplane, read_tree
from wizard.host.nginx_values import parse_size, parse_time
from wizard.host.shared_keys import RecordShape
from wizard.socket_path import single_leading_slash

MAX_CONF_BYTES = 16 * 1024 * 1024
FRESH_SECONDS = 2.0  # a parse of files changed more recently than this is not kept
# (ctime, mtime, size, inode) of each file and folder a parse read; None: gone
Signature = tuple[Optional[tuple[int, int, int, int]], ...]
PASS_KINDS = {"fastcgi_pass": "fastcgi", "proxy_pass": "proxy", "uwsgi_pass": "uwsgi",
              "scgi_pass": "scgi", "grpc_pass": "grpc"}
DEFAULT_TIMEOUT = 60.0
DEFAULT_BUFFER = 4096  # one memory page on the usual platforms
DEFAULT_PORTS = {"http": 80, "https": 443, "grpc": 80, "grpcs": 443, "uwsgi": None,
                 "suwsgi": None}
PARAM_DIRECTIVES = {"fastcgi": "fastcgi_param", "uwsgi": "uwsgi_param", "scgi": "scgi_param",
                    "proxy": "proxy_set_header", "grpc": "grpc_set_header"}
SSL_VERIFY = {"proxy": "proxy_ssl_verify", "grpc": "grpc_ssl_verify",
              "uwsgi": "uwsgi_ssl_verify"}
@dataclass
class ParsedConfig:
    root: list[Directive]
    files: list[str]
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Files and folders whose change would change the parse: every file read, the folders
    # that hold them and the folders that include globs look in.
    watched: list[str] = field(default_factory=list)


# -- reading -------------------------------------------------------------------------------
nginx_lexer.install()  # crossplane's parse (when used), with a lexer fast enough for 10,000 files
_parse_lock = threading.Lock()
_last_parse: tuple[str, Signature, ParsedConfig] | None = None


def unreadable_reason(path: str) -> str | None:
    """Plain reason why a config file cannot be parsed, or None when it looks fine."""
    try:
        # os.stat, not os.path.exists: a file in a folder we may not enter (/etc/nginx
        # 0700) exists; only its stat is refused, and that is the reason to give.
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return f"{path} is not a regular file"
        if info.st_size > MAX_CONF_BYTES:
            limit = MAX_CONF_BYTES // (1024 * 1024)
            return f"{path} is larger than {limit} MB; not an nginx config"
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except FileNotFoundError:
        return f"{path} does not exist"
    except PermissionError:
        return f"{path} is not readable by this user (permission denied); run as root"
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror}"
    if b"\0" in head:
        return f"{path} is a binary file, not an nginx config"
    return None


def parse_config(path: str) -> ParsedConfig:
    """Parse the whole config as crossplane does, inlining includes (globs resolved, sorted).

    The last parse is kept while no file or folder it read has changed: the nginx and
    access-log facts both need it, and a host with thousands of included files should
    not pay for the parse twice. Callers must not change the tree they get."""
    global _last_parse
    path = os.path.abspath(path)
    with _parse_lock:
        if _last_parse and _last_parse[0] == path and \
                _last_parse[1] == _signature(_last_parse[2].watched):
            return _last_parse[2]
        parsed = _parse_now(path)
        signature = _signature(parsed.watched)
        fresh = time.time() - FRESH_SECONDS
        # A file written this very second may change again within the mtime's resolution.
        settled = all(s is None or s[0] / 1e9 < fresh for s in signature)
        _last_parse = (path, signature, parsed) if settled and parsed.files else None
        return parsed


def _parse_now(path: str) -> ParsedConfig:
    reason = unreadable_reason(path)
    if reason:
        return ParsedConfig([], [], [{"file": path, "line": None, "error": reason}])
    # crossplane's context and argument checks catch an unterminated directive before a
    # '}'; where its tables lag behind nginx, nginx -t (the authority) still decides.
    if follows_installed_crossplane():  # its parse, straight into Directives
        tree = read_tree(path)
        return _assemble(tree.files, tree.blocks, tree.errors, tree.folders)
    payload = crossplane.parse(path, catch_errors=True, check_ctx=True, check_args=True)
    return payload_to_config(payload)


def _signature(paths: list[str]) -> Signature:
    """(ctime, mtime, size, inode) of each path (ctime also moves on chmod and chown);
    None for one that is gone."""
    found: list[tuple[int, int, int, int] | None] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            found.append(None)
            continue
        found.append((st.st_ctime_ns, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(found)


def payload_to_config(payload: dict[str, Any]) -> ParsedConfig:
    """crossplane's payload as Directives with include statements replaced by their files.

    Each file's statements become Directives and crossplane's dicts for that file are let
    go at once (the payload is emptied as it is read): on 5,000 files the two trees side
    by side were the process's peak of memory."""
    configs = payload.get("config") or []
    files = [c["file"] for c in configs]
    base = os.path.dirname(files[0]) if files else ""
    folders: dict[str, None] = {}
    converted = []
    for conf in configs:
        stmts = conf.pop("parsed", None) or []
        converted.append(_convert(stmts, conf["file"], base, folders))
        del stmts
    return _assemble(files, converted, payload.get("errors") or [], folders)


def _assemble(files: list[str], blocks: list[list[Directive]], errors: list[dict[str, Any]],
              folders: dict[str, None]) -> ParsedConfig:
    """The whole config from each file's directives (includes still marked) and crossplane's
    errors."""
    plain = [{"file": e.get("file"), "line": e.get("line"), "error": _plain_error(e)}
             for e in errors]
    root = _inline(blocks, 0, ()) if blocks else []
    folders.update(dict.fromkeys(os.path.dirname(f) for f in files))
    # Every file read, its folder, and the folder of every include pattern.
    return ParsedConfig(root, files, plain, files + list(folders))


def _plain_error(err: dict[str, Any]) -> str:
    text = str(err.get("error", "unknown error"))
    # "[Errno 13] Permission denied: '/x'" -> "permission denied: /x"
    m = re.match(r"\[Errno \d+\] (.*?): '(.*)'$", text)
    return f"{m.group(2)}: {m.group(1).lower()}" if m else text


def _convert(stmts: list[dict[str, Any]], file: str, base: str,
             folders: dict[str, None]) -> list[Directive]:
    """One file's statements; an include statement becomes an _IncludeMark and its
    pattern's folder is noted in `folders`."""
    out: list[Directive] = []
    for stmt in stmts:
        args = stmt.get("args") or []
        if stmt.get("directive") == "include" and args:
            folders[os.path.dirname(os.path.join(base, args[0]))] = None
        if stmt.get("directive") == "include" and "includes" in stmt:
            out.append(_IncludeMark(stmt["includes"], file, int(stmt.get("line") or 0)))
            continue
        block = stmt.get("block")
        out.append(Directive(
            stmt["directive"], args, file, int(stmt.get("line") or 0),
            _convert(block, file, base, folders) if block is not None else None))
    return out


def _inline(files: list[list[Directive]], index: int,
            stack: tuple[int, ...]) -> list[Directive]:
    """The directives of files[index] with includes replaced by their files' directives."""
    if index in stack:  # a file including itself would loop forever; nginx stops too
        return []
    return _splice(files[index], files, (*stack, index))


def _splice(block: list[Directive], files: list[list[Directive]],
            stack: tuple[int, ...]) -> list[Directive]:
    """block with its includes put in place, at any depth; block itself when it has none
    (a file included twice is then shared, never changed in place)."""
    out: list[Directive] = []
    changed = False
    for d in block:
        if isinstance(d, _IncludeMark):
            changed = True
            for idx in d.indices:
                if 0 <= idx < len(files):
                    out.extend(_inline(files, idx, stack))
            continue
        if d.block:
            inner = _splice(d.block, files, stack)
            if inner is not d.block:
                changed = True
                d = Directive(d.name, d.args, d.file, d.line, inner)
        out.append(d)
    return out if changed else block


# -- scopes and inheritance ------------------------------------------------------------------
class Scope:
    """A chain of blocks, innermost last (http, server, location, if...), for lookups."""

    def __init__(self, blocks: list[Directive]) -> None:
        self.blocks = blocks

    def inner(self, block: Directive) -> Scope:
        return Scope([*self.blocks, block])

    def value(self, name: str) -> Directive | None:
        """The directive in effect: the innermost block that sets it."""
        for block in reversed(self.blocks):
            found = block.first(name)
            if found is not None:
                return found
        return None

    def array(self, name: str) -> list[Directive]:
        """Array directives: all entries of the innermost block that has any."""
        for block in reversed(self.blocks):
            found = block.find(name)
            if found:
                return found
        return []


def main_block(root: list[Directive]) -> Directive:
    return Directive("main", [], "", 0, root)


def blocks_named(block: Directive, name: str) -> list[Directive]:
    return [d for d in block.block or [] if d.name == name and d.block is not None]


def http_blocks(root: list[Directive]) -> list[Directive]:
    return blocks_named(main_block(root), "http")


def resolve_path(path: str, prefix: str | None) -> str:
    """nginx resolves relative paths (root, error_log) against the prefix."""
    if os.path.isabs(path) or not prefix or "$" in path[:1]:
        return path
    return os.path.join(prefix, path)


# -- servers and listen ------------------------------------------------------------------------
def parse_listen(args: list[str]) -> dict[str, Any]:
    """`listen 127.0.0.1:8080 default_server ssl` -> address, port and flags."""
    spec = args[0] if args else ""
    flags = args[1:]
    address: str = "*"
    port: int | None = None
    if spec.startswith("unix:"):
        address = spec
    elif spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        address = f"[{host}]"
        port = _int(rest.lstrip(":")) if rest.startswith(":") else 80
    elif spec.isdigit():
        port = int(spec)
    elif ":" in spec:
        host, _, port_text = spec.rpartition(":")
        address = host or "*"
        port = _int(port_text)
    else:
        address = spec  # a bare address listens on port 80
        port = 80
    return {
        "address": address, "port": port,
        "default_server": "default_server" in flags or "default" in flags,
        "ssl": "ssl" in flags, "raw": " ".join(args),
    }


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


IMPLICIT_LISTEN = {"address": "*", "port": 80, "default_server": False, "ssl": False,
                   "raw": "", "implicit": True}


def effective_root(scope: Scope, prefix: str | None) -> str:
    found = scope.value("root")
    return resolve_path(found.args[0] if found and found.args else "html", prefix)


def shared(values: dict[Any, Any], key: Any, value: Any) -> Any:
    """One object for equal values: 5,000 servers on one address have one listen dict and
    their 15,000 passes a few settings dicts, not one each (facts are never changed)."""
    return values.setdefault(key, value)


def server_info(server: Directive, scope: Scope, prefix: str | None,
                same: dict[Any, Any] | None = None) -> dict[str, Any]:
    same = {} if same is None else same
    listens = [shared(same, ("listen", *d.args), parse_listen(d.args))
               for d in server.find("listen")]
    names: list[str] = []
    for d in server.find("server_name"):
        names.extend(d.args)
    index = scope.value("index")
    return {
        "file": server.file, "line": server.line,
        # With no listen directive nginx listens on *:80 (when started as root).
        "listen": listens or [shared(same, "implicit listen", dict(IMPLICIT_LISTEN))],
        "server_names": names,
        "root": effective_root(scope, prefix),
        "index": list(index.args) if index else ["index.html"],
        # Where this site's errors go when it has its own error_log (per-vhost logs).
        "error_logs": [_log_target(d.args[0], prefix) for d in server.find("error_log")
                       if d.args],
    }


def http_servers(root: list[Directive]) -> list[tuple[Directive, Scope]]:
    """Every http server block with the scope it lives in."""
    found = []
    for http in http_blocks(root):
        for server in blocks_named(http, "server"):
            found.append((server, Scope([http, server])))
    return found


# -- passes (fastcgi_pass, proxy_pass...) -----------------------------------------------------
def parse_target(kind: str, target: str, upstream_names: set[str]) -> dict[str, Any]:
    """Split a *_pass target into scheme, host, port, unix socket and upstream name."""
    info: dict[str, Any] = {"scheme": None, "host": None, "port": None, "socket": None,
                            "upstream": None, "uses_variables": "$" in target}
    rest = target
    m = re.match(r"^([a-z]+)://(.*)$", target)
    # `uwsgi_pass unix:///tmp/app.sock;` (as uWSGI's docs write it) names the socket
    # '///tmp/app.sock': "unix" is no scheme
    if m and m.group(1) != "unix":
        info["scheme"], rest = m.group(1), m.group(2)
    if rest.startswith("unix:"):
        sock = rest[len("unix:"):]
        if info["scheme"] in ("http", "https"):
            sock = sock.split(":", 1)[0]  # proxy_pass http://unix:/path:/uri
        info["socket"] = single_leading_slash(sock)
        return info
    hostport = re.split(r"[/?]", rest, maxsplit=1)[0]
    if "$" in hostport:
        # 'http://127.0.0.1:8080$request_uri' still names a fixed host and port;
        # 'http://$backend' or 'http://app$suffix' does not.
        literal = hostport.split("$", 1)[0]
        if not re.fullmatch(r"(\[[^]]+\]|[^:\[]+):\d+", literal):
            return info
        hostport = literal
    host, port = _split_hostport(hostport)
    info["host"] = host
    if host in upstream_names and port is None:
        info["upstream"] = host
        return info
    if port is None and info["scheme"]:
        port = DEFAULT_PORTS.get(info["scheme"])
    info["port"] = port
    return info


def _split_hostport(text: str) -> tuple[str | None, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, _int(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host or None, _int(port)
    return text or None, None


def pass_settings(kind: str, scope: Scope) -> dict[str, Any]:
    """Effective timeouts (seconds), buffer size (bytes), TLS verify and params."""
    return _pass_settings(kind, scope.value, scope.array(PARAM_DIRECTIVES[kind]))


def _pass_settings(kind: str, value: Callable[[str], Directive | None],
                   entries: Sequence[Directive]) -> dict[str, Any]:
    """pass_settings from the directive in effect for each name and the params' entries."""
    def seconds(name: str) -> float:
        found = value(f"{kind}_{name}")
        parsed = parse_time(found.args[0]) if found and found.args else None
        return parsed if parsed is not None else DEFAULT_TIMEOUT

    buffer = value(f"{kind}_buffer_size")
    size = parse_size(buffer.args[0]) if buffer and buffer.args else None
    verify = value(SSL_VERIFY[kind]) if kind in SSL_VERIFY else None
    params: dict[str, str] = {}
    for d in entries:
        if d.args:
            params[d.args[0]] = " ".join(d.args[1:2])
    return {
        "read_timeout": seconds("read_timeout"),
        "connect_timeout": seconds("connect_timeout"),
        "send_timeout": seconds("send_timeout"),
        "buffer_size": size if size is not None else DEFAULT_BUFFER,
        "ssl_verify": bool(verify and verify.args and verify.args[0] == "on"),
        "params": params,
    }


# Every name _pass_settings and effective_root look up, by kind of pass (root: "root").
SETTING_NAMES = {kind: tuple(f"{kind}_{name}" for name in (
    "read_timeout", "connect_timeout", "send_timeout", "buffer_size"))
    + ((SSL_VERIFY[kind],) if kind in SSL_VERIFY else ()) for kind in PARAM_DIRECTIVES}
_VALUE_NAMES = frozenset(["root", *(n for names in SETTING_NAMES.values() for n in names)])
_ARRAY_NAMES = frozenset(PARAM_DIRECTIVES.values())


class InEffect:
    """The directives passes() reads, as in effect in one block (nginx's inheritance):
    for a setting the innermost block's last one, for params the innermost block's entries.
    Worked out once per block, instead of a lookup through the scope per setting per pass;
    a block that sets none of them shares its parent's, and so its settings too."""

    __slots__ = ("found", "settings")

    def __init__(self, found: dict[str, Any]) -> None:
        self.found = found
        self.settings: dict[str, dict[str, Any]] = {}  # by kind of pass

    def inner(self, block: Directive) -> InEffect:
        own: dict[str, Any] = {}
        for d in block.block or []:
            if d.name in _VALUE_NAMES:
                own[d.name] = d
            elif d.name in _ARRAY_NAMES:
                own.setdefault(d.name, []).append(d)
        return InEffect({**self.found, **own}) if own else self

    def root(self, prefix: str | None) -> str:
        found = self.found.get("root")
        return resolve_path(found.args[0] if found and found.args else "html", prefix)


def _settings_of(kind: str, effect: InEffect, same: dict[Any, Any]) -> dict[str, Any]:
    """The pass settings in effect, one dict for equal settings (see shared)."""
    settings = effect.settings.get(kind)
    if settings is None:
        found = effect.found
        made = _pass_settings(kind, found.get, found.get(PARAM_DIRECTIVES[kind]) or ())
        key = ("settings", *((k, tuple(v.items()) if isinstance(v, dict) else v)
                             for k, v in made.items()))
        settings = effect.settings[kind] = shared(same, key, made)
    return settings


def _walk_locations(block: Directive, effect: InEffect, location: str | None,
                    ) -> Iterator[tuple[Directive, InEffect, str | None]]:
    """Every directive below block with the settings in effect and the enclosing
    location."""
    for d in block.block or []:
        if d.block is None:
            yield d, effect, location
        elif d.name in ("location", "if", "limit_except"):
            name = " ".join(d.args) if d.name == "location" else location
            yield from _walk_locations(d, effect.inner(d), name)


_PASS = RecordShape("nginx_pass")  # 15,000 passes on a big host: one key table


def passes(root: list[Directive], prefix: str | None, upstream_names: set[str],
           same: dict[Any, Any] | None = None) -> list[dict[str, Any]]:
    same = {} if same is None else same
    found = []
    targets: dict[tuple[str, str], dict[str, Any]] = {}  # parse_target's, once per target
    index = -1  # the server's place among all http servers
    for http in http_blocks(root):
        in_http = InEffect({}).inner(http)
        for server in blocks_named(http, "server"):
            index += 1
            names = [a for d in server.find("server_name") for a in d.args]
            for d, effect, location in _walk_locations(server, in_http.inner(server), None):
                kind = PASS_KINDS.get(d.name)
                if kind is None or not d.args:
                    continue
                target = d.args[0]
                parsed = targets.get((kind, target))
                if parsed is None:
                    parsed = targets[kind, target] = parse_target(kind, target, upstream_names)
                found.append(_PASS.make({
                    "kind": kind, "target": target, **parsed,
                    "server_index": index, "server_names": names,
                    "location": sys.intern(location) if location is not None else None,
                    "root": effect.root(prefix),
                    "file": d.file, "line": d.line,
                    "settings": _settings_of(kind, effect, same),
                }))
    return found


# -- upstreams, error logs, main settings ---------------------------------------------------
def upstream_server(args: list[str]) -> dict[str, Any]:
    address = args[0] if args else ""
    params = args[1:]
    info: dict[str, Any] = {"address": address, "host": None, "port": None, "socket": None,
                            "params": params, "backup": "backup" in params,
                            "down": "down" in params}
    if address.startswith("unix:"):
        info["socket"] = single_leading_slash(address[len("unix:"):])
    else:
        host, port = _split_hostport(address)
        info["host"], info["port"] = host, port if port is not None else 80
    return info


def upstreams(root: list[Directive]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for http in http_blocks(root):
        for block in blocks_named(http, "upstream"):
            if not block.args:
                continue
            found[block.args[0]] = {
                "file": block.file, "line": block.line,
                "servers": [upstream_server(d.args) for d in block.find("server")],
            }
    return found


CONTEXT_NAMES = {"main": "main", "http": "http", "server": "server", "location": "location",
                 "if": "location", "stream": "stream", "mail": "mail"}


def error_logs(root: list[Directive], prefix: str | None,
               compiled_default: str | None) -> list[dict[str, Any]]:
    """Every error_log directive at every level; the compiled default when main sets none."""
    found: list[dict[str, Any]] = []

    def visit(block: Directive, context: str) -> None:
        for d in block.block or []:
            if d.name == "error_log" and d.args:
                found.append(_error_log_entry(d, context, prefix))
            elif d.block is not None:
                visit(d, CONTEXT_NAMES.get(d.name, context))

    main = main_block(root)
    visit(main, "main")
    if not any(e["context"] == "main" for e in found):
        target = compiled_default or "logs/error.log"
        found.insert(0, {"target": _log_target(target, prefix), "level": "error",
                         "file": None, "line": None, "context": "main", "implicit": True})
    return found


def _log_target(target: str, prefix: str | None) -> str:
    if target == "stderr" or ":" in target.split("/", 1)[0]:
        return target  # stderr, syslog:server=..., memory:32m
    return resolve_path(target, prefix)


def _error_log_entry(d: Directive, context: str, prefix: str | None) -> dict[str, Any]:
    return {"target": _log_target(d.args[0], prefix),
            "level": d.args[1] if len(d.args) > 1 else "error",
            "file": d.file, "line": d.line, "context": context}


def main_value(root: list[Directive], name: str) -> Directive | None:
    return main_block(root).first(name)


def events_value(root: list[Directive], name: str) -> Directive | None:
    for events in blocks_named(main_block(root), "events"):
        found = events.first(name)
        if found is not None:
            return found
    return None


def summarize(parsed: ParsedConfig, prefix: str | None,
              compiled_error_log: str | None) -> dict[str, Any]:
    """The config part of the nginx fact (servers, passes, upstreams, logs, workers)."""
    root = parsed.root
    ups = upstreams(root)
    user = main_value(root, "user")
    conns = events_value(root, "worker_connections")
    rlimit = main_value(root, "worker_rlimit_nofile")
    procs = main_value(root, "worker_processes")
    same: dict[Any, Any] = {}
    return {
        "files": parsed.files,
        "configured_user": user.args[0] if user and user.args else None,
        "error_logs": error_logs(root, prefix, compiled_error_log),
        "servers": [server_info(s, scope, prefix, same) for s, scope in http_servers(root)],
        "passes": passes(root, prefix, set(ups), same),
        "upstreams": ups,
        "worker_connections": _int(conns.args[0]) if conns and conns.args else None,
        "worker_rlimit_nofile": _int(rlimit.args[0]) if rlimit and rlimit.args else None,
        "worker_processes": procs.args[0] if procs and procs.args else None,
    }
