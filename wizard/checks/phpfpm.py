"""Checks about PHP-FPM behind nginx's fastcgi_pass: running, listening where nginx
points, limits that end requests early, and enough children for the memory."""

from __future__ import annotations

import os
from typing import Any

from wizard.checks.base import check
from wizard.checks.program_name import program_at
from wizard.checks.url_site import of_site
from wizard.host.facts import Facts
from wizard.host.phpfpm import LOOPBACK, pool_for_target
from wizard.host.upstreams import expand_targets
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, STRONG, CheckResult, Evidence, Status

DEFAULT_READ_TIMEOUT = 60.0  # nginx's fastcgi_read_timeout default
# Per-child memory when no worker runs to measure: a typical PHP app's resident size.
DEFAULT_CHILD_BYTES = 64 * 1024 * 1024
ROOM_FACTOR = 4  # "low" when memory would hold this many times pm.max_children
MIB = 1024 * 1024


def fastcgi_targets(facts: Facts) -> list[dict[str, Any]]:
    """The FastCGI targets of the site the address names (every site without one)."""
    return of_site([t for t in expand_targets(facts.get("nginx"))
                    if t.get("kind") == "fastcgi"], facts)


def is_local(target: dict[str, Any]) -> bool:
    """Could a PHP-FPM on this host serve it (a unix socket or a local address)?"""
    return bool(target.get("socket")) or target.get("host") in LOOPBACK | {"0.0.0.0", "*"}


def where(target: dict[str, Any]) -> str:
    if target.get("socket"):
        return str(target["socket"])
    return f"{target.get('host')}:{target.get('port')}"


def _pass_evidence(target: dict[str, Any]) -> Evidence:
    place = f"{target.get('file')}:{target.get('line')}: " if target.get("file") else ""
    return Evidence("file", f"{place}fastcgi_pass {target.get('target')}")


def _pool_evidence(pool: dict[str, Any]) -> Evidence:
    return Evidence("file", f"{pool.get('file')}:{pool.get('line')}: [{pool['name']}] "
                            f"listen = {pool.get('listen')}")


def _shared_dirs(a: str | None, b: str | None) -> int:
    """How many leading folders two socket paths share (/run/php/x.sock, /run/php/y.sock: 2)."""
    if not a or not b:
        return 0
    return len(os.path.commonpath([os.path.dirname(a), os.path.dirname(b)]).split("/")) - 1


def _nearest_pool(pools: list[dict[str, Any]], target: dict[str, Any],
                  fpm: dict[str, Any]) -> dict[str, Any]:
    """The pool nginx most likely meant: the same kind of address (socket / TCP), served
    by a running PHP-FPM, in the same folder as the address nginx names (a PHP upgrade
    moves /run/php/php7.4-fpm.sock to /run/php/php8.2-fpm.sock), in that order."""
    def rank(pool: dict[str, Any]) -> tuple[bool, bool, int]:
        return (bool(pool.get("socket")) == bool(target.get("socket")), _serves(fpm, pool),
                _shared_dirs(pool.get("socket"), target.get("socket")))

    return max(pools, key=rank)


@check("phpfpm.running",
       results={"ok": Status.OK, "stopped": Status.PROBLEM, "not_installed": Status.PROBLEM},
       facts=("nginx", "phpfpm"), causes=("php_fpm_down",))
