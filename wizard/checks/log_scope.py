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
from wizard.host.request import split_url

LOG_CLOCK_STEP = 1.0


@dataclass(frozen=True)
class Site:
    """The server block that serves the address the person gave (--url or picked)."""

    host: str
    names: frozenset[str]
    own_logs: frozenset[str]  # error_log files this server block writes to
    other_logs: frozenset[str]  # error_log files only other server blocks write to
    uses_php: bool
    pools: frozenset[str]  # names of the PHP-FPM pools its fastcgi_pass reaches


@dataclass(frozen=True)
class LogScope:
    site: Site | None = None
    # listen address (socket path or host:port) -> (when its PHP-FPM master started, pid)
    phpfpm_started: dict[str, tuple[float, int]] = field(default_factory=dict)
    pool_started: dict[str, tuple[float, int]] = field(default_factory=dict)


def _clock(epoch: float) -> str:
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
             for p in fastcgi if _pool_listens_at(pool, p)}
    return Site(target.host, frozenset(str(n).lower() for n in servers[index].get(
        "server_names") or []), frozenset(own), frozenset(others - own), bool(fastcgi),
        frozenset(pools))


def _pool_listens_at(pool: dict[str, Any], passed: dict[str, Any]) -> bool:
    listen = str(pool.get("listen") or "")
    if passed.get("socket"):
        return listen == passed["socket"]
    port = str(passed.get("port") or "")
    return bool(port) and listen.rsplit(":", 1)[-1] == port


def _started(phpfpm: dict[str, Any]) -> tuple[dict[str, tuple[float, int]],
                                              dict[str, tuple[float, int]]]:
    by_conf = {m.get("conf"): (float(m["started"]), int(m["pid"]))
               for m in phpfpm.get("masters") or [] if m.get("started")}
    by_listen: dict[str, tuple[float, int]] = {}
    by_pool: dict[str, tuple[float, int]] = {}
    for pool in phpfpm.get("pools") or []:
        started = by_conf.get(pool.get("conf"))
        if started is None:
            continue
        listen = str(pool.get("listen") or "")
        if listen:
            by_listen[listen] = started
            if not listen.startswith("/"):  # 9000, 127.0.0.1:9000, [::1]:9000
                by_listen[":" + listen.rsplit(":", 1)[-1]] = started
        by_pool[str(pool.get("name"))] = started
    return by_listen, by_pool


def scope_of(facts: Facts) -> LogScope:
    nginx = facts.try_get("nginx") or {}
    phpfpm = facts.try_get("phpfpm") or {}
    by_listen, by_pool = _started(phpfpm)
    return LogScope(_site(facts, nginx, phpfpm), by_listen, by_pool)


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


def _peer(ev: dict[str, Any]) -> str | None:
    fields = ev.get("fields") or {}
    if fields.get("socket"):
        return str(fields["socket"])
    upstream = str(fields.get("upstream") or "")
    if upstream.startswith("fastcgi://"):
        return upstream[len("fastcgi://"):].rstrip("/")
    return None


def _before_restart(ev: dict[str, Any], scope: LogScope) -> str | None:
    epoch = ev.get("epoch")
    if not epoch:
        return None
    fields = ev.get("fields") or {}
    if ev.get("kind") == "php-fpm":
        started = scope.pool_started.get(str(fields.get("pool"))) if fields.get("pool") \
            else max(scope.pool_started.values(), default=None)
    else:
        peer = _peer(ev) or ""
        started = scope.phpfpm_started.get(peer) or (
            scope.phpfpm_started.get(":" + peer.rsplit(":", 1)[-1]) if ":" in peer else None)
    # Logs stamp whole seconds: a line of the same second as the start may follow it.
    if started is None or epoch + LOG_CLOCK_STEP > started[0]:
        return None
    return f"before PHP-FPM (master {started[1]}) was started at {_clock(started[0])}"


def placement(ev: dict[str, Any], scope: LogScope) -> str | None:
    """None when the record may describe the failure now; else why it is history."""
    if scope.site is not None:
        why = _elsewhere(ev, scope.site)
        if why:
            return why
    return _before_restart(ev, scope)
