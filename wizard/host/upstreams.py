"""Facts `upstream_probes`: can nginx reach every address its `*_pass` directives name?

For each target (a pass, or every server of the `upstream {}` block it names) we try what
nginx's worker would do: look at the unix socket file and whether the worker user may
open it, connect (unix or TCP, only to the configured addresses), and then ask the peer a
question in its own protocol: a FastCGI request for PHP-FPM targets, a TLS handshake for
https ones. Every step has a timeout, so a dead peer costs seconds, not minutes.
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wizard.compat import SOCKET_TIMEOUTS
from wizard.host import fastcgi
from wizard.host.facts import Facts, fact
from wizard.host.nginx_part import config_part
from wizard.host.phpfpm import pool_for_target
from wizard.host.shared_keys import RecordShape

PROBE_TIMEOUT = 3.0  # per step; nginx waits up to 60s, a diagnosis should not
TLS_SCHEMES = ("https", "grpcs", "suwsgi")
DEFAULT_PORTS = {"http": 80, "https": 443, "grpc": 80, "grpcs": 443}
MAX_ADDRESSES = 4  # a name resolving to many addresses: nginx tries each; we try a few
# Run in a child process as the worker user: the kernel, not our reading of the mode bits,
# then says whether that user may connect (this also honours POSIX ACLs).
CONNECT_AS_CODE = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[2]))
try:
    s.connect(sys.argv[1])
    print("ok")
except PermissionError:
    print("permission")
except ConnectionRefusedError:
    print("refused")
except FileNotFoundError:
    print("missing")
except OSError as e:
    print("timeout" if isinstance(e, (TimeoutError, socket.timeout)) else "error")
"""


# -- targets ----------------------------------------------------------------------------------

def expand_targets(nginx: dict[str, Any]) -> list[dict[str, Any]]:
    """Every address nginx may connect to: one per pass, or one per server of the named
    upstream block. `skip` says why a target cannot be probed (variables, marked down)."""
    return list(iter_targets(nginx))


