"""Checks over the live probes of nginx's upstreams: can the worker reach each address,
and does every `upstream {}` block keep at least one live server?"""

from __future__ import annotations

from typing import Any

from wizard.causes import cause
from wizard.checks.base import check
from wizard.checks.program_name import program_at
from wizard.checks.url_site import of_site
from wizard.host.facts import Facts
from wizard.outcome import DIRECT, STRONG, CheckResult, Evidence, Status
from wizard.words import lower_first

# probe field values -> (check result, cause id when the target is not PHP-FPM's)
FAILURES = {
    "missing": ("socket_missing", "upstream_down"),
    "refused": ("refused", "upstream_down"),
    "permission": ("permission", "socket_permission"),
    "timeout": ("timeout", "upstream_timeout"),
    "unresolved": ("unresolved", "upstream_dns"),
}
MAX_EVIDENCE = 5
MAX_NAMED = 3  # addresses named in the summary of a healthy walk
# How a finding says the program behind an address when no process shows which it is.
UNNAMED = {"socket_missing": "the program that should create it",
           "refused": "the program that should listen there"}
UNNAMED_RUNNING = "the program behind it"


def failure(probe: dict[str, Any]) -> tuple[str, str] | None:
    """(result, cause) of a failed probe, None when it worked or was not probed."""
    if probe.get("skipped"):
        return None
    connect = probe.get("connect")
    if connect in FAILURES:
        return FAILURES[connect]
    if connect == "error":
        return ("error", "upstream_down")
    if probe.get("tls") in ("failed", "not_tls"):
        return ("tls_failed", "upstream_tls")
    if probe.get("fastcgi") == "no_answer":
        return ("no_answer", "invalid_response")
    if probe.get("fastcgi") == "busy":
        return ("busy", "upstream_timeout")
    return None


def is_phpfpm(probe: dict[str, Any], phpfpm: dict[str, Any] | None) -> bool:
    """Is this PHP-FPM's address: a fastcgi target served (or meant to be) by PHP-FPM?"""
    if probe.get("kind") != "fastcgi":
        return False
    return bool(probe.get("pool") or (phpfpm or {}).get("installed")
                or "php" in str(probe.get("socket") or ""))


def _cause(result: str, base: str, probe: dict[str, Any], phpfpm: dict[str, Any] | None) -> str:
    if result == "busy" and is_phpfpm(probe, phpfpm):
        return "php_fpm_saturated"  # accepted, yet no worker was free to answer
    if result in ("socket_missing", "refused") and is_phpfpm(probe, phpfpm):
        # PHP-FPM runs but listens elsewhere: the address is wrong, not the service down.
        if not probe.get("pool") and (phpfpm or {}).get("running"):
            return "upstream_address_mismatch"
        return "php_fpm_down"
    return base


def program_behind(probe: dict[str, Any], facts: Facts) -> str | None:
    """The program that listens at the probed address ('gunicorn', 'PHP-FPM'), if known."""
    if probe.get("skipped"):
        return None
    return program_at(facts, probe.get("socket"), probe.get("host"), probe.get("port"),
                      probe.get("addresses"))


def _at(probe: dict[str, Any], facts: Facts) -> str:
    """'gunicorn at unix:/run/app.sock', or the address alone when the program is unknown."""
    program = program_behind(probe, facts)
    return f"{program} at {probe.get('target')}" if program else str(probe.get("target"))


def _evidence(probe: dict[str, Any], facts: Facts) -> Evidence:
    return Evidence("probe", f"{_at(probe, facts)}: {probe.get('detail')}")


def _addresses(count: int) -> str:
    return "1 address" if count == 1 else f"{count} addresses"


def socket_remedy(program: str | None, probe: dict[str, Any], service: str | None) -> str:
    """How to let nginx's worker user into the socket, in the program's own settings."""
    user = probe.get("worker_user") or "nginx's user"
    if probe.get("pool") or program == "PHP-FPM":
        return ("Set the pool's listen.owner / listen.group to nginx's user, or listen.mode "
                f"to 0660 with a shared group, then restart {service or 'PHP-FPM'}.")
    if program == "gunicorn":
        return (f"Start gunicorn with --group set to a group {user} is in and --umask 007, "
                "so that group may use the socket, then restart it.")
    if program == "uWSGI":
        return (f"Set chown-socket = {user} (or chmod-socket = 660 with a group {user} is "
                "in) in uWSGI's configuration, then restart it.")
    who = program or "the program that creates the socket"
    return (f"Have {who} create its socket with a group {user} is in and mode 0660, then "
            "restart it.")


def _upstream_alive(probes: list[dict[str, Any]]) -> dict[str, bool]:
    """Per upstream block: does at least one server answer (nginx then fails over)?"""
    alive: dict[str, bool] = {}
    for probe in probes:
        name = probe.get("upstream")
        if name:
            ok = not probe.get("skipped") and failure(probe) is None
            alive[name] = alive.get(name, False) or ok
    return alive


@check("upstream.reachable",
       results={"ok": Status.OK, "socket_missing": Status.PROBLEM, "refused": Status.PROBLEM,
                "permission": Status.PROBLEM, "timeout": Status.PROBLEM,
                "unresolved": Status.PROBLEM, "tls_failed": Status.PROBLEM,
                "no_answer": Status.PROBLEM, "busy": Status.PROBLEM},
       facts=("upstream_probes", "phpfpm", "listening", "processes"),
       causes=("php_fpm_down", "upstream_down", "socket_permission", "upstream_timeout",
               "upstream_dns", "upstream_tls", "invalid_response",
               "upstream_address_mismatch", "php_fpm_saturated"))
