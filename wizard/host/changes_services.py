"""Changes of the services themselves: when nginx's and PHP-FPM's running masters started
(psutil's create_time, already in the `processes` fact), what systemd's journal says of
their units (started, stopped, reloaded, failed, killed), and the lines of their own logs
that mark a stop, a failed start or a dying worker (the `error_log_events` fact already
read and classified those logs: they are reused, not read again)."""

from __future__ import annotations

import re
from typing import Any

from wizard.compat import fromisoformat
from wizard.host.changes_scope import nginx_masters, phpfpm_confs
from wizard.host.changes_window import Window, change, clock
from wizard.host.commands import run, which
from wizard.host.facts import Facts
from wizard.host.nginx_part import config_part

JOURNAL_TIMEOUT = 10.0
SAME_EVENT_SECONDS = 60.0  # log lines this close of one kind are one event
MAX_PER_KIND = 5  # newest events kept per kind of log line

# signature -> (kind of change, subject, words)
LOG_EVENTS: dict[str, tuple[str, str, str]] = {
    "nginx_exiting": ("service_stop", "nginx", "nginx was told to stop"),
    "nginx_bind_failed": ("service_failed", "nginx",
                          "nginx could not bind its port while starting or reloading"),
    "nginx_still_could_not_bind": ("service_failed", "nginx", "nginx gave up starting"),
    "nginx_config_emerg": ("service_failed", "nginx",
                           "nginx refused its configuration while starting or reloading"),
    "nginx_worker_killed": ("crash", "nginx", "an nginx worker was killed (signal 9)"),
    "nginx_worker_crashed": ("crash", "nginx", "an nginx worker crashed"),
    "phpfpm_terminating": ("service_stop", "php-fpm", "PHP-FPM stopped"),
    "phpfpm_init_failed": ("service_failed", "php-fpm", "PHP-FPM failed to start"),
    "phpfpm_config_invalid": ("service_failed", "php-fpm",
                              "PHP-FPM found its configuration invalid"),
    "phpfpm_unable_to_bind": ("service_failed", "php-fpm",
                              "PHP-FPM could not open its listening address"),
    "phpfpm_another_instance": ("service_failed", "php-fpm",
                                "another PHP-FPM already listened on its address"),
    "phpfpm_child_signal_segv": ("crash", "php-fpm", "a PHP-FPM worker crashed"),
    "phpfpm_child_signal_kill": ("crash", "php-fpm", "a PHP-FPM worker was killed (signal 9)"),
    "phpfpm_child_signal": ("crash", "php-fpm", "a PHP-FPM worker died from a signal"),
    "phpfpm_child_exit_code": ("crash", "php-fpm", "a PHP-FPM worker exited with an error"),
    "phpfpm_failed_threshold": ("crash", "php-fpm",
                                "PHP-FPM workers crashed so often that PHP-FPM restarted"),
}


# --- the running masters ----------------------------------------------------------------

def _started(processes: list[dict[str, Any]], pids: list[int]) -> list[dict[str, Any]]:
    wanted = set(pids)
    return [p for p in processes if p.get("pid") in wanted and p.get("create_time")]


def master_starts(facts: Facts, window: Window) -> list[dict[str, Any]]:
    processes = facts.try_get("processes", []) or []
    nginx = config_part(facts) or {}
    phpfpm = facts.try_get("phpfpm") or {}
    found = []
    for proc in _started(processes, nginx_masters(nginx)):
        found.append(change(proc["create_time"], "process start time", "service_start",
                            f"nginx's master process ({proc['pid']}) started", "nginx",
                            pid=proc["pid"]))
    serving = phpfpm_confs(nginx, phpfpm)
    for master in phpfpm.get("masters") or []:
        if master.get("conf") not in serving:
            continue
        for proc in _started(processes, [master.get("pid")]):
            found.append(change(proc["create_time"], "process start time", "service_start",
                                f"PHP-FPM's master process ({proc['pid']}) started", "php-fpm",
                                pid=proc["pid"], conf=master.get("conf")))
    return [entry for entry in found if window.holds(entry["epoch"])]


# --- systemd's journal ------------------------------------------------------------------

# short-iso: "2024-05-01T10:00:00+0000 host systemd[1]: Started nginx.service - ..."
_JOURNAL_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:?\d{2}|Z)?) "
                           r"\S+ ([^\s\[:]+)(?:\[\d+\])?: (.*)$")
