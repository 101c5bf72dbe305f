"""The addresses that failed, as nginx's logs tell: what the wizard offers to request when
the person gave no --url (a junior admin may not know the flag).

Both logs are read: the access log counts every failing request (502, 503, 504) and may
log the Host; the error log's upstream records name the request, the Host and the server
block. A request logged in both is one request: it is counted once and takes the Host from
whichever log has it. Requests are grouped by address (scheme, host, port and path; the
query may differ and the newest is kept) and the most recent address comes first.

An address is written as a visitor types it: the scheme from the server block's `listen
... ssl`, the logged Host (when it names a site of this config, so a bot's made-up Host is
never requested) else the block's server_name, and the port when it is not the default.
Only GET and HEAD requests are offered to request again; a POST is shown, never sent.

Choosing one (`use_address`) sets it exactly as --url would be set.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wizard.checks.server_name import NAMED, match_server
from wizard.engine.transcript import Transcript
from wizard.host.facts import Facts
from wizard.host.failing_request import SAFE_METHODS, connect_address
from wizard.host.request import split_url
from wizard.signatures import ERROR_LEVELS

MAX_SHOWN = 9  # one digit key each
SAME_REQUEST_SECONDS = 2.0  # the two logs stamp one request within a second or two
SAME_CONNECTION_SECONDS = 120.0  # nginx may log several records for one request
# The facts that read --url (grep options.url in wizard/host): forgotten when it changes.
URL_FACTS = ("url_request", "dns", "firewall")
_REQUEST_LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<path>/\S*)(?: HTTP/[\d.]+)?$")
_CONNECTION = re.compile(r"^\S+ \S+ \[\w+\] \d+#\d+: \*(?P<conn>\d+) ")


@dataclass
class FailingAddress:
    """One address that failed, with how often and when."""

    url: str
    method: str
    count: int
    last_seen: float
    statuses: list[int]
    sources: list[str]  # access_log, error_log
    files: list[str] = field(default_factory=list)

    @property
    def can_request(self) -> bool:
        """GET and HEAD change nothing on the site; anything else is never sent again."""
        return self.method in SAFE_METHODS

    @property
    def shown(self) -> str:
        """The address as a person reads it: host and path (the scheme when https)."""
        return self.url.removeprefix("http://")

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "method": self.method, "count": self.count,
                "last_seen": datetime.fromtimestamp(self.last_seen).astimezone().isoformat(),
                "statuses": self.statuses, "source": self.sources, "files": self.files,
                "can_request": self.can_request}


@dataclass
class _Request:
    """One failing request as a log shows it."""

    method: str
    path: str  # with the query
    status: int
    epoch: float
    source: str  # access_log | error_log
    file: str
    host: str | None = None  # the Host header as logged (may hold a port)
    server: dict[str, Any] | None = None  # the server block, when the log tells
    server_name: str | None = None  # error log: the block's first server_name
    port: int | None = None
    scheme: str | None = None
    also: list[tuple[str, str]] = field(default_factory=list)  # (source, file) of twins


# --- the error log ----------------------------------------------------------------------

def _is_gateway_record(ev: dict[str, Any]) -> bool:
    """An nginx error about talking to an upstream for a request: a 502 or 504. PHP's own
    stderr output relayed by nginx is not one (the page may still have answered)."""
    fields = ev.get("fields") or {}
    return (ev.get("kind") == "nginx" and ev.get("level") in ERROR_LEVELS
            and bool(fields.get("request")) and bool(fields.get("upstream"))
            and "FastCGI sent in stderr" not in str(ev.get("line", ""))[:400]
            and ev.get("epoch") is not None)


def error_log_requests(window: dict[str, Any]) -> list[_Request]:
    """The failing requests of the error-log window; several records of one connection
    and request (each upstream tried, then "no live upstreams") are one request."""
    found: list[_Request] = []
    latest: dict[tuple[str, str], _Request] = {}
    events = [ev for ev in window.get("events") or [] if _is_gateway_record(ev)]
    for ev in sorted(events, key=lambda e: float(e["epoch"])):
        fields = ev["fields"]
        match = _REQUEST_LINE.match(str(fields["request"]))
        if match is None:
            continue
        line = str(ev.get("line", ""))
        status = 504 if "timed out" in line[:400] else 502
        conn = _CONNECTION.match(line)
        key = (conn.group("conn") if conn else f"line{len(found)}", str(fields["request"]))
        previous = latest.get(key)
        if previous and float(ev["epoch"]) - previous.epoch <= SAME_CONNECTION_SECONDS:
            previous.epoch, previous.status = float(ev["epoch"]), max(previous.status, status)
            continue
        request = _Request(match.group("method"), match.group("path"), status,
                           float(ev["epoch"]), "error_log", str(ev.get("source") or ""),
                           host=fields.get("host"), server_name=fields.get("server"))
        latest[key] = request
        found.append(request)
    return found


# --- the access log ---------------------------------------------------------------------

def access_log_requests(access: dict[str, Any]) -> list[_Request]:
    servers_of = {f["path"]: f.get("servers") or [] for f in access.get("files") or []}
    found = []
    for entry in access.get("entries") or []:
        if entry.get("epoch") is None or not entry.get("method"):
            continue
        servers = servers_of.get(entry.get("source"), [])
        found.append(_Request(
            str(entry["method"]), str(entry["uri"]), int(entry["status"]),
            float(entry["epoch"]), "access_log", str(entry.get("source") or ""),
            host=entry.get("host"), port=entry.get("port"), scheme=entry.get("scheme"),
            server=servers[0] if len(servers) == 1 else None))
    return found


def _pair_up(from_access: list[_Request], from_errors: list[_Request]) -> list[_Request]:
    """One request per request: an error record of the same request (same method and path
    within a second or two) joins its access-log line and lends it the Host."""
    waiting: dict[tuple[str, str], list[_Request]] = {}
    for request in from_errors:
        waiting.setdefault((request.method, request.path), []).append(request)
    for request in from_access:
        same = waiting.get((request.method, request.path)) or []
        twin = next((e for e in same if abs(e.epoch - request.epoch) <= SAME_REQUEST_SECONDS),
                    None)
        if twin is None:
            continue
        same.remove(twin)
        request.host = request.host or twin.host
        request.server_name = twin.server_name
        request.also.append((twin.source, twin.file))
    return from_access + [r for same in waiting.values() for r in same]


# --- where a request went -----------------------------------------------------------------

def _split_host(host: str | None) -> tuple[str | None, int | None]:
    """'shop.example:8080' -> ('shop.example', 8080); '[::1]:80' -> ('::1', 80)."""
    if not host or host == "-":
        return None, None
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = host.partition(":") if host.count(":") == 1 else (host, "", "")
    return name.lower().rstrip(".") or None, int(port) if port.isdigit() else None


@dataclass(frozen=True)
class _Blocks:
    """The server blocks and what every lookup needs of all of them, worked out once: per
    request, 2,000 logged requests on 5,000 blocks took seconds."""

    servers: list[dict[str, Any]]
    ports: list[int]  # every port listened on, in config order
    fallback: dict[str, Any] | None  # the first default_server block, else the first block


def _blocks(servers: list[dict[str, Any]]) -> _Blocks:
    ports = list(dict.fromkeys(li["port"] for s in servers for li in s.get("listen") or []
                               if isinstance(li.get("port"), int)))
    defaults = (s for s in servers if any(li.get("default_server")
                                          for li in s.get("listen") or []))
    return _Blocks(servers, ports, next(defaults, None) or next(iter(servers), None))


def _server_for(name: str | None, port: int | None, blocks: _Blocks
                ) -> dict[str, Any] | None:
    """The server block nginx chose for this name (and port, when known and listened on;
    a Host may carry a port that a proxy in front of nginx listens on)."""
    servers = blocks.servers
    if port in blocks.ports:
        index, _how = match_server(name or "", port, servers)
        return servers[index] if index is not None else None
    for candidate_port in blocks.ports:
        index, how = match_server(name or "", candidate_port, servers)
        if index is not None and how in NAMED:
            return servers[index]
    return blocks.fallback


def _listen_for(server: dict[str, Any], port: int | None) -> dict[str, Any] | None:
    """The listen a visitor reached: the one on `port`; else (the log does not say) the
    ssl one, because a site that listens on both sends its visitors to https."""
    listens = [li for li in server.get("listen") or [] if isinstance(li.get("port"), int)]
    on_port = [li for li in listens if li["port"] == port]
    return next(iter(on_port or [li for li in listens if li.get("ssl")] or listens), None)


def _is_loopback(name: str) -> bool:
    """localhost or a loopback address: safe to request, whatever the config names."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _site_name(server: dict[str, Any], listen: dict[str, Any]) -> str:
    """The block's first plain server_name; else the address it listens on."""
    for name in server.get("server_names") or []:
        if name and name != "_" and not name.startswith(("~", ".")) and "*" not in name:
            return str(name).lower()
    return connect_address(listen) or str(listen.get("address"))


