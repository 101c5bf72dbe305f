"""Fact `mac`: SELinux and AppArmor, the mandatory access control that can refuse nginx a
connection (or a file) that the file modes and the firewall would let through.

Every part is optional and bounded; a missing tool or a read that needs root becomes a
note, never an error:
- SELinux: its mode (`getenforce`, else /sys/fs/selinux/enforce), the two booleans that
  let the web server domain (httpd_t, the domain nginx runs in) connect out
  (`getsebool`), nginx's own context, and the label of every unix socket nginx passes
  to and of its folder (the security.selinux attribute `ls -Z` shows);
- AppArmor: whether the module is on and the profile nginx's processes run under;
- the refusals for nginx in the session's window: audit.log (auditd writes SELinux AVC
  and AppArmor records there), read from its end, and the kernel's own log (the journal
  on systemd hosts, else /var/log/kern.log, else dmesg), where they go without auditd.
"""

from __future__ import annotations

import errno
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from wizard.host.commands import CommandResult, run, which
from wizard.host.errorlog import reverse_lines
from wizard.host.facts import Facts, fact
from wizard.host.nginx_part import config_part
from wizard.host.upstreams import expand_targets

BOOLEANS = ("httpd_can_network_connect", "httpd_can_network_relay")
NGINX_DOMAIN = "httpd_t"  # the SELinux domain nginx runs in on RHEL, Fedora and SUSE
ACTIVE_MODES = ("enforcing", "permissive")
COMMAND_TIMEOUT = 10.0
MAX_SCAN_BYTES = 16 * 1024 * 1024  # per log file: a huge audit.log costs only its window
MAX_DENIALS = 200
MAX_LINE = 1000
MAX_SOCKETS = 16
JOURNAL_LINES = 20000


@dataclass(frozen=True)
class Sources:
    """Where each part is read; tests point these at recorded files."""

    audit_log: str = "/var/log/audit/audit.log"
    kern_log: str = "/var/log/kern.log"
    selinux_enforce: str = "/sys/fs/selinux/enforce"
    apparmor_enabled: str = "/sys/module/apparmor/parameters/enabled"
    proc: str = "/proc"


# --- one refusal record -----------------------------------------------------------------

_STAMP = re.compile(r"audit\((?P<epoch>\d+(?:\.\d+)?):(?P<serial>\d+)\)")
_AVC = re.compile(r"avc:\s+(?P<verdict>denied|granted)\s+\{\s*(?P<perms>[^}]*?)\s*\}\s+for\s")
_APPARMOR = re.compile(r'apparmor="(?P<verdict>DENIED|ALLOWED)"')
# key=value pairs; keys in lower case only: auditd's ENRICHED format appends its
# translations (UID="root" ...) in upper case after a \x1d separator.
_FIELD = re.compile(r'(?<![\w"])(?P<key>[a-z_]+)=(?P<value>"[^"]*"|[^\s"]+)')
_JOURNAL_TIME = re.compile(r"^(?P<epoch>\d{9,}\.\d+) ")
_HEX = re.compile(r"^(?:[0-9A-F]{2})+$")
_KEPT = ("pid", "comm", "scontext", "tcontext", "tclass", "dest", "src", "path", "name",
         "permissive", "profile", "operation", "requested_mask", "denied_mask", "family",
         "sock_type", "info")


_TEXT_FIELDS = ("comm", "name", "path")  # audit writes these in hex when they hold spaces


def _value(key: str, raw: str) -> str:
    if raw.startswith('"'):
        return raw[1:-1]
    if key in _TEXT_FIELDS and _HEX.match(raw):
        try:
            return bytes.fromhex(raw).decode("utf-8", errors="replace")
        except ValueError:
            return raw
    return raw


def parse_denial(line: str, epoch_hint: float | None = None) -> dict[str, Any] | None:
    """One SELinux AVC or AppArmor record as a dict, None when the line is neither."""
    avc = _AVC.search(line)
    match = avc or _APPARMOR.search(line)
    if match is None:
        return None
    # SELinux's fields follow its "{ perms } for"; AppArmor's start at apparmor="..."
    body = line[match.end():] if avc else line[match.start():]
    fields = {m["key"]: _value(m["key"], m["value"]) for m in _FIELD.finditer(body)}
    stamp = _STAMP.search(line)
    record: dict[str, Any] = {key: fields.get(key) for key in _KEPT}
    record.update(
        mac="selinux" if avc else "apparmor",
        verdict=match["verdict"],
        permissions=avc["perms"].split() if avc else [],
        epoch=float(stamp["epoch"]) if stamp else epoch_hint,
        serial=int(stamp["serial"]) if stamp else None,
        line=line.strip()[:MAX_LINE],
    )
    return record


def domain(context: str | None) -> str:
    """'system_u:system_r:httpd_t:s0' -> 'httpd_t'."""
    parts = (context or "").split(":")
    return parts[2] if len(parts) >= 3 else ""


def concerns_nginx(record: dict[str, Any]) -> bool:
    if record.get("comm") == "nginx":
        return True
    if record["mac"] == "selinux":
        return domain(record.get("scontext")) == NGINX_DOMAIN
    return "nginx" in str(record.get("profile") or "")


