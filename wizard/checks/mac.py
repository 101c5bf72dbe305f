"""Check `mac.denials`: does SELinux or AppArmor refuse nginx its upstream (or a file)?

An audit record of the refusal is the proof. Without one (no root to read the audit
log), SELinux enforcing with httpd_can_network_connect off, together with nginx's own
"(13: Permission denied)" for a TCP upstream, is enough: no firewall answers a connection
with that error (a REJECT gives "refused" or "no route to host", a DROP a timeout);
SELinux does. A 13 on a unix socket whose mode keeps nginx's worker out is the socket's
own permission, which the upstream check reports; it is no sign of SELinux.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from wizard.checks.base import check
from wizard.host.facts import Facts, FactUnavailable
from wizard.host.mac import ACTIVE_MODES, domain
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, STRONG, CheckResult, Evidence, Status
from wizard.socket_path import canonical_socket

TCP_REFUSED = "upstream_connect_forbidden"  # signatures in wizard/signatures.py
SOCKET_REFUSED = "socket_permission_denied"
NETWORK_BOOLEAN = "httpd_can_network_connect"
CONNECT_PERMISSIONS = {"name_connect", "connectto", "write"}
CONNECT_CLASSES = {"tcp_socket", "unix_stream_socket", "sock_file"}
MAX_EVIDENCE = 4
_PORT = re.compile(r":(?P<port>\d{1,5})(?:/|$)")


# --- what the records say -----------------------------------------------------------------

def blocks(record: dict[str, Any], mode: str | None) -> bool:
    """Did this record stop nginx (not just log what would have been refused)?"""
    if record.get("mac") == "apparmor":
        return record.get("verdict") == "DENIED"  # ALLOWED: the profile only complains
    if record.get("verdict") != "denied":
        return False
    permissive = record.get("permissive")  # per record since Linux 4.17; before: the mode
    return permissive == "0" if permissive is not None else mode == "enforcing"


def is_connection(record: dict[str, Any]) -> bool:
    if record.get("mac") == "apparmor":
        return record.get("operation") == "connect"
    return record.get("tclass") in CONNECT_CLASSES and bool(
        set(record.get("permissions") or []) & CONNECT_PERMISSIONS)


def refusals(facts: Facts) -> list[dict[str, Any]]:
    """nginx's "(13: Permission denied)" connecting to an upstream, newest first."""
    window = facts.try_get("error_log_events") or {}
    return [ev for ev in reversed(window.get("events") or [])
            if ev.get("kind") == "nginx" and ev.get("signature") in (TCP_REFUSED, SOCKET_REFUSED)]


def port_of(event: dict[str, Any]) -> str | None:
    fields = event.get("fields") or {}
    for text in (fields.get("peer"), fields.get("upstream")):
        m = _PORT.search(str(text or ""))
        if m:
            return m["port"]
    return None


def matches(record: dict[str, Any], event: dict[str, Any]) -> bool:
    """Is `record` the refusal behind nginx's log line `event`?"""
    socket = (event.get("fields") or {}).get("socket")
    if socket:
        return socket in (record.get("path"), record.get("name")) or \
            os.path.basename(socket) == record.get("name")
    return record.get("tclass") == "tcp_socket" and record.get("dest") == port_of(event)


def mode_explains(event: dict[str, Any], probes: list[dict[str, Any]]) -> bool:
    """The socket's owner and mode keep nginx's worker out: that is the 13."""
    socket = (event.get("fields") or {}).get("socket")
    if not socket:
        return False
    wanted = canonical_socket(str(socket))
    return any(p.get("socket") and canonical_socket(p["socket"]) == wanted
               and p.get("worker_can_connect") is False for p in probes)


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "an unknown time"


def _evidence(record: dict[str, Any]) -> Evidence:
    source = str(record.get("source") or "")
    # a log file's path, or the command that printed it (journalctl, dmesg)
    return Evidence("file" if source.startswith("/") else "command",
                    f"{source}: {record.get('line')}")


# --- the words for one refusal ------------------------------------------------------------

CONNECTION_WHY = "Without that connection nginx has nothing to pass on and answers 502 Bad Gateway."
OTHER_WHY = ("That is not nginx's connection to its upstream, but it can keep nginx from "
             "starting or from serving a file.")


def network_remedy(port: str) -> str:
    narrow = (f" To allow only port {port} instead, give it the web port type: semanage port "
              f"-a -t http_port_t -p tcp {port}.") if port else ""
    return (f"Turn on the SELinux setting {NETWORK_BOOLEAN}, which lets the web server open "
            f"network connections (the fix below).{narrow}")


def apparmor_rule(record: dict[str, Any]) -> str:
    """The profile line that would allow what was refused."""
    if record.get("family"):
        return f"network {record['family']} {record.get('sock_type') or 'stream'},"
    mask = str(record.get("requested_mask") or record.get("denied_mask") or "r")
    letters = set(mask.replace("c", "w").replace("d", "w"))  # create/delete need w
    return f"{record.get('name')} {''.join(c for c in 'rwklmx' if c in letters) or 'r'},"


