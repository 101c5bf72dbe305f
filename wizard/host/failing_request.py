"""The request that failed, asked again after a fix: the freshest proof there is.

After a fix, old log lines prove nothing either way. What proves a fix is the failing path
answering now: the address the person gave (--url), else the very request nginx logged as
failing (its `request:` and `host:` fields), sent to the listen address of the server
block that logged it, with the same Host header. Only GET and HEAD requests are repeated:
they must not change anything on the site; a POST is never sent again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wizard.host.facts import Facts
from wizard.host.request import request_with_log_events

PROBE_TIMEOUT = 15.0
SAFE_METHODS = ("GET", "HEAD")
_REQUEST_LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<path>/\S*) HTTP/[\d.]+$")
_LOOPBACK_FOR = {"*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "::1"}


@dataclass(frozen=True)
class FailingRequest:
    """What to request: `url` as a visitor writes it, sent to `connect` (None: the URL's
    own host) with `host_header`."""

    url: str
    connect: str | None = None
    host_header: str | None = None
    origin: str = "url"  # url (--url) | log (the failing request nginx logged)


def _server_for(name: str, port: int | None, servers: list[dict[str, Any]]
                ) -> dict[str, Any] | None:
    """The server block that logged the line, chosen as nginx chose it: among the blocks
    on the request's port (when the Host header names one), the one whose first name is
    the line's `server:`, else the port's default_server, else the only or first one."""
    if port is not None:
        on_port = [s for s in servers
                   if any(li.get("port") == port for li in s.get("listen") or [])]
        servers = on_port or servers
    named = [s for s in servers if name and name in (s.get("server_names") or [])]
    if named:
        return named[0]
    default = [s for s in servers if any(li.get("default_server") and
                                         (port is None or li.get("port") == port)
                                         for li in s.get("listen") or [])]
    if default:
        return default[0]
    return servers[0] if len(servers) == 1 or (servers and port is not None) else None


def connect_address(listen: dict[str, Any]) -> str | None:
    """Where to connect to reach a listen directive: its address, loopback for a wildcard;
    None for a unix socket (no HTTP request goes there)."""
    address = str(listen.get("address") or "*")
    if address.startswith("unix:"):
        return None
    return _LOOPBACK_FOR.get(address, address.strip("[]"))


def _listen_for(server: dict[str, Any], port: int | None) -> dict[str, Any] | None:
    listens = [li for li in server.get("listen") or [] if li.get("port")]
    if port is not None:
        listens = [li for li in listens if li.get("port") == port] or listens
    return listens[0] if listens else None


def from_log(fields: dict[str, Any], nginx: dict[str, Any]) -> FailingRequest | None:
    """The failing request of a log record, or None when it cannot (or must not) be sent
    again: no request line, not GET/HEAD, or no server block that listens for it."""
    match = _REQUEST_LINE.match(str(fields.get("request") or ""))
    if not match or match.group("method") not in SAFE_METHODS:
        return None
    host = str(fields.get("host") or fields.get("server") or "").strip()
    name, _, port_text = host.partition(":") if not host.startswith("[") else (host, "", "")
    port = int(port_text) if port_text.isdigit() else None
    server = _server_for(str(fields.get("server") or name), port, nginx.get("servers") or [])
    listen = _listen_for(server, port) if server else None
    if listen is None:
        return None
    connect = connect_address(listen)
    if connect is None:
        return None
    scheme = "https" if listen.get("ssl") else "http"
    shown = host or connect
    default = 443 if scheme == "https" else 80
    if ":" not in shown and listen["port"] != default:
        shown = f"{shown}:{listen['port']}"
    url = f"{scheme}://{shown}{match.group('path')}"
    return FailingRequest(url, connect, host or None, origin="log")


def request_now(facts: Facts, failing: FailingRequest,
                timeout: float = PROBE_TIMEOUT) -> dict[str, Any] | None:
    """Send the request once; the answer plus the log records it caused. None when the
    address cannot be requested at all (a --url that is not an http(s) address)."""
    try:
        record = request_with_log_events(facts, failing.url, connect=failing.connect,
                                         host_header=failing.host_header, timeout=timeout)
    except ValueError:
        return None
    record["origin"] = failing.origin
    return record