def iter_targets(nginx: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """expand_targets one at a time: 20,000 passes need not all be held at once."""
    upstreams = nginx.get("upstreams") or {}
    for index, p in enumerate(nginx.get("passes") or []):
        scheme = p.get("scheme")
        base = {"pass_index": index, "kind": p.get("kind"), "target": p.get("target"),
                "scheme": scheme, "upstream": None, "socket": p.get("socket"),
                "host": p.get("host"), "port": p.get("port"), "file": p.get("file"),
                "line": p.get("line"), "settings": p.get("settings") or {}, "skip": None}
        if p.get("uses_variables"):
            yield {**base, "skip": "the address contains variables ($...), so it is "
                                   "only known per request"}
        elif p.get("upstream") and p["upstream"] in upstreams:
            for number, server in enumerate(upstreams[p["upstream"]].get("servers") or []):
                yield {
                    **base, "upstream": p["upstream"], "server_index": number,
                    "target": server.get("address"),
                    "socket": server.get("socket"), "host": server.get("host"),
                    "port": server.get("port") or DEFAULT_PORTS.get(scheme or ""),
                    "skip": "marked down in the upstream block" if server.get("down") else None,
                }
        else:
            if not base["socket"] and base["port"] is None:
                base["port"] = DEFAULT_PORTS.get(scheme or "")
            yield base


# -- helpers ------------------------------------------------------------------------------------

def classify(exc: BaseException) -> tuple[str, str]:
    """(connect result, plain words) for a socket error."""
    if isinstance(exc, FileNotFoundError):
        return "missing", "the socket file does not exist"
    if isinstance(exc, PermissionError):
        return "permission", "permission denied"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused (nothing listens there)"
    if isinstance(exc, SOCKET_TIMEOUTS):
        return "timeout", "no answer within the time limit"
    if isinstance(exc, socket.gaierror):
        return "unresolved", f"the name does not resolve ({exc.strerror})"
    if isinstance(exc, BlockingIOError):
        return "error", "the listen queue is full (the upstream is too busy to accept)"
    if isinstance(exc, OSError):
        return "error", exc.strerror or str(exc)
    return "error", str(exc)


def resolve(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> list[tuple[Any, ...]]:
    """getaddrinfo with a deadline (it has none itself); raises socket.gaierror/TimeoutError."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True, name="resolve")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no DNS answer for {host} within {timeout:g}s")
    if "error" in box:
        raise box["error"]
    return list(box["value"])


def _name(uid: int, table: Any) -> str:
    try:
        return str(table(uid)[0])
    except KeyError:
        return str(uid)


def worker_identity(user: str | None) -> tuple[int, int, list[int]] | None:
    """(uid, gid, all group ids) of nginx's worker user, or None when unknown here."""
    if not user:
        return None
    try:
        entry = pwd.getpwnam(user.split()[0])
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid, os.getgrouplist(entry.pw_name, entry.pw_gid)


def _allowed(st: os.stat_result, ident: tuple[int, int, list[int]], bit: int) -> bool:
    uid, _, gids = ident
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & (bit << 6))
    if st.st_gid in gids:
        return bool(st.st_mode & (bit << 3))
    return bool(st.st_mode & bit)


def _describe(path: str, st: os.stat_result) -> str:
    return (f"{path} ({_name(st.st_uid, pwd.getpwuid)}:{_name(st.st_gid, grp.getgrgid)} "
            f"{stat.S_IMODE(st.st_mode):04o})")


def mode_allows(path: str, ident: tuple[int, int, list[int]], user: str) -> tuple[bool, str]:
    """Judge from owner/group/mode: every folder needs search (x), the socket write (w)."""
    folder = os.path.dirname(path)
    chain = []
    while folder and folder != "/":
        chain.append(folder)
        folder = os.path.dirname(folder)
    for folder in reversed(chain):
        st = os.stat(folder)
        if not _allowed(st, ident, 1):
            return False, f"{user} may not enter the folder {_describe(folder, st)}"
    st = os.stat(path)
    if not _allowed(st, ident, 2):
        return False, f"{user} may not write to the socket {_describe(path, st)}"
    return True, f"{user} may open {_describe(path, st)}"


def connect_as(path: str, ident: tuple[int, int, list[int]],
               timeout: float = PROBE_TIMEOUT) -> str:
    """Connect to a unix socket as another user (needs root): a child process drops to
    that user's uid/gid/groups first. Returns a connect result word, 'error' if unsure."""
    uid, gid, gids = ident
    for python in _pythons():
        try:
            proc = subprocess.run(
                [python, "-I", "-S", "-c", CONNECT_AS_CODE, path, str(timeout)],
                user=uid, group=gid, extra_groups=gids, capture_output=True, cwd="/", env={},
                timeout=timeout + 5, check=False, stdin=subprocess.DEVNULL,
            )
        except PermissionError:
            continue  # this interpreter lives where that user may not go; try the next
        except (OSError, subprocess.SubprocessError):
            return "error"
        word = proc.stdout.decode(errors="replace").strip()
        return word if word in ("ok", "permission", "refused", "missing", "timeout") else "error"
    return "error"


def _pythons() -> list[str]:
    # Our own interpreter may sit in a folder the worker user cannot enter (pyenv or a venv
    # under /root), so the system's python3 is the fallback.
    found = []
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        real = os.path.realpath(candidate)
        if os.access(real, os.X_OK) and real not in found:
            found.append(real)
    return found


# -- probes --------------------------------------------------------------------------------------

def _probe_unix(result: dict[str, Any], worker: str | None,
                timeout: float) -> socket.socket | None:
    path = result["socket"]
    try:
        st = os.stat(path)
    except FileNotFoundError:
        result.update(exists=False, connect="missing",
                      detail=f"the socket file {path} does not exist")
        return None
    except OSError as exc:
        result.update(connect="error", detail=f"cannot look at {path}: {exc.strerror} "
                                                "(run the wizard as root to see it)")
        return None
    result.update(exists=True, is_socket=stat.S_ISSOCK(st.st_mode),
                  owner=_name(st.st_uid, pwd.getpwuid), group=_name(st.st_gid, grp.getgrgid),
                  mode=f"{stat.S_IMODE(st.st_mode):04o}")
    if not result["is_socket"]:
        result.update(connect="refused", detail=f"{path} exists but is not a socket "
                                                  "(a leftover file?); connecting is refused")
        return None
    notes: list[str] = []
    ident = worker_identity(worker)
    if ident is not None and worker:
        allowed, why = mode_allows(path, ident, worker)
        result["worker_can_connect"] = allowed
        if os.geteuid() == 0 and ident[0] != 0:
            real = connect_as(path, ident, timeout)
            if real != "error":
                result["worker_can_connect"] = real != "permission"
                why = (f"connecting as {worker} (uid {ident[0]}): "
                       f"{'permission denied' if real == 'permission' else 'allowed'}; {why}")
        notes.append(why)
    elif worker:
        notes.append(f"the worker user {worker} does not exist on this host")
    connected: socket.socket | None
    try:
        connected = fastcgi.connect(path, timeout)
        result["connect"] = "ok"
        ours = f"connected to unix:{path}"
    except OSError as exc:
        connected = None
        result["connect"], text = classify(exc)
        ours = f"unix:{path}: {text}"
    if result["connect"] == "permission" and result["worker_can_connect"] and os.geteuid():
        # Only we were refused; the socket's mode lets nginx's worker in: no finding on nginx.
        result["connect"] = "error"
        ours = (f"as {_name(os.geteuid(), pwd.getpwuid)}: {ours}; run the wizard with sudo "
                f"to connect as {worker}")
    if result["worker_can_connect"] is False:
        result["connect"] = "permission"  # what nginx's worker gets, whatever we got as us
        ours = f"as {_name(os.geteuid(), pwd.getpwuid)}: {ours}"
        notes.append(ours)
    else:
        notes.insert(0, ours)
    result["detail"] = "; ".join(notes)
    return connected


def _probe_tcp(result: dict[str, Any], timeout: float) -> socket.socket | None:
    host, port = result["host"], result["port"]
    if not host or port is None:
        result.update(connect="error", detail=f"no host and port in {result['target']!r}")
        return None
    try:
        infos = resolve(host, int(port), timeout)
    except (OSError, TimeoutError) as exc:
        result.update(connect="unresolved",
                      detail=f"the name {host} does not resolve: {classify(exc)[1]}")
        return None
    result["addresses"] = sorted({str(info[4][0]) for info in infos})
    outcomes = []
    for family, kind, proto, _, address in infos[:MAX_ADDRESSES]:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            outcomes.append(classify(exc))
            continue
        result.update(connect="ok", detail=f"connected to {address[0]} port {port}")
        return sock
    words = [word for word, _ in outcomes]
    word = next((w for w in ("refused", "timeout", "error") if w in words), "error")
    text = next(t for w, t in outcomes if w == word)
    result.update(connect=word, detail=f"{host} port {port}: {text}")
    return None


def _probe_fastcgi(result: dict[str, Any], sock: socket.socket, timeout: float) -> None:
    try:
        answer = fastcgi.request(sock, fastcgi.probe_params(), timeout=timeout)
    except fastcgi.FastcgiError as exc:
        result.update(fastcgi="no_answer", detail=f"{result['detail']}; {exc}")
        return
    except SOCKET_TIMEOUTS:
        # A PHP-FPM pool that accepts but sends nothing in time has every worker busy (the
        # probe asks for a script that does not exist, which a free worker answers at once).
        # Anything else may simply not speak FastCGI: an HTTP server waits for a request line.
        busy = "busy" if result.get("pool") else "no_answer"
        result.update(fastcgi=busy, detail=f"{result['detail']}; no FastCGI answer within "
                                           f"{timeout:g}s")
        return
    except OSError as exc:
        result.update(fastcgi="no_answer",
                      detail=f"{result['detail']}; FastCGI request: {classify(exc)[1]}")
        return
    if not (answer.complete or answer.stdout or answer.stderr):
        result.update(fastcgi="no_answer", detail=f"{result['detail']}; the peer closed the "
                                                    "connection without a FastCGI answer")
        return
    said = answer.stderr.decode(errors="replace").strip().splitlines()[:1]
    body = answer.body.decode(errors="replace").strip()[:60]
    text = f"FastCGI answered status {answer.status}" + (f" {body!r}" if body else "")
    result.update(fastcgi="answered", detail=f"{result['detail']}; {text}"
                  + (f" (stderr: {said[0]})" if said else ""))


def _probe_tls(result: dict[str, Any], sock: socket.socket, timeout: float) -> None:
    """Handshake through memory buffers so we see the peer's first bytes: a plain-HTTP
    server answers our ClientHello with 'HTTP/1.1 400', which is not a TLS record."""
    settings = result.get("settings") or {}
    verify = bool(settings.get("ssl_verify"))
    ctx = ssl.create_default_context() if verify else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not verify:  # nginx does not verify upstream certificates unless proxy_ssl_verify on
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    name = settings.get("ssl_name") or result["host"]
    # nginx sends SNI only with proxy_ssl_server_name on; a verified check needs the name.
    send_name = verify or bool(settings.get("ssl_server_name"))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=name if send_name else None)
    deadline = time.monotonic() + timeout
    first = True
    try:
        while True:
            try:
                tls.do_handshake()
                sock.sendall(outgoing.read())
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = sock.recv(16384)
                if not chunk:
                    raise ConnectionResetError("the peer closed the connection") from None
                if first and chunk[0] not in (0x15, 0x16):  # TLS alert / handshake record
                    result.update(tls="not_tls", detail=f"{result['detail']}; the peer does "
                                  f"not speak TLS, it answered {chunk[:24]!r}")
                    return
                first = False
                incoming.write(chunk)
    except ssl.SSLError as exc:
        result.update(tls="failed", detail=f"{result['detail']}; TLS handshake failed: "
                                            f"{exc.reason or exc}")
        return
    except OSError as exc:
        result.update(tls="failed",
                      detail=f"{result['detail']}; TLS handshake: {classify(exc)[1]}")
        return
    result.update(tls="ok", detail=f"{result['detail']}; TLS handshake ok ({tls.version()})")


