"""Check `ports.listening`: does nginx hold every port its config listens on, or does
another process hold one of them (so nginx cannot bind it)?"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from wizard.checks.base import check
from wizard.host.changes_scope import nginx_masters
from wizard.host.facts import Facts
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, CheckResult, Evidence, Status

WILDCARDS = {"*", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True)
class Wanted:
    """One address:port a server block listens on, with where it is written."""

    address: str  # '*', '127.0.0.1', '[::]', 'localhost'
    port: int
    file: str | None
    line: int | None

    @property
    def label(self) -> str:
        return f"{'*' if self.address == '*' else self.address}:{self.port}"


def wanted_ports(nginx: dict[str, Any]) -> list[Wanted]:
    seen: dict[tuple[str, int], Wanted] = {}
    for server in nginx.get("servers") or []:
        for listen in server.get("listen") or []:
            port = listen.get("port")
            address = str(listen.get("address") or "*")
            if port is None or address.startswith("unix:"):
                continue
            key = (address, int(port))
            seen.setdefault(key, Wanted(address, int(port), server.get("file"),
                                        server.get("line")))
    return list(seen.values())


def _version(address: str) -> int | None:
    """4 or 6 for an IP literal (with or without brackets), None for a host name."""
    if address in ("*", "localhost"):
        return 4
    try:
        return ipaddress.ip_address(address.strip("[]")).version
    except ValueError:
        return None


def overlaps(want: Wanted, sock: dict[str, Any], foreign: bool) -> bool:
    """Could a socket stop nginx binding `want` (or be nginx's own socket for it)?"""
    if sock.get("port") != want.port:
        return False
    want_addr = "127.0.0.1" if want.address == "localhost" else want.address.strip("[]")
    want_addr = "0.0.0.0" if want_addr == "*" else want_addr
    have = str(sock.get("address"))
    want_v, have_v = _version(want_addr), _version(have)
    if want_v is None or have_v is None:
        return True  # a host name: nginx resolves it at start; same port is enough
    if want_v != have_v:
        # nginx sets ipv6only on its [::] sockets, but most other daemons bind [::] as
        # dual-stack, which also takes the IPv4 port.
        return foreign and have == "::" and want_v == 4
    return want_addr in WILDCARDS or have in WILDCARDS or want_addr == have


def _is_nginx(sock: dict[str, Any], nginx_pids: set[int]) -> bool:
    return sock.get("pid") in nginx_pids or sock.get("process") == "nginx"


def _service(sock: dict[str, Any]) -> str:
    unit = sock.get("unit") or ""
    return unit.removesuffix(".service") if unit else str(sock.get("process") or "")


def runs_this_config(nginx: dict[str, Any]) -> bool:
    """An nginx master runs with the diagnosed config, or one runs and its config is not
    known. Another nginx (a second site, a test instance) does not count."""
    if not nginx.get("running"):
        return False
    if nginx_masters(nginx):
        return True
    instances = nginx.get("instances") or []
    built_in = (nginx.get("build") or {}).get("conf_path")
    return not instances or not all(i.get("c") or built_in for i in instances)


def foreign_holder(nginx: dict[str, Any], sockets: list[dict[str, Any]], running: bool,
                   ) -> tuple[Wanted, dict[str, Any]] | None:
    """The first port nginx needs that another process holds, with that process's socket.
    A holder whose pid is hidden counts only while nginx is stopped (else it is most
    likely nginx itself, seen without root)."""
    nginx_pids = set(nginx.get("master_pids") or []) | set(nginx.get("worker_pids") or [])
    for want in wanted_ports(nginx):
        if any(overlaps(want, s, False) and _is_nginx(s, nginx_pids) for s in sockets):
            continue
        others = [s for s in sockets if overlaps(want, s, True) and not _is_nginx(s, nginx_pids)]
        known = [s for s in others if s.get("pid")]
        if known or (others and not running):
            return want, (known or others)[0]
    return None


@check("ports.listening",
       results={"ok": Status.OK, "not_listening": Status.PROBLEM, "conflict": Status.PROBLEM},
       facts=("nginx", "listening"), causes=("port_conflict",))
def ports_listening(facts: Facts) -> CheckResult:
    """Is every port in nginx's listen directives held by nginx and not by another process?"""
    nginx = facts.get("nginx")
    if not nginx["installed"]:
        return CheckResult("skipped", "nginx is not installed", confidence=DIRECT)
    wanted = wanted_ports(nginx)
    if not wanted:
        reason = ("nginx's config could not be read, so its ports are not known"
                  if not nginx.get("files") else "nginx's config has no TCP listen ports")
        return CheckResult("unknown", reason, confidence=CIRCUMSTANTIAL)
    sockets = facts.get("listening")["tcp"]
    nginx_pids = set(nginx.get("master_pids") or []) | set(nginx.get("worker_pids") or [])
    running = runs_this_config(nginx)
    missing: list[Wanted] = []
    guessed: list[Wanted] = []
    held = foreign_holder(nginx, sockets, running)
    if held is not None:
        return _conflict(*held, running)
    for want in wanted:
        mine = [s for s in sockets if overlaps(want, s, False) and _is_nginx(s, nginx_pids)]
        if mine:
            continue
        if any(overlaps(want, s, True) and not _is_nginx(s, nginx_pids) for s in sockets):
            guessed.append(want)  # pid hidden from us; while nginx runs it is most likely nginx
        elif running:
            missing.append(want)
    if missing:
        return _not_listening(missing)
    labels = ", ".join(w.label for w in wanted)
    if guessed:
        return CheckResult("ok", f"something listens on {labels}; its process is hidden, "
                           "most likely nginx", vars={"ports": labels},
                           confidence=CIRCUMSTANTIAL)
    if not running:
        return CheckResult("ok", f"nginx is stopped and its ports ({labels}) are free",
                           vars={"ports": labels}, confidence=DIRECT)
    return CheckResult("ok", f"nginx listens on {labels}", vars={"ports": labels},
                       confidence=DIRECT)


def _conflict(want: Wanted, sock: dict[str, Any], running: bool) -> CheckResult:
    holder = sock.get("process") or "an unknown process (run as root to see it)"
    pid = sock.get("pid")
    where = f"{sock.get('address')}:{sock.get('port')}"
    written = f"{want.file}:{want.line}" if want.file else "nginx's config"
    summary = (f"port {want.port} is held by {holder}"
               + (f" (pid {pid})" if pid else "")
               + (", so nginx cannot listen on it" if not running
                  else f" instead of nginx ({want.label} from {written})"))
    return CheckResult(
        "conflict", summary,
        vars={"port": want.port, "address": want.label, "holder": holder, "pid": pid,
              "service": _service(sock), "unit": sock.get("unit") or "",
              "file": want.file, "line": want.line},
        evidence=[Evidence("process", f"{holder} (pid {pid or '?'}) listens on {where}"),
                  Evidence("file", f"listen {want.label} in {written}")],
        confidence=DIRECT, causes=["port_conflict"])


def _not_listening(missing: list[Wanted]) -> CheckResult:
    first = missing[0]
    labels = ", ".join(w.label for w in missing)
    written = f"{first.file}:{first.line}" if first.file else "nginx's config"
    return CheckResult(
        "not_listening",
        f"nginx runs but nothing listens on {labels} (from {written}); "
        "the running nginx may use an older config",
        vars={"port": first.port, "address": first.label, "ports": labels,
              "file": first.file, "line": first.line},
        evidence=[Evidence("file", f"listen {w.label} in {w.file}:{w.line}") for w in missing],
        confidence=DIRECT)