def _socket_of(record: dict[str, Any], events: list[dict[str, Any]],
               sockets: list[dict[str, Any]]) -> str:
    if str(record.get("path") or "").startswith("/"):
        return str(record["path"])
    for event in events:
        socket = (event.get("fields") or {}).get("socket")
        if socket and matches(record, event):
            return str(socket)
    name = record.get("name")
    return next((s["socket"] for s in sockets if os.path.basename(s["socket"]) == name), "")


def _selinux_words(record: dict[str, Any], events: list[dict[str, Any]],
                   mac: dict[str, Any]) -> dict[str, Any]:
    target = record.get("path") or record.get("name") or "a file"
    if record.get("tclass") == "tcp_socket" and is_connection(record):
        port = record.get("dest") or ""
        logged = next((ev for ev in events if matches(record, ev)), {})
        peer = (logged.get("fields") or {}).get("peer")
        where = f" ({peer})" if peer and str(peer).endswith(f":{port}") else ""
        return {"what": f"the connection to port {port}{where}", "port": port,
                "boolean": NETWORK_BOOLEAN, "socket": "", "socket_dir": "",
                "remedy": network_remedy(port)}
    if is_connection(record):
        socket = _socket_of(record, events, mac.get("sockets") or [])
        folder = os.path.dirname(socket) if socket else ""
        return {"what": f"the socket {socket or target}", "port": "", "boolean": "",
                "socket": socket, "socket_dir": folder,
                "remedy": (f"Label the socket's folder {folder} httpd_var_run_t, the type nginx "
                           f"may connect to (the fix below); the rule also covers the socket "
                           f"its program creates again after a restart.") if folder else
                          "Give the socket a label nginx may connect to (httpd_var_run_t)."}
    kind = domain(record.get("tcontext")) or "its"
    return {"what": f"access to {target} ({', '.join(record.get('permissions') or [])})",
            "port": "", "boolean": "", "socket": "", "socket_dir": "",
            "remedy": f"The file's SELinux type ({kind}) is not one nginx may use: give it a "
                      f"web type with semanage fcontext and restorecon."}


def _apparmor_words(record: dict[str, Any]) -> dict[str, Any]:
    name = str(record.get("name") or "")
    rule = apparmor_rule(record)
    if is_connection(record):
        what = f"the socket {name}" if name.startswith("/") else \
            f"network connections ({record.get('family') or name})"
    else:
        what = f"access to {name or 'a file'} ({record.get('operation')})"
    return {"what": what, "port": "", "boolean": "", "socket": "", "socket_dir": "",
            "rule": rule, "profile": record.get("profile") or "",
            "remedy": f"nginx's AppArmor profile {record.get('profile')} does not allow it. Add "
                      f"the line `{rule}` to that profile (or to its include in "
                      f"/etc/apparmor.d/local/), then reload it with apparmor_parser -r. "
                      f"The wizard does not change AppArmor profiles itself."}


# --- results ------------------------------------------------------------------------------