def _match_pool(result: dict[str, Any], pools: list[dict[str, Any]]) -> None:
    pool = pool_for_target(pools, result["socket"], result["host"], result["port"])
    if pool is not None:
        result.update(pool=pool["name"], service=pool.get("service"),
                      pool_conf=pool.get("conf"))
    elif pools:
        where = ", ".join(f"{p['name']} at {p.get('listen')}" for p in pools)
        result["pool_note"] = f"no PHP-FPM pool listens at {result['target']}; pools: {where}"


def probe_target(target: dict[str, Any], worker: str | None,
                 pools: list[dict[str, Any]], timeout: float = PROBE_TIMEOUT) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {
        "pass_index": target["pass_index"], "kind": target["kind"], "target": target["target"],
        "scheme": target.get("scheme"), "upstream": target.get("upstream"),
        "socket": target.get("socket"), "host": target.get("host"), "port": target.get("port"),
        "exists": None, "is_socket": None, "owner": None, "group": None, "mode": None,
        "worker_user": worker, "worker_can_connect": None, "connect": None, "fastcgi": None,
        "tls": None, "detail": "", "duration": 0.0, "skipped": target.get("skip"),
        "pool": None, "pool_conf": None, "service": None, "pool_note": None,
        "addresses": [],
        "file": target.get("file"), "line": target.get("line"),
        "server_index": target.get("server_index"),
    }
    if target.get("kind") == "fastcgi":
        _match_pool(result, pools)
    if target.get("skip"):
        result["detail"] = target["skip"]
        return result
    result["settings"] = target.get("settings") or {}
    sock = _probe_unix(result, worker, timeout) if result["socket"] else _probe_tcp(
        result, timeout)
    try:
        if sock is not None and result["kind"] == "fastcgi":
            _probe_fastcgi(result, sock, timeout)
        elif sock is not None and (result["scheme"] or "") in TLS_SCHEMES:
            _probe_tls(result, sock, timeout)
    finally:
        if sock is not None:
            sock.close()
    result.pop("settings", None)
    result["duration"] = round(time.monotonic() - started, 3)
    return result


