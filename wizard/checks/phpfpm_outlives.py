"""Does PHP-FPM let a script run on after nginx stopped waiting for it?

The mirror of phpfpm.timeouts. When request_terminate_timeout is off (0) or longer than
nginx's fastcgi_read_timeout, a slow request gets 504 from nginx while its PHP worker goes
on working for nobody, holding one of the pool's pm.max_children. A few such requests fill
the pool, and then every page waits: the 504s spread to fast pages too.
"""

from __future__ import annotations

from typing import Any

from wizard.checks.base import check
from wizard.checks.phpfpm import DEFAULT_READ_TIMEOUT, fastcgi_targets
from wizard.host.facts import Facts
from wizard.host.phpfpm import pool_for_target
from wizard.outcome import CheckResult, Evidence, Status


def served_pools(facts: Facts) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(nginx fastcgi target, PHP-FPM pool) for every fastcgi_pass of the site that a
    known pool serves."""
    pools = facts.get("phpfpm").get("pools") or []
    pairs = []
    for target in fastcgi_targets(facts):
        pool = pool_for_target(pools, target.get("socket"), target.get("host"),
                               target.get("port"))
        if pool is not None and not target.get("skip"):
            pairs.append((target, pool))
    return pairs


def _limit(seconds: float) -> str:
    return "no time limit (request_terminate_timeout = 0)" if seconds == 0 else \
        f"{seconds:g}s (request_terminate_timeout)"


def _vars(target: dict[str, Any], pool: dict[str, Any], read: float,
          rtt: float) -> dict[str, Any]:
    return {"pool": pool["name"], "pool_conf": pool.get("conf"), "target": target["target"],
            "read_timeout": read, "nginx_wait": f"{read:g}s",
            "request_terminate_timeout": rtt, "limit": _limit(rtt),
            "max_children": pool.get("pm_max_children"), "file": pool.get("file"),
            "line": pool.get("line"), "nginx_file": target.get("file"),
            "nginx_line": target.get("line"), "service": pool.get("service")}


@check("phpfpm.outlives_nginx", results={"ok": Status.OK, "outlives": Status.WARNING},
       facts=("nginx", "phpfpm"))
def phpfpm_outlives_nginx(facts: Facts) -> CheckResult:
    """Does a PHP-FPM pool let scripts run longer than nginx waits for them (504)?"""
    pairs = served_pools(facts)
    if not pairs:
        return CheckResult("skipped", "no fastcgi_pass served by a known PHP-FPM pool")
    for target, pool in pairs:
        read = float((target.get("settings") or {}).get("read_timeout")
                     or DEFAULT_READ_TIMEOUT)
        rtt = float(pool.get("request_terminate_timeout") or 0)
        if rtt == 0 or rtt > read:
            return CheckResult(
                "outlives",
                f"PHP-FPM pool {pool['name']} lets a script run with {_limit(rtt)}, but "
                f"nginx stops waiting after {read:g}s: a slower request gets 504 while its "
                "worker keeps running",
                vars=_vars(target, pool, read, rtt),
                evidence=[Evidence("file", f"{pool.get('file')}: [{pool['name']}] "
                                           f"request_terminate_timeout = {rtt:g}s"),
                          Evidence("file", f"{target.get('file')}:{target.get('line')}: "
                                           f"fastcgi_read_timeout {read:g}s (effective)")])
    target, pool = pairs[0]
    read = float((target.get("settings") or {}).get("read_timeout") or DEFAULT_READ_TIMEOUT)
    rtt = float(pool.get("request_terminate_timeout") or 0)
    return CheckResult("ok", f"PHP-FPM pool {pool['name']} ends a script after {rtt:g}s, no "
                             f"later than nginx stops waiting ({read:g}s)",
                       vars=_vars(target, pool, read, rtt))
