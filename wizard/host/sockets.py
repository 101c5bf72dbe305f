"""Fact `listening`: every listening TCP socket (and unix stream socket) with the process
and service that holds it.

Shape:
  {"tcp": [{"address": "127.0.0.1", "port": 80, "family": "ipv4|ipv6", "pid": 123|null,
            "process": "nginx"|null, "username": "root"|null, "unit": "nginx.service"|null}],
   "unix": [{"path": "/run/php/php8.2-fpm.sock", "pid": ..., "process": ..., "unit": ...}],
   "pids_hidden": false,
   "note": null | "plain sentence (e.g. without root the holders of other users' sockets
                   are hidden)"}
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys
from collections.abc import Iterator
from typing import Any

import psutil

from wizard.host.facts import Facts, FactUnavailable, fact

# This fact used psutil.net_connections, which reads /proc/net/tcp and tcp6 and decodes
# every connection of the host: the kernel walks its whole table of connections to write
# those files (milliseconds on an idle host; at an outage's scale tens of thousands sit
# in TIME_WAIT), and only the listening sockets matter here. The kernel's socket
# diagnostics (netlink, what `ss -lt` asks) hand over the listening ones alone; the files
# are the fallback where netlink is refused.
PROC_NET = "/proc/net"
TCP_LISTEN = "0A"  # the state column of /proc/net/tcp: 0A is LISTEN
NETLINK_SOCK_DIAG = 4  # linux/netlink.h
SOCK_DIAG_BY_FAMILY = 20  # linux/sock_diag.h
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
LISTEN_STATE = 10  # TCP_LISTEN in include/net/tcp_states.h
NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
# inet_diag_req_v2: family, protocol, extensions, pad, states; then the socket id (48
# bytes of zeros: any socket).
DIAG_REQUEST = struct.Struct("=BBBBI48x")
# inet_diag_msg: family, state, timer, retrans; id: sport, dport (big-endian), src (16),
# dst (16), interface, cookie (8); then expires, rqueue, wqueue, uid, inode.
DIAG_MESSAGE = struct.Struct("=BBBB2s2s16s16s4s8sIIIII")


def unit_of(pid: int | None) -> str | None:
    """The systemd service a process belongs to, from /proc/PID/cgroup (v1 or v2).

    '0::/system.slice/nginx.service' -> 'nginx.service'. Processes started by hand in a
    login session live in a *.scope and have no service: None."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="replace") as handle:
            text = handle.read(64 * 1024)
    except OSError:
        return None
    return unit_from_cgroup(text)


def unit_from_cgroup(text: str) -> str | None:
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        for part in reversed(path.split("/")):
            if part.endswith(".service"):
                return part
    return None


def _process(pid: int | None, cache: dict[int, tuple[str | None, str | None]],
             ) -> tuple[str | None, str | None]:
    if not pid:
        return None, None
    if pid not in cache:
        try:
            proc = psutil.Process(pid)
            cache[pid] = (proc.name(), proc.username())
        except psutil.AccessDenied:
            cache[pid] = (None, None)
        except psutil.Error:
            cache[pid] = (None, None)
    return cache[pid]


Holders = dict[str, list[tuple[int, int]]]  # socket inode -> (pid, fd) pairs


def _sockets_of(pid: int) -> Holders:
    found: Holders = {}
    folder = f"/proc/{pid}/fd"
    for fd in os.listdir(folder):
        try:
            target = os.readlink(f"{folder}/{fd}")
        except (FileNotFoundError, ProcessLookupError):
            continue  # closed meanwhile
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENAMETOOLONG):
                continue
            raise
        if target.startswith("socket:["):
            found.setdefault(target[8:-1], []).append((pid, int(fd)))
    return found


def socket_holders() -> Holders:
    """Which process holds each socket, from every process's open files: one pass over
    /proc for TCP and unix sockets alike. A socket several processes share (nginx's
    master and workers) is named by the last of them in /proc's order, as psutil did."""
    holders: Holders = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                holders.update(_sockets_of(int(name)))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue  # gone, or another user's files (without root): holder unknown
    return holders


def _table(name: str) -> Iterator[list[str]]:
    """The fields of each line of /proc/net/NAME, its heading left out."""
    with open(f"{PROC_NET}/{name}", encoding=sys.getfilesystemencoding(),
              errors=sys.getfilesystemencodeerrors()) as table:
        table.readline()
        for line in table:
            yield line.split()


def decode_address(text: str, family: int) -> tuple[str, int] | None:
    """'0100007F:1F90' -> ('127.0.0.1', 8080) (the kernel writes the address as 32-bit
    words in host byte order); None for port 0."""
    hex_ip, hex_port = text.split(":")
    port = int(hex_port, 16)
    if not port:
        return None
    raw = bytes.fromhex(hex_ip)
    little = sys.byteorder == "little"
    if family == socket.AF_INET:
        return socket.inet_ntop(family, raw[::-1] if little else raw), port
    words = struct.unpack("<4I", raw)
    return socket.inet_ntop(family, struct.pack(">4I" if little else "<4I", *words)), port


