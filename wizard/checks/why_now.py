"""Check `changes.recent`: what changed on this host in the hours before the first failing
request (packages, config files, services, OOM kills, a full disk, a deploy), oldest
first, each tied to the causes of a 502 it can bring about. It explains causes; it never
establishes one, so it returns none of its own.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from wizard.checks.base import check
from wizard.host.facts import Facts
from wizard.outcome import CIRCUMSTANTIAL, CheckResult, Evidence, Status

MAX_LISTED = 10  # in the step's words; the evidence and the report carry more
MAX_EVIDENCE = 30
ROLE_CAUSES = {
    "php_fpm": ["php_fpm_down", "upstream_address_mismatch"],
    "nginx": ["nginx_config_invalid", "nginx_not_running"],
    "php": ["upstream_crash"],
    "tls": ["upstream_tls"],
    "runtime": ["upstream_down", "upstream_crash"],
    "selinux": ["mac_denied"],
    "kernel": [],  # a new kernel counts only after a reboot, which shows as restarts
}
# How telling a kind of change is when it explains something: a config nginx would reject
# beats a package upgrade, which beats a deploy; starts and reloads are only context.
WEIGHT = {"service_failed": 8, "service_stop": 7, "oom_kill": 7, "disk_full": 7,
          "config_pending": 6, "package": 5, "crash": 5, "deploy": 4, "config": 4,
          "service_reload": 1, "service_start": 1}


# --- which causes a change can bring about ---------------------------------------------

def _down(subject: str | None) -> list[str]:
    return ["nginx_not_running"] if subject == "nginx" else \
        ["php_fpm_down"] if subject == "php-fpm" else ["upstream_down"]


def _config(subject: str | None, details: dict[str, Any]) -> list[str]:
    """A config the server refuses stops it at the next reload; a file that says where
    requests go (a *_pass line, a pool's listen) can point nginx and PHP-FPM apart."""
    failing = details.get("test_ok") is False
    addresses = bool(details.get("addresses"))
    if subject == "nginx":
        return (["nginx_config_invalid"] if failing else []) + \
            (["upstream_address_mismatch"] if addresses else [])
    return (["php_fpm_down"] if failing else []) + \
        (["upstream_address_mismatch", "socket_permission"] if addresses else [])


def _crash(subject: str | None, details: dict[str, Any], what: str) -> list[str]:
    killed = str(details.get("signal")) == "9" or "OOM" in what or "signal 9" in what
    if "signature" not in details:  # systemd: the service's main process itself died
        return _down(subject) + (["resource_exhaustion"] if killed else [])
    if subject == "nginx":
        return ["resource_exhaustion"] if killed else []
    return ["upstream_crash"] + (["resource_exhaustion"] if killed else [])


def explains(entry: dict[str, Any]) -> list[str]:
    """The cause ids (CONTRACTS.md) this change can bring about, most likely first."""
    kind, subject = entry.get("kind"), entry.get("subject")
    details = entry.get("details") or {}
    if kind == "package":
        found = [c for r in details.get("roles") or [] for c in ROLE_CAUSES.get(r, [])]
    elif kind in ("config_pending", "config"):
        found = _config(subject, details)
    elif kind == "service_stop":
        found = _down(subject)
    elif kind == "service_failed":
        found = _down(subject) + (["nginx_config_invalid"] if subject == "nginx" else [])
    elif kind == "crash":
        found = _crash(subject, details, str(entry.get("what", "")))
    elif kind == "oom_kill":
        found = ["resource_exhaustion"] if subject == "nginx" else \
            ["upstream_crash", "resource_exhaustion"]
    elif kind == "disk_full":
        found = ["resource_exhaustion"]
    elif kind == "deploy":
        found = ["script_not_found", "file_permission", "upstream_crash"]
    else:
        found = []  # a start or reload is context: the config changes carry the blame
    return list(dict.fromkeys(found))


# --- words ------------------------------------------------------------------------------

def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def span(seconds: float) -> str:
    """40 -> 'less than a minute', 2400 -> '40 minutes', 9000 -> '2.5 hours'."""
    seconds = abs(seconds)
    if seconds < 60:
        return "less than a minute"
    if seconds < 90 * 60:
        return _plural(round(seconds / 60), "minute")
    if seconds < 48 * 3600:
        hours = round(seconds / 3600 * 2) / 2
        return f"{hours:g} hours" if hours != 1 else "1 hour"
    return _plural(round(seconds / 86400), "day")


def ago(epoch: float, now: float) -> str:
    return "just now" if now - epoch < 60 else f"{span(now - epoch)} ago"


def shown_time(epoch: float, now: float) -> str:
    """'10:02' today, 'Nov 29 23:39' on another day."""
    same_day = time.localtime(epoch)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M" if same_day else "%b %d %H:%M", time.localtime(epoch))


def evidence_source(source: str) -> str:
    if source.startswith("journalctl") or source == "dmesg":
        return "command"
    if source == "process start time":
        return "process"
    return "probe" if source == "statvfs" else "file"


# --- the check ----------------------------------------------------------------------------

def _weight(raw: dict[str, Any], later: list[dict[str, Any]]) -> int:
    weight = WEIGHT.get(str(raw.get("kind")), 0)
    if (raw.get("details") or {}).get("test_ok") is False:
        weight += 3  # a change the server would refuse: it fails the next reload
    if raw.get("kind") in ("service_stop", "service_failed") and any(
            e.get("kind") == "service_start" and e.get("subject") == raw.get("subject")
            for e in later):
        weight = 2  # it was started again since: context more than the reason
    return weight


def entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The fact's changes as the report and the flow's words use them, oldest first."""
    now = float(data.get("now") or time.time())
    failure = (data.get("window") or {}).get("first_failure")
    raws = sorted(data.get("entries") or [], key=lambda e: e["epoch"])
    out = []
    for index, raw in enumerate(raws):
        epoch = float(raw["epoch"])
        state = raw.get("kind") == "disk_full"  # measured now: a state, not an event
        out.append({
            "time": datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds"),
            "ago": "measured now" if state else ago(epoch, now),
            "shown": shown_time(epoch, now),
            "source": raw.get("source", ""), "what": raw.get("what", ""),
            "kind": raw.get("kind"), "explains": explains(raw), "epoch": epoch,
            "after_failure": failure is not None and epoch > float(failure) and not state,
            "weight": _weight(raw, raws[index + 1:]),
        })
    return out


def most_telling(listed: list[dict[str, Any]]) -> dict[str, Any]:
    """The change that best explains the failure: one that can bring a cause about, before
    the failure, of the most telling kind, the latest of those."""
    candidates = [e for e in listed if e["explains"] and not e["after_failure"]] or \
        [e for e in listed if e["explains"]] or listed
    return max(candidates, key=lambda e: (e["weight"], e["epoch"]))


def _line(entry: dict[str, Any]) -> str:
    after = ", after the first failure" if entry["after_failure"] else ""
    return f"- {entry['shown']}: {entry['what']} ({entry['ago']}{after})"


def _evidence(listed: list[dict[str, Any]]) -> list[Evidence]:
    return [Evidence(evidence_source(e["source"]),
                     f"{e['shown']} {e['what']}" +
                     ("" if e["source"] in e["what"] else f" ({e['source']})"))
            for e in listed[-MAX_EVIDENCE:]]


def _variables(data: dict[str, Any], listed: list[dict[str, Any]]) -> dict[str, Any]:
    window = data.get("window") or {}
    failure, now = window.get("first_failure"), float(data.get("now") or time.time())
    lines = [_line(e) for e in listed[-MAX_LISTED:]]
    if len(listed) > MAX_LISTED:
        lines.insert(0, f"- ({len(listed) - MAX_LISTED} earlier changes are in the evidence)")
    quiet = [e for e in listed if not e["explains"]]
    return {
        "change_entries": [{k: e[k] for k in ("time", "ago", "source", "what", "kind",
                                              "explains", "after_failure")} for e in listed],
        "change_count": len(listed),
        "change_hours": f"{float(window.get('lead_seconds') or 0) / 3600:g}",
        "change_anchor": f"the first failure at {shown_time(float(failure), now)}"
        if failure is not None else "now",
        "change_list": "\n".join(lines) or "- nothing",
        "change_others": f" {_plural(len(quiet), 'other change')} that rarely cause one "
                         f"{'is' if len(quiet) == 1 else 'are'} listed in the evidence."
        if quiet else "",
        "change_unread": f" Not read: {'; '.join(data['notes'])}." if data.get("notes")
        else "",
    }


def _telling_words(entry: dict[str, Any], failure: float | None) -> str:
    when = entry["ago"]
    if failure is not None and not entry["after_failure"] and entry["kind"] != "disk_full":
        when += f", {span(float(failure) - entry['epoch'])} before the first failure"
    return f"{entry['what']} ({when})"


@check("changes.recent", results={"changed": Status.WARNING, "none": Status.OK},
       facts=("changes",), timeout=60.0)
def recent_changes(facts: Facts) -> CheckResult:
    """What changed on this host in the hours before the first failure, and what it explains."""
    data = facts.get("changes")
    listed = entries(data)
    variables = _variables(data, listed)
    failure = (data.get("window") or {}).get("first_failure")
    evidence = _evidence(listed)
    if not any(e["explains"] for e in listed):
        summary = (f"nothing changed in the {variables['change_hours']} hours before "
                   f"{variables['change_anchor']} that usually causes a 502")
        if listed:
            summary += f" ({_plural(len(listed), 'other change')} listed)"
        return CheckResult("none", summary, vars=variables, evidence=evidence,
                           confidence=CIRCUMSTANTIAL)
    telling = _telling_words(most_telling(listed), failure)
    variables["change_telling"] = telling
    others = len(listed) - 1
    summary = telling + (f"; {_plural(others, 'other change')} listed" if others else "")
    return CheckResult("changed", summary, vars=variables, evidence=evidence,
                       confidence=CIRCUMSTANTIAL)