def probe_all(nginx: dict[str, Any], phpfpm: dict[str, Any] | None,
              timeout: float = PROBE_TIMEOUT) -> list[dict[str, Any]]:
    """Probe every target concurrently; results come back in pass order."""
    worker = nginx.get("worker_user")
    pools = (phpfpm or {}).get("pools") or []
    # Many passes often name one address (10,000 sites, one backend): each address is probed
    # once, and of the other passes only their place in the config is kept meanwhile.
    numbers: dict[tuple[Any, ...], int] = {}
    probed: list[dict[str, Any]] = []
    waiting: dict[int, dict[str, Any]] = {}  # targets whose probe waits on the network
    order: list[tuple[Any, ...]] = []  # (number,) where probed, else (number, *place)
    for target in iter_targets(nginx):
        key = _probe_key(target)
        if key in numbers:
            order.append((numbers[key], *(target.get(k) for k in _PLACE)))
            continue
        numbers[key] = len(probed)
        order.append((len(probed),))
        if _ends_at_once(target):
            probed.append(_as_probe_of(probe_target(target, worker, pools, timeout)))
        else:
            waiting[len(probed)] = target
            probed.append({})
    if waiting:
        with ThreadPoolExecutor(max_workers=min(8, len(waiting)),
                                thread_name_prefix="probe") as ex:
            answers = ex.map(lambda t: probe_target(t, worker, pools, timeout),
                             waiting.values())
            for number, result in zip(waiting, answers):
                probed[number] = _as_probe_of(result)
    return [probed[item[0]] if len(item) == 1 else _as_probe_of(probed[item[0]], item[1:])
            for item in order]


