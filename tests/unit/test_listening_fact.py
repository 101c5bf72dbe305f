"""The `listening` fact on this host's own sockets: each listening TCP socket (IPv4 and
IPv6) and unix stream socket with the process that holds it; a connected socket is not
listening. The kernel's socket diagnostics (netlink) and /proc/net/tcp, its fallback where
netlink is refused, give the same list."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require
from wizard.host import sockets
from wizard.host.facts import Facts
from wizard.options import Options


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture
def ours(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Listening sockets of this process, and a connection that is not one."""
    made: list[socket.socket] = []
    tcp = [("127.0.0.1", socket.AF_INET), ("0.0.0.0", socket.AF_INET)]
    if _ipv6():
        tcp += [("::1", socket.AF_INET6), ("::", socket.AF_INET6)]
    ports = {}
    for address, family in tcp:
        sock = socket.socket(family, socket.SOCK_STREAM)
        made.append(sock)
        sock.bind((address, 0))
        sock.listen()
        ports[address] = sock.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", ports["127.0.0.1"]))
    made.append(client)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    made.append(unix)
    unix.bind(str(tmp_path / "app.sock"))
    unix.listen()
    try:
        yield {"ports": ports, "client_port": client.getsockname()[1],
               "unix": str(tmp_path / "app.sock")}
    finally:
        for sock in made:
            sock.close()


def _listening() -> dict[str, Any]:
    value: dict[str, Any] = Facts(Options()).get("listening")
    return value


def _comparable(found: dict[str, Any]) -> dict[str, Any]:
    """The fact with its unix sockets in one order (their order carries no meaning)."""
    return {**found, "unix": sorted(found["unix"], key=lambda s: (s["path"], s["pid"] or 0))}


def test_our_listening_sockets_are_listed_with_this_process(ours: dict[str, Any]) -> None:
    found = _listening()
    mine = {(s["address"], s["port"]): s for s in found["tcp"] if s["pid"] == os.getpid()}
    assert set(mine) == set(ours["ports"].items())
    for address, port in ours["ports"].items():
        entry = mine[(address, port)]
        assert entry["family"] == ("ipv6" if ":" in address else "ipv4")
        assert entry["process"] and entry["username"]
    assert all(s["port"] != ours["client_port"] for s in found["tcp"])
    assert [s["pid"] for s in found["unix"] if s["path"] == ours["unix"]] == [os.getpid()]
    assert [s["port"] for s in found["tcp"]] == sorted(s["port"] for s in found["tcp"])


def test_proc_net_tables_give_what_netlink_gives(ours: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    by_netlink = _listening()

    def refused(family: int) -> list[tuple[str, int, str]]:
        raise PermissionError(13, "netlink refused")

    monkeypatch.setattr(sockets, "_netlink_listening", refused)
    by_proc = _listening()
    assert _comparable(by_proc) == _comparable(by_netlink)
    assert any(s["pid"] == os.getpid() for s in by_proc["tcp"])


@pytest.mark.parametrize(("text", "family", "expected"), [
    ("0100007F:1F90", socket.AF_INET, ("127.0.0.1", 8080)),
    ("00000000:0050", socket.AF_INET, ("0.0.0.0", 80)),
    ("00000000000000000000000001000000:0016", socket.AF_INET6, ("::1", 22)),
    ("0000000000000000FFFF00000100007F:9E49", socket.AF_INET6, ("::ffff:127.0.0.1", 40521)),
    ("0100007F:0000", socket.AF_INET, None),
])
def test_proc_net_addresses_read_as_the_kernel_writes_them(
        text: str, family: int, expected: tuple[str, int] | None) -> None:
    # The kernel writes 32-bit words in host byte order: these are a little-endian host's.
    require(sys.byteorder == "little", "the samples are of a little-endian host")
    assert sockets.decode_address(text, family) == expected