def _ranked(records: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The refusal behind nginx's own log line first, then other connections, newest first."""
    def key(record: dict[str, Any]) -> tuple[bool, bool, float]:
        behind = any(matches(record, ev) for ev in events)
        return (behind and is_connection(record), is_connection(record),
                record.get("epoch") or 0.0)

    return sorted(records, key=key, reverse=True)


def _denied(records: list[dict[str, Any]], events: list[dict[str, Any]],
            mac: dict[str, Any]) -> CheckResult:
    top = records[0]
    selinux = top.get("mac") == "selinux"
    words = _selinux_words(top, events, mac) if selinux else _apparmor_words(top)
    who = "SELinux" if selinux else "AppArmor"
    connection = is_connection(top)
    what = ("tclass", "dest", "name", "operation")
    same = [r for r in records if all(r.get(k) == top.get(k) for k in what)]
    evidence = [_evidence(r) for r in records[:MAX_EVIDENCE]]
    logged = next((ev for ev in events if matches(top, ev)), None)
    if logged:
        evidence.append(Evidence("error_log", f"{logged['source']}: {logged['line']}"))
    boolean = ((mac.get("selinux") or {}).get("booleans") or {}).get(words.get("boolean") or "")
    if boolean:
        evidence.append(Evidence("command", f"getsebool: {boolean['line']}"))
    return CheckResult(
        "denied",
        f"{who} refused nginx {words['what']} {len(same)} time(s), last at "
        f"{_when(top.get('epoch'))}",
        vars={**words, "mac": who, "count": len(same), "last_time": _when(top.get("epoch")),
              "denial": top.get("line"), "why": CONNECTION_WHY if connection else OTHER_WHY},
        evidence=evidence, confidence=DIRECT if connection else CIRCUMSTANTIAL,
        causes=["mac_denied"])


def _boolean_finding(selinux: dict[str, Any], events: list[dict[str, Any]]) -> CheckResult | None:
    """No audit record at hand, but the setting is off and nginx logged the refusal."""
    boolean = (selinux.get("booleans") or {}).get(NETWORK_BOOLEAN) or {}
    tcp = [ev for ev in events if ev.get("signature") == TCP_REFUSED]
    if selinux.get("mode") != "enforcing" or boolean.get("value") != "off" or not tcp:
        return None
    port = port_of(tcp[0]) or ""
    return CheckResult(
        "denied",
        f"SELinux enforces with {NETWORK_BOOLEAN} off, and nginx was refused a TCP upstream "
        f"{len(tcp)} time(s) with permission denied",
        vars={"mac": "SELinux", "what": f"the connection to port {port}" if port else
              "its network connections", "port": port, "boolean": NETWORK_BOOLEAN,
              "socket": "", "socket_dir": "", "count": len(tcp),
              "last_time": tcp[0].get("time") or "an unknown time",
              "why": CONNECTION_WHY, "remedy": network_remedy(port)},
        evidence=[Evidence("command", f"getsebool: {boolean.get('line')}"),
                  Evidence("error_log", f"{tcp[0]['source']}: {tcp[0]['line']}")],
        confidence=STRONG, causes=["mac_denied"])


def _unread(mac: dict[str, Any]) -> str | None:
    """Why refusals may be missing from what was read, or None when they would show.

    The first log is the audit log: where auditd writes one, every refusal goes there.
    Without auditd (no audit log) they go to the kernel's log instead."""
    logs = mac.get("logs") or []
    audit, others = (logs[0], logs[1:]) if logs else ({}, [])
    if audit.get("status") == "ok":
        return None
    if audit.get("status") == "missing" and any(log.get("status") == "ok" for log in others):
        return None
    return "; ".join(f"{log['source']}: {log.get('reason') or log.get('status')}"
                     for log in logs if log.get("status") != "ok") or "no log was read"


def _ok(mac: dict[str, Any]) -> CheckResult:
    selinux, apparmor = mac.get("selinux") or {}, mac.get("apparmor") or {}
    parts: list[str] = []
    mode = selinux.get("mode")
    if mode == "permissive":
        logged = len([r for r in mac.get("denials") or [] if r.get("mac") == "selinux"])
        parts.append("SELinux is in permissive mode: it only logs what it would refuse and "
                     "blocks nothing" + (f" ({logged} refusal(s) for nginx were logged, which "
                                         f"enforcing mode would apply)" if logged else ""))
    elif mode == "enforcing":
        parts.append("SELinux enforces and refused nginx nothing in the window")
    if apparmor.get("enabled"):
        profile, how = apparmor.get("nginx_profile"), apparmor.get("nginx_mode")
        if how == "complain":
            parts.append(f"AppArmor only logs for nginx (profile {profile} in complain mode)")
        elif how == "enforce":
            parts.append(f"AppArmor confines nginx (profile {profile}) and refused it nothing "
                         f"in the window")
        else:
            parts.append("AppArmor is active but does not confine nginx")
    unread = _unread(mac)
    note = f" (the logs could not be read: {unread})" if unread else ""
    return CheckResult("ok", "; ".join(parts) + note,
                       vars={"mode": mode or "", "profile": apparmor.get("nginx_profile") or ""},
                       evidence=[Evidence("file" if str(log["source"]).startswith("/")
                                          else "command",
                                          f"{log['source']}: {log.get('reason') or 'read'}")
                                 for log in mac.get("logs") or []],
                       confidence=CIRCUMSTANTIAL)


@check("mac.denials", results={"ok": Status.OK, "denied": Status.PROBLEM},
       facts=("mac", "error_log_events", "upstream_probes"), causes=("mac_denied",))
def mac_denials(facts: Facts) -> CheckResult:
    """Does SELinux or AppArmor refuse nginx the connection to its upstream, or a file?"""
    try:
        mac = facts.get("mac")
    except FactUnavailable as exc:
        return CheckResult("unknown", f"SELinux and AppArmor could not be read: {exc}")
    selinux, apparmor = mac.get("selinux") or {}, mac.get("apparmor") or {}
    mode = selinux.get("mode")
    if mode not in ACTIVE_MODES and not apparmor.get("enabled"):
        return CheckResult("skipped", "neither SELinux nor AppArmor is active on this host",
                           confidence=CIRCUMSTANTIAL)
    events = refusals(facts)
    stopped = [r for r in mac.get("denials") or [] if blocks(r, mode)]
    if stopped:
        return _denied(_ranked(stopped, events), events, mac)
    by_boolean = _boolean_finding(selinux, events)
    if by_boolean:
        return by_boolean
    probes = facts.try_get("upstream_probes") or []
    unexplained = [ev for ev in events if not mode_explains(ev, probes)]
    confines = mode == "enforcing" or apparmor.get("nginx_mode") == "enforce"
    unread = _unread(mac)
    if unexplained and unread and confines:
        return CheckResult(
            "unknown",
            f"nginx was refused its upstream with permission denied, and the logs that would "
            f"say whether SELinux or AppArmor did it could not be read ({unread}); run the "
            f"wizard as root",
            vars={"reason": unread})
    return _ok(mac)
