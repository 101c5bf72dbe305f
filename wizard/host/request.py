"""Facts `url_request`: what the --url answers when the wizard requests it itself, once.

The request goes to the URL's host as given (the person asked about that address); the
tests only ever point it at loopback. Redirects are recorded, not followed. For https the
certificate is not verified (a self-signed certificate must not hide the 502), and the
fact says so.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wizard.compat import SOCKET_TIMEOUTS
from wizard.host.errorlog import (
    MARKED_FAILED,
    correlate,
    explain_marked_failed,
    file_size,
    lines_since_offset,
    log_files,
)
from wizard.host.facts import Facts, FactUnavailable, fact

TIMEOUT = 15.0
BODY_LIMIT = 64 * 1024  # bytes read from the answer: a 502 page is small; a stream is not
EXCERPT_CHARS = 2000
USER_AGENT = "nginx-502-wizard"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def split_url(url: str) -> Target:
    """'example.com/x' or 'https://example.com:8443/x' -> Target. ValueError when not a URL."""
    parts = urlsplit(url.strip() if "://" in url else f"http://{url.strip()}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"only http:// and https:// addresses can be requested, not {url!r}")
    if not parts.hostname:
        raise ValueError(f"no host name in {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)  # may raise ValueError
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(parts.scheme, parts.hostname.lower().rstrip("."), port, path)


def _connection(target: Target, connect: str | None,
                timeout: float) -> http.client.HTTPConnection:
    host = connect or target.host
    if target.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(host, target.port, timeout=timeout,
                                           context=context)
    return http.client.HTTPConnection(host, target.port, timeout=timeout)


def _error_text(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, SOCKET_TIMEOUTS):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that address and port)"
    if isinstance(exc, socket.gaierror):
        return f"the host name does not resolve ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}"


def request_url(url: str, *, connect: str | None = None, host_header: str | None = None,
                timeout: float = TIMEOUT) -> dict[str, Any]:
    """Request `url` once and describe the answer (never raises for network trouble).
    `connect`: the address to connect to instead of the URL's host (nginx's own listen
    address), with `host_header` naming the site, as a visitor's request would."""
    target = split_url(url)
    record: dict[str, Any] = {
        "url": url, "scheme": target.scheme, "host": target.host, "port": target.port,
        "path": target.path, "status": None, "reason": None, "server": None,
        "location": None, "content_type": None, "body_excerpt": "", "duration": None,
        "error": None, "started_at": time.time(), "finished_at": None,
        "tls_verified": False if target.scheme == "https" else None,
        "note": ("the TLS certificate was not verified" if target.scheme == "https" else None),
    }
    from wizard.host.dns import TIMEOUT as DNS_TIMEOUT  # here: dns.py imports split_url
    from wizard.host.dns import is_ip, resolve

    started = time.monotonic()
    # http.client's timeout does not cover the name lookup: a resolver that never answers
    # would hold the request for libc's own limit (timeout x attempts, minutes)
    unresolved = None if connect or is_ip(target.host) else resolve(
        target.host, min(timeout, DNS_TIMEOUT))
    if unresolved and unresolved["error"]:
        record.update(error=f"the host name does not resolve ({unresolved['error']})",
                      duration=round(time.monotonic() - started, 3), finished_at=time.time())
        return record
    conn = _connection(target, connect, timeout)
    try:
        conn.request("GET", target.path, headers={"Host": host_header or target.host_header,
                                                  "User-Agent": USER_AGENT,
                                                  "Accept": "*/*", "Connection": "close"})
        response = conn.getresponse()
        body = response.read(BODY_LIMIT)
        record.update(
            status=response.status, reason=response.reason,
            server=response.getheader("Server"), location=response.getheader("Location"),
            content_type=response.getheader("Content-Type"),
            body_excerpt=body.decode("utf-8", errors="replace")[:EXCERPT_CHARS])
    except (OSError, http.client.HTTPException) as exc:
        record["error"] = _error_text(exc, timeout)
        record["timed_out"] = isinstance(exc, SOCKET_TIMEOUTS)
    finally:
        conn.close()
        record["duration"] = round(time.monotonic() - started, 3)
        record["finished_at"] = time.time()
    return record


# nginx logs an upstream failure before it sends the 502, but PHP-FPM's master notes a
# dead child a moment later: wait this long at most for lines the request caused.
LOG_SETTLE_SECONDS = 1.0


def fresh_log_events(offsets: dict[tuple[str, str], int | None],
                     settle: float = LOG_SETTLE_SECONDS) -> list[dict[str, Any]]:
    """The records appended to each log since `offsets` were taken (None: the file was
    missing then, so everything in it is new)."""
    deadline = time.monotonic() + settle
    while True:
        events = [ev for (path, kind), offset in offsets.items()
                  for ev in lines_since_offset(path, offset or 0, kind)]
        if any(ev.get("signature") for ev in events) or time.monotonic() >= deadline:
            return correlate(events)
        time.sleep(0.05)  # polling a file another process appends to; bounded above


@fact("url_request")
def url_request_facts(facts: Facts) -> dict[str, Any]:
    """Request --url once and keep the error-log records that this very request caused."""
    if not facts.options.url:
        raise FactUnavailable("no --url was given, so no request was made")
    try:
        return request_with_log_events(facts, facts.options.url,
                                       connect=facts.options.url_connect)
    except ValueError as exc:
        raise FactUnavailable(f"not a usable address: {exc}") from None


def request_with_log_events(facts: Facts, url: str, *, connect: str | None = None,
                            host_header: str | None = None,
                            timeout: float = TIMEOUT) -> dict[str, Any]:
    """Request `url` once (see request_url) and keep the error-log records that this very
    request caused. ValueError when `url` is not an address that can be requested."""
    offsets = {target: file_size(target[0]) for target in log_files(facts)}
    record = request_url(url, connect=connect, host_header=host_header, timeout=timeout)
    failed = record["error"] is not None or (record["status"] or 0) >= 500
    record["log_events"] = _with_marking_failures(
        facts, fresh_log_events(offsets, LOG_SETTLE_SECONDS if failed else 0.0))
    record["logs_watched"] = [path for path, _kind in offsets]
    return record


def _with_marking_failures(facts: Facts, fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A fresh "no live upstreams" names no cause of its own: the failures that marked the
    servers down came before this request, so look for them in the log window."""
    if not any(ev.get("signature") in MARKED_FAILED for ev in fresh):
        return fresh
    window = (facts.try_get("error_log_events") or {}).get("events") or []
    fresh_lines = {ev.get("line") for ev in fresh}
    earlier = [ev for ev in window if ev.get("line") not in fresh_lines]
    merged = explain_marked_failed([*earlier, *fresh])
    return merged[len(earlier):]