def phpfpm_running(facts: Facts) -> CheckResult:
    """Does a PHP-FPM master run for the pool that nginx's fastcgi_pass points at?"""
    targets = fastcgi_targets(facts)
    if not targets:
        return CheckResult("skipped", "nginx passes nothing to FastCGI (no fastcgi_pass)")
    fpm = facts.get("phpfpm")
    target = next((t for t in targets if not t["skip"] and is_local(t)), None)
    if target is None:
        return CheckResult("skipped", "every fastcgi_pass points at another host or uses "
                                      "variables; PHP-FPM is not checked here")
    pool = pool_for_target(fpm.get("pools") or [], target.get("socket"), target.get("host"),
                           target.get("port"))
    service = (pool or {}).get("service") or fpm.get("service") or "php-fpm"
    vars_ = {"service": service, "socket": where(target), "pool": (pool or {}).get("name", ""),
             "target": target.get("target"), "conf": (pool or {}).get("conf")
             or fpm.get("conf_path")}
    if not fpm.get("installed"):
        return CheckResult("not_installed", "PHP-FPM is not installed on this host",
                           vars=vars_, confidence=DIRECT, causes=["php_fpm_down"],
                           evidence=[Evidence("file", "no php-fpm program or config found"),
                                     _pass_evidence(target)])
    masters = fpm.get("masters") or []
    serving = [m for m in masters if pool is None or m.get("conf") == pool.get("conf")]
    if serving:
        pids = ", ".join(str(m["pid"]) for m in serving)
        return CheckResult("ok", f"PHP-FPM is running (master pid {pids})",
                           vars={**vars_, "pid": pids},
                           evidence=[Evidence("process", f"php-fpm: master process "
                                                         f"({serving[0].get('conf')})")])
    others = "; other PHP-FPM masters run with " + ", ".join(
        str(m.get("conf")) for m in masters) if masters else ""
    return CheckResult("stopped", f"{service} is not running{others}", vars=vars_,
                       confidence=DIRECT, causes=["php_fpm_down"],
                       evidence=[Evidence("process", f"no php-fpm master process for "
                                                     f"{vars_['conf'] or service}"),
                                 _pass_evidence(target)])


@check("phpfpm.listen_match", results={"ok": Status.OK, "mismatch": Status.PROBLEM},
       facts=("nginx", "phpfpm", "upstream_probes", "listening", "processes"),
       causes=("upstream_address_mismatch",))
def phpfpm_listen_match(facts: Facts) -> CheckResult:
    """Does a PHP-FPM pool listen exactly where nginx's fastcgi_pass points?"""
    targets = [t for t in fastcgi_targets(facts) if not t["skip"] and is_local(t)]
    if not targets:
        return CheckResult("skipped", "no local fastcgi_pass address to compare")
    fpm = facts.get("phpfpm")
    pools = fpm.get("pools") or []
    if not fpm.get("installed"):
        return CheckResult("skipped", "PHP-FPM is not installed on this host")
    if not pools:
        reason = "; ".join(fpm.get("errors") or []) or "no [pool] section found"
        return CheckResult("unknown", f"no PHP-FPM pools could be read ({reason})")
    probes = facts.try_get("upstream_probes", []) or []
    matched = []
    for target in targets:
        pool = pool_for_target(pools, target.get("socket"), target.get("host"),
                               target.get("port"))
        if pool is not None:
            matched.append(pool["name"])
            continue
        answered = next((p for p in probes if p.get("target") == target["target"]
                         and p.get("fastcgi") == "answered"), None)
        holder = program_at(facts, target.get("socket"), target.get("host"), target.get("port"))
        if answered:  # some other FastCGI server answers there; not a wrong address
            matched.append(f"{holder or 'another FastCGI server'} at {where(target)}")
            continue
        denied = [e for e in fpm.get("errors") or [] if "permission denied" in e.lower()]
        if denied:  # the pool that listens there may be in the config we may not read
            return CheckResult("unknown", f"no PHP-FPM pool that could be read listens at "
                               f"{where(target)}; {'; '.join(denied)}",
                               vars={"target": target["target"]})
        near = _nearest_pool(pools, target, fpm)
        listing = ", ".join(f"{p['name']} at {p.get('listen')}" for p in pools)
        # The pool's config is read even when its PHP-FPM is stopped; then it listens
        # nowhere, and the config we found may not be the one meant for this site: the
        # stopped service is the stronger finding (phpfpm.running), the address a suspect.
        running = _serves(fpm, near)
        instead = f"; {holder} listens there instead" if holder else ""
        return CheckResult(
            "mismatch",
            f"nginx passes PHP to {where(target)}, but no PHP-FPM pool listens there "
            f"(pool {near['name']} listens at {near.get('listen')}"
            f"{'' if running else ' once its PHP-FPM is started'}){instead}",
            vars={"target": target["target"], "nginx_address": where(target),
                  "pool": near["name"], "pool_listen": near.get("listen"),
                  "file": near.get("file"), "line": near.get("line"),
                  "nginx_file": target.get("file"), "nginx_line": target.get("line"),
                  "service": near.get("service") or fpm.get("service"), "pools": listing,
                  "program": holder or "",
                  "listener_note": f" What listens at {where(target)} now is {holder}, which "
                                   "does not answer as PHP-FPM." if holder else ""},
            evidence=[_pass_evidence(target), _pool_evidence(near)],
            confidence=DIRECT if running else STRONG, causes=["upstream_address_mismatch"])
    return CheckResult("ok", "a PHP-FPM pool listens at every fastcgi_pass address ("
                       + ", ".join(matched) + ")", vars={"pool": matched[0]})