def visitor_url(scheme: str, host: str, port: int, path: str) -> str:
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}{'' if port == default else f':{port}'}{path}"


def address_of(request: _Request, blocks: _Blocks) -> str | None:
    """The URL a visitor typed for this request, or None when no server block fits."""
    name, typed_port = _split_host(request.host)
    if request.server is None and name is None and not request.server_name:
        return None  # a log several sites share, without the Host: no guessing the site
    port = request.port or typed_port  # nginx's own port when logged, else the visitor's
    server = request.server or _server_for(request.server_name or name, port, blocks)
    listen = _listen_for(server, port) if server else None
    if server is None or listen is None:
        return None
    scheme = request.scheme or ("https" if listen.get("ssl") else "http")
    url_port = typed_port or request.port or int(listen["port"])
    # A Host the config does not name (a bot's made-up one) is never requested: the
    # block's own name reaches the same site.
    known = name is not None and (_is_loopback(name) or match_server(
        name, int(listen["port"]), blocks.servers)[1] in NAMED)
    return visitor_url(scheme, name if known and name else _site_name(server, listen),
                       url_port, request.path)


# --- grouping ---------------------------------------------------------------------------

def _grouped(requests: list[tuple[str, _Request]]) -> list[FailingAddress]:
    groups: dict[str, list[tuple[str, _Request]]] = {}
    for url, request in requests:
        groups.setdefault(url.split("?", 1)[0], []).append((url, request))
    addresses = []
    for members in groups.values():
        members.sort(key=lambda item: item[1].epoch, reverse=True)
        safe = [m for m in members if m[1].method in SAFE_METHODS]
        url, newest = (safe or members)[0]
        sources = {r.source for _u, r in members} | {s for _u, r in members for s, _f in r.also}
        files = {r.file for _u, r in members} | {f for _u, r in members for _s, f in r.also}
        addresses.append(FailingAddress(
            url=url, method=newest.method, count=len(members), last_seen=members[0][1].epoch,
            statuses=sorted({r.status for _u, r in members}),
            sources=[s for s in ("access_log", "error_log") if s in sources],
            files=sorted(f for f in files if f)))
    addresses.sort(key=lambda a: a.last_seen, reverse=True)
    return addresses


