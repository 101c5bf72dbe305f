"""Which error-log records speak about the failure now, and which are history.

A log holds more than the current failure: lines from before PHP-FPM was last started
(the failure they describe ended with that restart), and lines about other sites on the
same nginx. Those are shown as history with the reason, never as causes. The scope is
built once per check from the facts; `placement` then judges each record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from wizard.checks.url_site import url_server_index
from wizard.host.facts import Facts
from wizard.host.phpfpm import listens_at, pool_for_target
from wizard.host.request import split_url

LOG_CLOCK_STEP = 1.0


@dataclass(frozen=True)
class Site:
    """The server block that serves the address the person gave (--url or picked)."""

    host: str
    names: frozenset[str]
    other_logs: frozenset[str]  # error_log files only other server blocks write to
    uses_php: bool
    pools: frozenset[str]  # names of the PHP-FPM pools its fastcgi_pass reaches


@dataclass(frozen=True)
class LogScope:
    site: Site | None = None
    pools: list[dict[str, Any]] = field(default_factory=list)  # the phpfpm fact's pools
    # PHP-FPM config file -> (when its running master started, its pid)
    started: dict[str, tuple[float, int]] = field(default_factory=dict)


def clock(epoch: float) -> str:
    """An epoch as the local time of day a person compares with their logs."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def _server_logs(server: dict[str, Any]) -> set[str]:
    return {str(t) for t in server.get("error_logs") or [] if str(t).startswith("/")}


def _site(facts: Facts, nginx: dict[str, Any], phpfpm: dict[str, Any]) -> Site | None:
    servers = nginx.get("servers") or []
    index = url_server_index(facts)
    if index is None or not facts.options.url:
        return None
    target = split_url(facts.options.url)
    own = _server_logs(servers[index])
    others = set().union(*(_server_logs(s) for i, s in enumerate(servers) if i != index))
    fastcgi = [p for p in nginx.get("passes") or []
               if p.get("server_index") == index and p.get("kind") == "fastcgi"]
    pools = {str(pool.get("name")) for pool in phpfpm.get("pools") or []
             for p in fastcgi if listens_at(pool, p.get("socket"), p.get("host"), p.get("port"))}
    return Site(target.host, frozenset(str(n).lower() for n in servers[index].get(
        "server_names") or []), frozenset(others - own), bool(fastcgi), frozenset(pools))


def scope_of(facts: Facts) -> LogScope:
    nginx = facts.try_get("nginx") or {}
    phpfpm = facts.try_get("phpfpm") or {}
    started = {str(m.get("conf")): (float(m["started"]), int(m["pid"]))
               for m in phpfpm.get("masters") or [] if m.get("started")}
    return LogScope(_site(facts, nginx, phpfpm), list(phpfpm.get("pools") or []), started)


def _elsewhere(ev: dict[str, Any], site: Site) -> str | None:
    fields = ev.get("fields") or {}
    if ev.get("kind") == "php-fpm":
        if not site.uses_php:
            return f"about PHP-FPM, which {site.host} does not use"
        pool = fields.get("pool")
        if pool and site.pools and pool not in site.pools:
            return f"about PHP-FPM pool {pool}, which {site.host} does not use"
        return None
    if ev.get("source") in site.other_logs:
        return f"written to another site's error log, not {site.host}'s"
    host = str(fields.get("host") or "").rsplit(":", 1)[0].lower()
    server = str(fields.get("server") or "").lower()
    if not host and not server:
        return None
    if host == site.host or (server and server in site.names):
        return None
    return f"for another site ({host or server}), not {site.host}"


def _peer_pool(ev: dict[str, Any], pools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The PHP-FPM pool an nginx record's FastCGI connection went to, if one listens there."""
    fields = ev.get("fields") or {}
    if fields.get("socket"):
        return pool_for_target(pools, str(fields["socket"]), None, None)
    upstream = str(fields.get("upstream") or "")
    if not upstream.startswith("fastcgi://"):
        return None
    host, _, port = upstream[len("fastcgi://"):].rstrip("/").rpartition(":")
    return pool_for_target(pools, None, host.strip("[]"), int(port)) if port.isdigit() \
        else None


def _before_restart(ev: dict[str, Any], scope: LogScope) -> str | None:
    epoch = ev.get("epoch")
    if not epoch:
        return None
    if ev.get("kind") == "php-fpm":
        name = (ev.get("fields") or {}).get("pool")
        pool = next((p for p in scope.pools if p.get("name") == name), None) if name else None
        # A line of no pool (the master's own) is older than the newest master start.
        started = scope.started.get(str(pool.get("conf"))) if pool else \
            None if name else max(scope.started.values(), default=None)
    else:
        pool = _peer_pool(ev, scope.pools)
        started = scope.started.get(str(pool.get("conf"))) if pool else None
    # Logs stamp whole seconds: a line of the same second as the start may follow it.
    if started is None or epoch + LOG_CLOCK_STEP > started[0]:
        return None
    return f"before PHP-FPM (master {started[1]}) was started at {clock(started[0])}"


def placement(ev: dict[str, Any], scope: LogScope) -> str | None:
    """None when the record may describe the failure now; else why it is history."""
    if scope.site is not None:
        why = _elsewhere(ev, scope.site)
        if why:
            return why
    return _before_restart(ev, scope)