def _serves(fpm: dict[str, Any], pool: dict[str, Any]) -> bool:
    """Does a running PHP-FPM master serve this pool's config?"""
    return any(m.get("conf") == pool.get("conf") for m in fpm.get("masters") or [])


def _matched(facts: Facts) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(nginx target, PHP-FPM pool) for every fastcgi_pass a known pool serves."""
    pools = (facts.get("phpfpm").get("pools")) or []
    pairs = []
    for target in fastcgi_targets(facts):
        pool = pool_for_target(pools, target.get("socket"), target.get("host"),
                               target.get("port"))
        if pool is not None and not target["skip"]:
            pairs.append((target, pool))
    return pairs


@check("phpfpm.timeouts", results={"ok": Status.OK, "too_short": Status.WARNING},
       facts=("nginx", "phpfpm"), causes=("php_fpm_timeout",))
def phpfpm_timeouts(facts: Facts) -> CheckResult:
    """Does PHP-FPM kill requests (request_terminate_timeout) before nginx stops waiting?

    A killed worker closes the connection mid-answer: nginx logs "upstream prematurely
    closed" and answers 502. max_execution_time is reported but not judged: PHP ends such a
    script with a fatal error (a 500, not a 502), and on Linux it counts CPU time only."""
    pairs = _matched(facts)
    if not pairs:
        return CheckResult("skipped", "no fastcgi_pass served by a known PHP-FPM pool")
    global_met = facts.get("phpfpm").get("max_execution_time")
    for target, pool in pairs:
        read = float((target.get("settings") or {}).get("read_timeout") or DEFAULT_READ_TIMEOUT)
        rtt = float(pool.get("request_terminate_timeout") or 0)
        met = pool.get("max_execution_time")
        met = global_met if met is None else met
        vars_ = {"pool": pool["name"], "pool_conf": pool.get("conf"),
                 "target": target["target"], "read_timeout": read,
                 "request_terminate_timeout": rtt, "max_execution_time": met,
                 "file": pool.get("file"), "line": pool.get("line"),
                 "nginx_file": target.get("file"), "nginx_line": target.get("line"),
                 "setting": "request_terminate_timeout", "service": pool.get("service")}
        if 0 < rtt < read:
            return CheckResult(
                "too_short",
                f"PHP-FPM pool {pool['name']} kills requests after {rtt:g}s "
                f"(request_terminate_timeout), before nginx gives up after {read:g}s",
                vars=vars_, causes=["php_fpm_timeout"],
                evidence=[Evidence("file", f"{pool.get('file')}: [{pool['name']}] "
                                           f"request_terminate_timeout = {rtt:g}s"),
                          Evidence("file", f"{target.get('file')}:{target.get('line')}: "
                                           f"fastcgi_read_timeout {read:g}s (effective)")])
    target, pool = pairs[0]
    rtt = float(pool.get("request_terminate_timeout") or 0)
    limit = "no limit" if rtt == 0 else f"{rtt:g}s"
    return CheckResult("ok", f"PHP-FPM does not end requests before nginx stops waiting "
                             f"(request_terminate_timeout: {limit})", vars=vars_)


@check("phpfpm.capacity",
       results={"ok": Status.OK, "low": Status.WARNING, "overcommit": Status.WARNING},
       facts=("nginx", "phpfpm"), causes=("php_fpm_saturated", "resource_exhaustion"))
def phpfpm_capacity(facts: Facts) -> CheckResult:
    """Is pm.max_children sensible for this host's memory?

    low: every child is busy now (dynamic/ondemand pools spawn up to the limit only under
    load), or memory would hold several times more children. overcommit: the children
    could need more memory than the host has, so the OOM killer may end them."""
    pairs = _matched(facts)
    if not pairs:
        return CheckResult("skipped", "no fastcgi_pass served by a known PHP-FPM pool")
    memory = facts.get("phpfpm").get("memory") or {}
    total, available = memory.get("total"), memory.get("available")
    if not total or available is None:
        return CheckResult("unknown", "the host's memory size is not known")
    seen = set()
    for _, pool in pairs:
        if pool["name"] in seen or not pool.get("pm_max_children"):
            continue
        seen.add(pool["name"])
        result = _judge_capacity(pool, int(total), int(available))
        if result.result != "ok":
            return result
    name = pairs[0][1]["name"]
    return CheckResult("ok", f"pm.max_children of pool {name} fits this host's memory",
                       vars={"pool": name})


def _judge_capacity(pool: dict[str, Any], total: int, available: int) -> CheckResult:
    limit = int(pool["pm_max_children"])
    workers = int(pool.get("workers") or 0)
    per_child = int(pool.get("worker_rss_avg") or DEFAULT_CHILD_BYTES)
    # Memory the pool could use: what is free now plus what its children hold already.
    fits = (available + workers * per_child) // per_child
    vars_ = {"pool": pool["name"], "max_children": limit, "workers": workers,
             "per_child_mb": round(per_child / MIB), "fits": int(fits),
             "estimated": not pool.get("worker_rss_avg"),
             "memory_total_mb": round(total / MIB), "memory_available_mb": round(available / MIB),
             "file": pool.get("file"), "line": pool.get("line"), "service": pool.get("service"),
             # A step, not a leap: raise it gradually and watch memory under real load.
             "suggested": max(limit, min(int(fits * 0.8), ROOM_FACTOR * limit))}
    evidence = [Evidence("file", f"{pool.get('file')}: [{pool['name']}] pm = {pool.get('pm')}, "
                                 f"pm.max_children = {limit}"),
                Evidence("process", f"{workers} children running, about {vars_['per_child_mb']}"
                                    f" MiB each{' (estimated)' if vars_['estimated'] else ''}")]
    if limit * per_child > total:
        return CheckResult("overcommit", f"{limit} children of about {vars_['per_child_mb']} MiB"
                           f" need more than the host's {vars_['memory_total_mb']} MiB",
                           vars=vars_, evidence=evidence, confidence=CIRCUMSTANTIAL)
    if pool.get("pm") != "static" and workers >= limit:
        return CheckResult("low", f"all {limit} children of pool {pool['name']} are running: "
                           "PHP-FPM reached pm.max_children", vars=vars_, evidence=evidence,
                           causes=["php_fpm_saturated"])
    if fits >= ROOM_FACTOR * limit:
        return CheckResult("low", f"pool {pool['name']} allows only {limit} requests at once; "
                           f"memory would hold about {fits} children of about "
                           f"{vars_['per_child_mb']} MiB each", vars=vars_, evidence=evidence,
                           confidence=CIRCUMSTANTIAL)
    return CheckResult("ok", f"pool {pool['name']} allows {limit} children (pm.max_children)"
                             f" of about {vars_['per_child_mb']} MiB each: they fit the memory",
                       vars=vars_)
