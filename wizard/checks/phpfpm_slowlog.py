"""What PHP-FPM's slow log says the slow requests were waiting for.

A 504 says only that the answer came too late; the slow log says where the script was when
it passed request_slowlog_timeout: in a database call, an HTTP request to another
service, a sleep. The entry most often seen in the window leads.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from wizard.checks.base import check
from wizard.checks.phpfpm_outlives import served_pools
from wizard.host.facts import Facts
from wizard.host.phpfpm_slowlog import slowlog_path
from wizard.outcome import CIRCUMSTANTIAL, CheckResult, Evidence, Status

MAX_EVIDENCE = 5


def _where(entry: dict[str, Any]) -> tuple[str, str, str]:
    """(the call it was in, file:line, ", called by f()") of an entry's innermost frame."""
    frames = entry.get("frames") or []
    if not frames:
        return "an unknown call (no stack was written)", "?", ""
    caller = f", called by {frames[1]['call']}" if len(frames) > 1 else ""
    return str(frames[0]["call"]), str(frames[0]["where"]), caller


def _evidence(entry: dict[str, Any]) -> Evidence:
    call, where, caller = _where(entry)
    return Evidence("file", f"{entry['source']}: [{entry['time']}] pool {entry['pool']} "
                            f"pid {entry['pid']}: {entry.get('script') or '?'} was in "
                            f"{call} at {where}{caller}")


def _seen_at(entry: dict[str, Any]) -> str:
    """'2026-11-30 04:30:28', as the other findings say a moment."""
    epoch = entry.get("epoch")
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else \
        str(entry.get("time") or "an unknown time")


def _slow(entries: list[dict[str, Any]], timeout: float) -> CheckResult:
    spots = Counter((e.get("script") or "?", *_where(e)) for e in entries)
    (script, call, where, caller), count = spots.most_common(1)[0]
    newest = entries[-1]
    times = "once" if len(entries) == 1 else f"{len(entries)} times"
    share = f" (in {count} of {len(entries)} entries)" if len(entries) > 1 else ""
    variables = {"count": len(entries), "script": script, "call": call, "where": where,
                 "called_by": caller, "share": share, "pool": newest["pool"],
                 "timeout": f"{timeout:g}s", "slowlog": newest["source"],
                 "last_seen": _seen_at(newest)}
    summary = (f"PHP-FPM's slow log noted a request slower than {timeout:g}s {times} (last "
               f"at {_seen_at(newest)}): {script} was in {call} at {where}{caller}{share}")
    picked = [newest, *[e for e in reversed(entries) if _where(e) != _where(newest)]]
    return CheckResult("slow", summary, vars=variables,
                       evidence=[_evidence(e) for e in picked[:MAX_EVIDENCE]],
                       confidence=CIRCUMSTANTIAL)


@check("phpfpm.slowlog",
       results={"ok": Status.OK, "slow": Status.WARNING, "off": Status.SKIPPED,
                "unreadable": Status.WARNING},
       facts=("nginx", "phpfpm", "phpfpm_slowlog"))
def phpfpm_slowlog(facts: Facts) -> CheckResult:
    """Which scripts did PHP-FPM's slow log catch, and what were they waiting for?"""
    pools = [pool for _, pool in served_pools(facts)]
    if not pools:
        return CheckResult("skipped", "no fastcgi_pass served by a known PHP-FPM pool")
    slowlog = facts.get("phpfpm_slowlog")
    paths = {path for pool in pools if (path := slowlog_path(pool))}
    files = [f for f in slowlog.get("files") or [] if f["path"] in paths]
    first = pools[0]
    if not files:
        return CheckResult(
            "off", f"pool {first['name']} keeps no slow log (slowlog and "
                   "request_slowlog_timeout are not both set)",
            vars={"pool": first["name"], "file": first.get("file"), "conf": first.get("conf")},
            evidence=[Evidence("file", f"{first.get('file')}: [{first['name']}] slowlog = "
                                       f"{first.get('slowlog') or '(not set)'}, "
                                       "request_slowlog_timeout = "
                                       f"{first.get('request_slowlog_timeout') or 0:g}s")])
    timeout = min(float(f["timeout"]) for f in files)
    entries = [e for e in slowlog.get("entries") or [] if e["source"] in paths]
    unread = [f for f in files if not f["readable"] and f.get("note") != "not present"]
    if entries:
        return _slow(entries, timeout)
    if unread:
        reasons = "; ".join(f"{f['path']}: {f['note']}" for f in unread)
        return CheckResult("unreadable", f"PHP-FPM's slow log could not be read: {reasons}",
                           vars={"reason": reasons},
                           evidence=[Evidence("file", reasons)])
    logs = ", ".join(sorted(paths))
    return CheckResult("ok", f"PHP-FPM's slow log ({logs}) noted no request slower than "
                             f"{timeout:g}s in the window",
                       vars={"slowlog": logs, "timeout": f"{timeout:g}s"})