# --- reading the logs -------------------------------------------------------------------

class Found:
    """The refusals for nginx, each once (auditd and the kernel may both carry one)."""

    def __init__(self) -> None:
        self.records: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add(self, source: str, line: str, epoch_hint: float | None = None) -> None:
        record = parse_denial(line, epoch_hint)
        if record is None or not concerns_nginx(record):
            return
        record["source"] = source
        # By what was refused and when, not by the audit serial: journald's copy of a
        # record it took from the audit socket carries no serial.
        key = (record["mac"], record["pid"], record["verdict"], *record["permissions"],
               record["operation"], record["tclass"], record["dest"], record["name"],
               record["path"], int(record["epoch"] or 0))
        self.records.setdefault(key, record)

    def newest(self) -> list[dict[str, Any]]:
        ordered = sorted(self.records.values(), key=lambda r: r.get("epoch") or 0.0,
                         reverse=True)
        return ordered[:MAX_DENIALS]


def _unreadable(source: str, exc: OSError) -> dict[str, Any]:
    if exc.errno == errno.ENOENT:
        return {"source": source, "status": "missing", "reason": "the file does not exist"}
    if exc.errno in (errno.EACCES, errno.EPERM) and os.geteuid() != 0:
        return {"source": source, "status": "unreadable", "reason": "needs root to read"}
    return {"source": source, "status": "unreadable", "reason": exc.strerror or str(exc)}


def _why(result: CommandResult) -> str:
    """A failed command's reason in one line."""
    lines = result.output.splitlines()
    return result.error or (lines[0] if lines else f"exit code {result.returncode}")


def read_backwards(path: str, cutoff: float, found: Found) -> dict[str, Any]:
    """A log of audit records from its end back to `cutoff` (or MAX_SCAN_BYTES)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        return _unreadable(path, exc)
    budget = [MAX_SCAN_BYTES]
    with fh:
        end = fh.seek(0, os.SEEK_END)
        for raw in reverse_lines(fh, end, budget):
            if b"audit(" not in raw:
                continue
            text = raw.decode("utf-8", errors="replace")
            stamp = _STAMP.search(text)
            if stamp and float(stamp["epoch"]) < cutoff:
                break
            if b"denied" in raw or b"apparmor=" in raw:
                found.add(path, text)
    status = {"source": path, "status": "ok", "reason": None}
    if budget[0] <= 0:
        status["reason"] = f"only the last {MAX_SCAN_BYTES // (1024 * 1024)} MB were read"
    return status


def read_journal(cutoff: float, found: Found) -> dict[str, Any]:
    """Kernel and audit messages of the window, newest first (what `journalctl -k` shows,
    plus the records journald takes from the audit socket, which -k leaves out)."""
    source = "journalctl (kernel and audit messages)"
    result = run(["journalctl", "--reverse", "--quiet", "--no-pager", "--output", "short-unix",
                  "--since", f"@{int(cutoff)}", "--lines", str(JOURNAL_LINES),
                  "_TRANSPORT=kernel", "_TRANSPORT=audit"], timeout=COMMAND_TIMEOUT)
    if not result.ok:
        return {"source": source, "status": "unreadable", "reason": _why(result)}
    for line in result.stdout.splitlines():
        if "denied" in line or "apparmor=" in line:
            stamp = _JOURNAL_TIME.match(line)
            found.add(source, line, float(stamp["epoch"]) if stamp else None)
    return {"source": source, "status": "ok", "reason": None}


def read_dmesg(cutoff: float, found: Found) -> dict[str, Any]:
    result = run(["dmesg"], timeout=COMMAND_TIMEOUT)
    if not result.ok:  # dmesg_restrict: only root may read the kernel's buffer
        return {"source": "dmesg", "status": "unreadable", "reason": _why(result)}
    for line in result.stdout.splitlines():
        stamp = _STAMP.search(line)
        if stamp and float(stamp["epoch"]) >= cutoff and ("denied" in line or "apparmor=" in line):
            found.add("dmesg", line)
    return {"source": "dmesg", "status": "ok", "reason": None}


def read_denials(sources: Sources, cutoff: float, systemd: bool,
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(logs read and how, refusals for nginx newest first)."""
    found = Found()
    logs = [read_backwards(sources.audit_log, cutoff, found)]
    if systemd and which("journalctl"):
        logs.append(read_journal(cutoff, found))
    if len(logs) == 1 or logs[-1]["status"] != "ok":  # no journal, or an old one
        logs.append(read_backwards(sources.kern_log, cutoff, found)
                    if os.path.isfile(sources.kern_log) else read_dmesg(cutoff, found))
    return logs, found.newest()


# --- SELinux ----------------------------------------------------------------------------

_SEBOOL = re.compile(r"^(?P<name>\S+) --> (?P<value>on|off)(?: pending: (?P<pending>on|off))?$")


def parse_getsebool(text: str) -> dict[str, dict[str, Any]]:
    """`getsebool NAME...` output -> {name: {value, pending, line}}."""
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        m = _SEBOOL.match(line.strip())
        if m:
            found[m["name"]] = {"value": m["value"], "pending": m["pending"],
                                "line": line.strip()}
    return found


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None