def _ends_at_once(target: dict[str, Any]) -> bool:
    """Skipped, or a unix socket whose file is missing (one stat): no thread needed."""
    path = target.get("socket")
    return bool(target.get("skip")) or bool(path and not os.path.exists(path))


# Fields of a target that say where it is in the config, not what is probed.
_PLACE = ("pass_index", "file", "line", "server_index")
# What a probe depends on: the address, and for TLS the settings the handshake reads.
_PROBED = ("kind", "target", "scheme", "upstream", "socket", "host", "port", "skip")
_TLS_SETTINGS = ("ssl_verify", "ssl_name", "ssl_server_name")


def _probe_key(target: dict[str, Any]) -> tuple[Any, ...]:
    settings = target.get("settings") or {}
    return (*(target.get(k) for k in _PROBED), *(settings.get(k) for k in _TLS_SETTINGS))


_PROBE_ENTRY = RecordShape("probe")


def _as_probe_of(result: dict[str, Any], place: tuple[Any, ...] | None = None
                 ) -> dict[str, Any]:
    """A probe's result, placed at a pass that names its address (None: where it was probed)."""
    entry = _PROBE_ENTRY.make(result)
    if place is not None:
        entry["pass_index"], entry["file"], entry["line"], entry["server_index"] = place
    return entry


@fact("upstream_probes")
def upstream_probe_facts(facts: Facts) -> list[dict[str, Any]]:
    return probe_all(config_part(facts) or facts.get("nginx"), facts.try_get("phpfpm"))