def upstream_reachable(facts: Facts) -> CheckResult:
    """Can nginx's worker connect to every address its *_pass directives name, and does the
    peer answer in the expected protocol (FastCGI, TLS)?"""
    probes = of_site(facts.get("upstream_probes") or [], facts)
    phpfpm = facts.try_get("phpfpm")
    probed = [p for p in probes if not p.get("skipped")]
    if not probes:
        return CheckResult("skipped", "nginx passes no request to an upstream")
    if not probed:
        return CheckResult("skipped", "every upstream address uses variables or is marked "
                                      "down; none could be probed",
                           evidence=[_evidence(p, facts) for p in probes[:MAX_EVIDENCE]])
    alive = _upstream_alive(probes)
    # A dead member of a block with a live one is failed over by nginx; it is not the 502.
    failed = [(p, f) for p in probed if (f := failure(p))
              and not (p.get("upstream") and alive.get(p["upstream"]))]
    if not failed:
        skipped = len(probes) - len(probed)
        note = (f"; {_addresses(skipped)} not probed: variables or marked down"
                if skipped else "")
        named = [_at(p, facts) for p in probed[:MAX_NAMED]]
        more = f" and {len(probed) - MAX_NAMED} more" if len(probed) > MAX_NAMED else ""
        return CheckResult("ok", f"every upstream address answers ({_addresses(len(probed))} "
                                 f"probed: {', '.join(named)}{more}{note})",
                           vars={"count": len(probed), "targets": ", ".join(
                               str(p.get("target")) for p in probed)},
                           evidence=[_evidence(p, facts) for p in probed[:MAX_EVIDENCE]])
    probe, (result, base) = failed[0]
    cause = _cause(result, base, probe, phpfpm)
    service = probe.get("service") or ((phpfpm or {}).get("service")
                                       if is_phpfpm(probe, phpfpm) else None)
    vars_ = {key: probe.get(key) for key in ("target", "socket", "host", "port", "worker_user",
                                             "owner", "group", "mode", "kind", "upstream",
                                             "pool", "pool_conf", "detail")}
    program = program_behind(probe, facts)
    vars_.update(service=service or "", failed=len(failed), pool_note=probe.get("pool_note"),
                 program=program or UNNAMED.get(result, UNNAMED_RUNNING),
                 remedy=socket_remedy(program, probe, service))
    summary = f"{_at(probe, facts)}: {probe.get('detail')}"
    if result == "error":
        return CheckResult("unknown", summary,
                           vars=vars_, evidence=[_evidence(p, facts) for p, _ in failed])
    return CheckResult(result, summary, vars=vars_,
                       evidence=[_evidence(p, facts) for p, _ in failed[:MAX_EVIDENCE]],
                       confidence=DIRECT, causes=[cause])


@check("upstream.all_down", results={"ok": Status.OK, "all_down": Status.PROBLEM,
                                     "all_failing": Status.WARNING},
       facts=("nginx", "upstream_probes", "listening", "processes", "phpfpm"),
       causes=("upstream_down",))
def upstream_all_down(facts: Facts) -> CheckResult:
    """Does some upstream {} block nginx uses have no live server ("no live upstreams")?"""
    probes = of_site(facts.get("upstream_probes") or [], facts)
    blocks = (facts.try_get("nginx") or {}).get("upstreams") or {}
    phpfpm = facts.try_get("phpfpm")
    by_block: dict[str, dict[Any, dict[str, Any]]] = {}
    for probe in probes:
        if probe.get("upstream"):  # one probe per server, even when several passes use it
            key = (probe.get("server_index"), probe.get("target"))
            by_block.setdefault(probe["upstream"], {})[key] = probe
    if not by_block:
        return CheckResult("skipped", "no proxy_pass, fastcgi_pass or other pass uses an "
                                      "upstream {} block")
    for name, servers in by_block.items():
        members = list(servers.values())
        if any(not p.get("skipped") and failure(p) is None for p in members):
            continue
        block = blocks.get(name) or {}
        reasons = {_cause(*f, p, phpfpm) for p in members if (f := failure(p)) is not None}
        if reasons and "upstream_down" not in reasons:
            # Every server fails for a reason the step that probed them names (a socket
            # nginx may not open, a timeout, PHP-FPM not running): "the upstream is down"
            # would be a second, vaguer cause for the same failure.
            return CheckResult(
                "all_failing", f"upstream {name}: every server fails "
                f"({'; '.join(sorted(lower_first(cause(r).title) for r in reasons))})",
                confidence=STRONG,
                evidence=[_evidence(p, facts) for p in members[:MAX_EVIDENCE]])
        marked = all(p.get("skipped") for p in members)
        why = "every server is marked down" if marked else "no server answers"
        program = next(filter(None, (program_behind(p, facts) for p in members)), None)
        return CheckResult(
            "all_down", f"upstream {name}: {why}", confidence=DIRECT, causes=["upstream_down"],
            vars={"upstream": name, "file": block.get("file"),
                  "servers": ", ".join(sorted({str(p.get("target")) for p in members})),
                  "line": block.get("line"), "count": len(members),
                  "program": program or UNNAMED["refused"]},
            evidence=[_evidence(p, facts) for p in members[:MAX_EVIDENCE]])
    names = ", ".join(by_block)
    return CheckResult("ok", f"every upstream block has a live server ({names})",
                       vars={"upstreams": names})
