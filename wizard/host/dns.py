"""Facts `dns`: where the --url host and the upstream host names in nginx's *_pass
directives resolve to, and whether the URL host points at this machine.

getaddrinfo cannot be cancelled and a broken resolver can hang for many seconds, so each
lookup runs in a daemon thread and we stop waiting after a timeout.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import threading
import time
from typing import Any

import psutil

from wizard.host.facts import Facts, fact
from wizard.host.nginx_part import config_part
from wizard.host.request import split_url

TIMEOUT = 5.0


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def resolve(name: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """{"name", "addresses": [...], "error": None | plain reason, "duration"}."""
    answers: queue.Queue[tuple[list[str], str | None]] = queue.Queue(maxsize=1)

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
            addresses = sorted({str(info[4][0]) for info in infos})
            answers.put((addresses, None))
        except (OSError, UnicodeError) as exc:
            answers.put(([], getattr(exc, "strerror", None) or str(exc)))

    started = time.monotonic()
    threading.Thread(target=lookup, name=f"resolve {name}", daemon=True).start()
    try:
        addresses, error = answers.get(timeout=timeout)
    except queue.Empty:
        addresses, error = [], f"no answer from the resolver within {timeout:g}s"
    return {"name": name, "addresses": addresses, "error": error,
            "duration": round(time.monotonic() - started, 3)}


def local_addresses() -> list[str]:
    """Every address of this machine's interfaces (without IPv6 zone suffixes)."""
    found: set[str] = set()
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family in (socket.AF_INET, socket.AF_INET6):
                found.add(a.address.split("%", 1)[0])
    return sorted(found)


def points_here(addresses: list[str], local: list[str]) -> bool:
    """Does any address reach this machine (one of its own, loopback or 0.0.0.0)?"""
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip.is_loopback or ip.is_unspecified or address in local:
            return True
    return False


def upstream_names(nginx: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Host names (not IPs, not upstream{} names) that nginx must resolve for its passes."""
    nginx = nginx or {}
    found: dict[str, dict[str, Any]] = {}
    judged: set[str] = set()  # 10,000 passes to 127.0.0.1: parse the address once

    def add(host: str | None, where: dict[str, Any]) -> None:
        if host and host not in judged:
            judged.add(host)
            if not is_ip(host):
                found[host] = {"name": host, "file": where.get("file"),
                               "line": where.get("line")}

    upstreams = nginx.get("upstreams") or {}
    for p in nginx.get("passes") or []:
        if p.get("uses_variables") or p.get("socket"):
            continue
        if p.get("upstream"):
            block = upstreams.get(p["upstream"]) or {}
            for member in block.get("servers") or []:
                add(member.get("host"), {"file": block.get("file"), "line": block.get("line")})
        else:
            add(p.get("host"), p)
    return list(found.values())


@fact("dns")
def dns_facts(facts: Facts) -> dict[str, Any]:
    local = local_addresses()
    result: dict[str, Any] = {"local_addresses": local, "url_host": None, "url_host_is_ip": None,
                              "url": None, "upstream_names": []}
    if facts.options.url:
        try:
            host = split_url(facts.options.url).host
        except ValueError as exc:
            result["url_error"] = str(exc)
        else:
            result["url_host"], result["url_host_is_ip"] = host, is_ip(host)
            answer = resolve(host)
            answer["points_here"] = points_here(answer["addresses"], local)
            result["url"] = answer
    for entry in upstream_names(config_part(facts)):
        result["upstream_names"].append({**entry, **resolve(entry["name"])})
    return result