_UNIT_MESSAGES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^Started "), "service_start", "started"),
    (re.compile(r"^Stopped "), "service_stop", "stopped"),
    (re.compile(r"^Reloaded "), "service_reload", "reloaded"),
    (re.compile(r"^Failed to start "), "service_failed", "failed to start"),
    (re.compile(r": Failed with result 'oom-kill'"), "crash", "was killed by the OOM killer"),
    (re.compile(r": Main process exited, code=(?:killed|dumped), status=(\S+)"), "crash",
     "died from a signal"),
)


def parse_journal(text: str, unit: str, subject: str) -> list[dict[str, Any]]:
    """The start/stop/reload/failure lines systemd wrote about `unit`."""
    found = []
    for line in text.splitlines():
        m = _JOURNAL_LINE.match(line.strip())
        if not m or m.group(2) != "systemd":
            continue
        try:
            epoch = fromisoformat(m.group(1)).timestamp()
        except ValueError:
            continue
        message = m.group(3)
        for pattern, kind, words in _UNIT_MESSAGES:
            hit = pattern.search(message)
            if hit:
                status = hit.group(1) if hit.groups() else None  # "9/KILL"
                found.append(change(epoch, f"journalctl -u {unit}", kind,
                                    f"{unit} {words}" + (f" ({status})" if status else ""),
                                    subject, line=line.strip(),
                                    signal=status.split("/")[0] if status else None))
                break
    return found


def _units(facts: Facts) -> list[tuple[str, str]]:
    phpfpm = facts.try_get("phpfpm") or {}
    units = [("nginx", "nginx")]
    for conf in phpfpm.get("configs") or []:
        service = conf.get("service")
        if service and (service, "php-fpm") not in units:
            units.append((service, "php-fpm"))
    return units


def journal_changes(facts: Facts, window: Window) -> tuple[list[dict[str, Any]], list[str]]:
    system = facts.try_get("system") or {}
    if system.get("service_manager") != "systemd":
        return [], []  # no journal of units to read: not a problem worth a note
    if which("journalctl") is None:
        return [], ["journalctl is not installed, so the units' history was not read"]
    found: list[dict[str, Any]] = []
    notes: list[str] = []
    for unit, subject in _units(facts):
        result = run(["journalctl", "-u", unit, "--since", f"@{int(window.start)}",
                      "-o", "short-iso", "--no-pager", "-q"], timeout=JOURNAL_TIMEOUT)
        if result.returncode is None or not result.ok:
            notes.append(f"journalctl -u {unit}: {result.error or result.stderr.strip()}")
            continue
        found += parse_journal(result.stdout, unit, subject)
    return [e for e in found if window.holds(e["epoch"])], notes


# --- the services' own logs -------------------------------------------------------------

def _grouped(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: list[list[dict[str, Any]]] = []
    for ev in events:
        if groups and float(ev["epoch"]) - float(groups[-1][-1]["epoch"]) <= SAME_EVENT_SECONDS:
            groups[-1].append(ev)
        else:
            groups.append([ev])
    return groups[-MAX_PER_KIND:]


def log_changes(events: list[dict[str, Any]], window: Window) -> list[dict[str, Any]]:
    """One entry per burst of stop / failed-start / crash lines of one kind in one log."""
    by_kind: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ev in events:
        if ev.get("signature") in LOG_EVENTS and window.holds(ev.get("epoch")):
            by_kind.setdefault((ev["signature"], str(ev.get("source"))), []).append(ev)
    found = []
    for (signature, _source), hits in by_kind.items():
        kind, subject, words = LOG_EVENTS[signature]
        for group in _grouped(sorted(hits, key=lambda ev: float(ev["epoch"]))):
            first, count = group[0], len(group)
            what = words if count == 1 else \
                f"{words} ({count} times until {clock(float(group[-1]['epoch']))})"
            signal = (first.get("fields") or {}).get("signal")
            found.append(change(float(first["epoch"]), first["source"], kind, what, subject,
                                signature=signature, count=count, signal=signal,
                                line=str(first.get("line", ""))[:300]))
    return found


def collect(facts: Facts, window: Window) -> tuple[list[dict[str, Any]], list[str]]:
    entries = master_starts(facts, window)
    journal, notes = journal_changes(facts, window)
    window_events = facts.try_get("error_log_events") or {}
    entries += journal + log_changes(window_events.get("events") or [], window)
    return entries, notes