def _diag_messages(sock: socket.socket) -> Iterator[bytes]:
    """The bodies of the kernel's answers to one dump request, up to its end."""
    while True:
        data = sock.recv(1 << 18)
        if not data:
            return
        offset = 0
        while offset + NLMSG_HEADER.size <= len(data):
            length, kind = NLMSG_HEADER.unpack_from(data, offset)[:2]
            body = data[offset + NLMSG_HEADER.size:offset + length]
            if kind == NLMSG_DONE:
                return
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", body)[0]
                raise OSError(code, os.strerror(code))
            yield body
            offset += max((length + 3) & ~3, NLMSG_HEADER.size)


def _netlink_listening(family: int) -> list[tuple[str, int, str]]:
    """(address, port, inode) of the listening TCP sockets of one family, from the
    kernel's socket diagnostics. OSError when netlink is not allowed here."""
    request = DIAG_REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << LISTEN_STATE)
    header = NLMSG_HEADER.pack(NLMSG_HEADER.size + len(request), SOCK_DIAG_BY_FAMILY,
                               NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    found = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as sock:
        sock.settimeout(5.0)
        sock.sendto(header + request, (0, 0))
        for body in _diag_messages(sock):
            if len(body) < DIAG_MESSAGE.size:
                continue
            fields = DIAG_MESSAGE.unpack_from(body)
            port, raw, inode = int.from_bytes(fields[4], "big"), fields[6], fields[-1]
            if fields[1] != LISTEN_STATE or not port:  # port 0: not bound yet
                continue
            address = socket.inet_ntop(family, raw[:4] if family == socket.AF_INET else raw)
            found.append((address, port, str(inode)))
    return found


def _proc_listening(name: str, family: int) -> list[tuple[str, int, str]]:
    """The same from /proc/net/tcp or tcp6 (none when the kernel has no IPv6)."""
    if name == "tcp6" and not os.path.exists(f"{PROC_NET}/{name}"):
        return []
    found = []
    for fields in _table(name):
        if len(fields) >= 10 and fields[3] == TCP_LISTEN:
            local = decode_address(fields[1], family)
            if local is not None:
                found.append((local[0], local[1], fields[9]))
    return found


def _listening_tcp(holders: Holders) -> Iterator[tuple[str, int, int, int | None]]:
    """(address, port, family, holder pid) of each listening TCP socket."""
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            sockets = _netlink_listening(family)
        except OSError:  # no netlink here (a sandbox, an old kernel): read the table
            sockets = _proc_listening(name, family)
        for address, port, inode in sockets:
            pairs = holders.get(inode)
            yield address, port, family, pairs[0][0] if pairs else None


def _stream_unix(holders: Holders) -> Iterator[tuple[str, int | None]]:
    """(path, holder pid) of each unix stream socket that has a path."""
    for fields in _table("unix"):
        if len(fields) != 8 or int(fields[4]) != socket.SOCK_STREAM:
            continue
        pairs = holders.get(fields[6])
        for pid in [pid for pid, _fd in pairs] if pairs else [None]:
            yield fields[7], pid


@fact("listening")
def listening_facts(facts: Facts) -> dict[str, Any]:
    names: dict[int, tuple[str | None, str | None]] = {}
    try:
        holders = socket_holders()
        listening = list(_listening_tcp(holders))
        stream = list(_stream_unix(holders))
    except OSError as exc:
        raise FactUnavailable(f"could not list sockets: {exc.strerror or exc}") from exc
    tcp: list[dict[str, Any]] = []
    seen: set[tuple[str, int, int | None]] = set()
    for address, port, family, pid in listening:
        if (address, port, pid) in seen:  # nginx's workers share the master's socket
            continue
        seen.add((address, port, pid))
        name, user = _process(pid, names)
        tcp.append({
            "address": address, "port": port,
            "family": "ipv6" if family == socket.AF_INET6 else "ipv4",
            "pid": pid, "process": name, "username": user, "unit": unit_of(pid),
        })
    unix: list[dict[str, Any]] = []
    held: set[tuple[str, int | None]] = set()
    for path, pid in stream:
        if (path, pid) in held:  # each connection accepted on a socket shows its path too
            continue
        held.add((path, pid))
        name, user = _process(pid, names)
        unix.append({"path": path, "pid": pid, "process": name, "username": user,
                     "unit": unit_of(pid)})
    tcp.sort(key=lambda s: (s["port"], s["address"], s["pid"] or 0))
    hidden = any(s["pid"] is None for s in tcp)
    note = None
    if hidden and os.geteuid() != 0:
        note = ("without root, the process holding another user's socket is hidden; "
                "run as root to see every holder")
    elif hidden:
        note = "some sockets belong to processes outside this system's view (another container)"
    return {"tcp": tcp, "unix": unix, "pids_hidden": hidden, "note": note}