def failing_addresses(facts: Facts, limit: int = MAX_SHOWN) -> list[FailingAddress]:
    """The addresses that failed in the logs' window, most recent first. Reads the logs
    (it may take a moment): call it off the UI thread."""
    blocks = _blocks((facts.try_get("nginx") or {}).get("servers") or [])
    from_access = access_log_requests(facts.try_get("access_log") or {})
    from_errors = error_log_requests(facts.try_get("error_log_events") or {})
    located = [(url, r) for r in _pair_up(from_access, from_errors)
               if (url := address_of(r, blocks)) is not None]
    return _grouped(located)[:limit]


def use_address(facts: Facts, url: str, transcript: Transcript | None = None) -> None:
    """Use `url` exactly as --url: set it and forget the facts gathered without it.
    ValueError when it is not an address that can be requested."""
    target = split_url(url)
    facts.options.url = url
    facts.options.url_connect = _this_nginx(target.host, target.port, facts)
    facts.invalidate(URL_FACTS)
    if transcript is not None:
        transcript.options = facts.options.to_json()


def _this_nginx(host: str, port: int, facts: Facts) -> str | None:
    """The address of this nginx that serves host:port, so the picked address is asked of
    this server, not of whatever the name resolves to (a CDN, a balancer, nothing)."""
    server = _server_for(host, port, _blocks((facts.try_get("nginx") or {}).get("servers")
                                             or []))
    listen = _listen_for(server, port) if server else None
    return connect_address(listen) if listen else None


def report_line(addresses: list[FailingAddress], markdown: bool = False) -> str | None:
    """The headless report's sentence about the newest failing address, or None."""
    if not addresses:
        return None
    code = (lambda text: f"`{text}`") if markdown else (lambda text: text)
    first = next((a for a in addresses if a.can_request), addresses[0])
    count = f"{first.count} time{'s' if first.count != 1 else ''}"
    when = datetime.fromtimestamp(first.last_seen).strftime("%H:%M")
    others = len(addresses) - 1
    more = (f" {others} other address{'es' if others != 1 else ''} failed too "
            "(--format json lists them)." if others else "")
    if not first.can_request:
        return (f"Seen failing in the logs: {code(first.url)} ({first.method}, {count}, last "
                f"{when}); the wizard never sends a {first.method} request again.{more}")
    return (f"Seen failing in the logs: {code(first.url)} ({count}, last {when}); run again "
            f"with {code('--url ' + _quoted(first.url))} to test it live.{more}")


def _quoted(url: str) -> str:
    """The URL as a shell argument: quoted when it holds characters a shell would read."""
    return url if re.fullmatch(r"[\w:/.%@+,=~-]+", url) else "'" + url.replace("'", "'\\''") + "'"