def selinux_mode(sources: Sources) -> tuple[str | None, str, list[str]]:
    """(enforcing | permissive | disabled | None when SELinux is not there, source, notes)."""
    notes: list[str] = []
    result = run(["getenforce"], timeout=COMMAND_TIMEOUT)
    word = result.stdout.strip().lower()
    if result.ok and word in (*ACTIVE_MODES, "disabled"):
        return word, "getenforce", notes
    if result.returncode is not None or "not installed" not in (result.error or ""):
        notes.append(f"getenforce: {_why(result)}")
    enforce = _read_text(sources.selinux_enforce)
    if enforce in ("0", "1"):
        return ("enforcing" if enforce == "1" else "permissive"), sources.selinux_enforce, notes
    return None, "", notes


def selinux_booleans() -> tuple[dict[str, dict[str, Any]], str | None]:
    result = run(["getsebool", *BOOLEANS], timeout=COMMAND_TIMEOUT)
    values = parse_getsebool(result.stdout)
    if values:
        return values, None
    return {}, f"getsebool: {_why(result)}"


def label(path: str) -> tuple[str | None, str | None]:
    """(SELinux context of a file, None) or (None, why it is not known)."""
    try:
        raw = os.getxattr(path, "security.selinux")
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, "does not exist"
        if exc.errno in (errno.ENODATA, errno.ENOTSUP):
            return None, "has no SELinux label"
        return None, exc.strerror or str(exc)
    return raw.rstrip(b"\x00").decode("utf-8", errors="replace"), None


def socket_labels(nginx: dict[str, Any]) -> list[dict[str, Any]]:
    """The label of every unix socket nginx passes to, and of the folder it is in."""
    sockets = sorted({str(t["socket"]) for t in expand_targets(nginx) if t.get("socket")})
    out = []
    for path in sockets[:MAX_SOCKETS]:
        context, why = label(path)
        folder = os.path.dirname(path) or "/"
        folder_context, folder_why = label(folder)
        out.append({"socket": path, "context": context, "reason": why, "folder": folder,
                    "folder_context": folder_context, "folder_reason": folder_why})
    return out


def _proc_label(sources: Sources, pid: int, *names: str) -> str | None:
    for name in names:
        text = _read_text(os.path.join(sources.proc, str(pid), "attr", name))
        if text:
            return text.rstrip("\x00")
    return None


def selinux_state(sources: Sources, pids: list[int]) -> dict[str, Any]:
    mode, source, notes = selinux_mode(sources)
    state: dict[str, Any] = {"mode": mode, "source": source, "booleans": {},
                             "nginx_context": None, "notes": notes}
    if mode not in ACTIVE_MODES:
        return state
    state["booleans"], note = selinux_booleans()
    if note:
        notes.append(note)
    state["nginx_context"] = next(
        (c for pid in pids if (c := _proc_label(sources, pid, "current"))), None)
    return state


# --- AppArmor ---------------------------------------------------------------------------

_PROFILE = re.compile(r"^(?P<profile>.+?) \((?P<mode>[a-z]+)\)$")


def apparmor_state(sources: Sources, pids: list[int]) -> dict[str, Any]:
    enabled = _read_text(sources.apparmor_enabled) == "Y"
    state: dict[str, Any] = {"enabled": enabled, "nginx_profile": None, "nginx_mode": None}
    if not enabled:
        return state
    for pid in pids:
        text = _proc_label(sources, pid, os.path.join("apparmor", "current"), "current")
        if not text:
            continue
        m = _PROFILE.match(text)
        state["nginx_profile"], state["nginx_mode"] = \
            (m["profile"], m["mode"]) if m else (text, "unconfined")
        break
    return state


# --- the fact ---------------------------------------------------------------------------

def read_mac(nginx: dict[str, Any], systemd: bool, cutoff: float,
             sources: Sources | None = None) -> dict[str, Any]:
    sources = sources or Sources()
    pids = [int(p) for p in (nginx.get("worker_pids") or []) + (nginx.get("master_pids") or [])]
    selinux = selinux_state(sources, pids)
    apparmor = apparmor_state(sources, pids)
    value: dict[str, Any] = {"selinux": selinux, "apparmor": apparmor, "since": cutoff,
                             "sockets": [], "logs": [], "denials": []}
    if selinux["mode"] in ACTIVE_MODES:
        value["sockets"] = socket_labels(nginx)
    if selinux["mode"] in ACTIVE_MODES or apparmor["enabled"]:
        value["logs"], value["denials"] = read_denials(sources, cutoff, systemd)
    return value


@fact("mac")
def mac_facts(facts: Facts) -> dict[str, Any]:
    options = facts.options
    # after a fix only what was logged since; else the --since window
    cutoff = options.logs_after_time if options.logs_after_time is not None \
        else time.time() - float(options.since_seconds)
    system = facts.try_get("system") or {}
    return read_mac(config_part(facts) or {}, system.get("service_manager") == "systemd",
                    cutoff)
