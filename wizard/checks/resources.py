"""Check `resources.ok`: has the host run out of (or nearly out of) something a request
needs: memory, disk space or inodes, nginx's open files, local TCP ports?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.checks.base import check
from wizard.host.facts import Facts, FactUnavailable
from wizard.outcome import DIRECT, STRONG, CheckResult, Evidence, Status

MIB = 1024 * 1024


@dataclass(frozen=True)
class Finding:
    level: str  # "exhausted" | "close"
    what: str
    value: str
    limit: str
    detail: str


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _memory(r: dict[str, Any]) -> list[Finding]:
    mem, swap = r.get("memory") or {}, r.get("swap") or {}
    total, available = mem.get("total") or 0, mem.get("available") or 0
    if not total:
        return []
    share = available / total
    swap_used = (swap.get("used") or 0) / swap["total"] if swap.get("total") else 0.0
    detail = f"{_size(available)} of {_size(total)} memory available"
    if share < 0.05 and (not swap.get("total") or swap_used > 0.9):
        return [Finding("exhausted", "memory", _size(available), _size(total), detail)]
    if share < 0.10 or swap_used > 0.9:
        return [Finding("close", "memory", _size(available), _size(total),
                        detail + f", swap {swap_used:.0%} used")]
    return []


def _disks(r: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for d in r.get("disks") or []:
        total, free = d.get("total") or 0, d.get("free") or 0
        if total:
            detail = f"{d['path']}: {_size(free)} free of {_size(total)}"
            if free < 50 * MIB or free / total < 0.01:
                found.append(Finding("exhausted", f"disk space on {d['path']}", _size(free),
                                     _size(total), detail))
            elif free / total < 0.05:
                found.append(Finding("close", f"disk space on {d['path']}", _size(free),
                                     _size(total), detail))
        itotal, ifree = d.get("inodes_total") or 0, d.get("inodes_free") or 0
        if itotal:
            detail = f"{d['path']}: {ifree} of {itotal} inodes free"
            if ifree / itotal < 0.01:
                found.append(Finding("exhausted", f"inodes on {d['path']}", f"{ifree} free",
                                     f"{itotal}", detail))
            elif ifree / itotal < 0.05:
                found.append(Finding("close", f"inodes on {d['path']}", f"{ifree} free",
                                     f"{itotal}", detail))
    return found


def _open_files(r: dict[str, Any]) -> list[Finding]:
    nf = r.get("nginx_files") or {}
    found: list[Finding] = []
    needed = nf.get("files_needed")
    for w in nf.get("workers") or []:
        soft, used = w.get("nofile_soft"), w.get("open_files") or 0
        if not soft:
            continue
        what = f"open files of nginx worker {w['pid']}"
        if used >= soft * 0.95:
            found.append(Finding("exhausted", what, str(used), str(soft),
                                 f"{used} open files, the limit is {soft}"))
        elif needed and soft < needed:
            # nginx's own warning: "worker_connections exceed open file resource limit"
            found.append(Finding("close", what, f"limit {soft}", f"{needed} needed",
                                 f"worker_connections {nf.get('worker_connections')} needs up to"
                                 f" {needed} open files, the limit is {soft}"))
    return found


def _ports(r: dict[str, Any]) -> list[Finding]:
    tcp = r.get("tcp") or {}
    size, used = tcp.get("ephemeral_size") or 0, tcp.get("ephemeral_in_use") or 0
    if not size:
        return []
    low, high = (tcp.get("ephemeral_range") or ["?", "?"])[:2]
    detail = (f"{used} of {size} local ports ({low}-{high}) in use,"
              f" {tcp.get('time_wait', 0)} of them closing (TIME_WAIT)")
    if used / size > 0.9:
        return [Finding("exhausted", "local TCP ports", str(used), str(size), detail)]
    if used / size > 0.7:
        return [Finding("close", "local TCP ports", str(used), str(size), detail)]
    return []


def _oom(r: dict[str, Any]) -> list[Finding]:
    kills = (r.get("oom") or {}).get("kills") or []
    if not kills:
        return []
    names = ", ".join(sorted({str(k.get("process")) for k in kills}))
    return [Finding("exhausted", "memory (the kernel's OOM killer ended processes)",
                    f"{len(kills)} kill(s): {names}", "0", kills[0].get("line", ""))]


def _cpu(r: dict[str, Any]) -> list[Finding]:
    cpu = r.get("cpu") or {}
    cores, load = cpu.get("cores") or 1, cpu.get("load1") or 0.0
    if load > 2 * cores:
        return [Finding("close", "CPU", f"load {load:.1f}", f"{cores} cores",
                        f"1-minute load {load:.1f} on {cores} cores")]
    return []


@check("resources.ok",
       results={"ok": Status.OK, "exhausted": Status.PROBLEM, "close": Status.WARNING},
       facts=("resources",), causes=("resource_exhaustion",))
def resources_ok(facts: Facts) -> CheckResult:
    """Has the host run out of memory, disk, open files or local ports?"""
    try:
        r = facts.get("resources")
    except FactUnavailable as exc:
        return CheckResult("unknown", f"resource use could not be read: {exc}")
    findings = (_oom(r) + _memory(r) + _disks(r) + _open_files(r) + _ports(r) + _cpu(r))
    notes = [Evidence("command", (r.get("oom") or {}).get("reason") or "")]
    notes = [n for n in notes if n.detail]
    evidence = [Evidence("probe", f.detail) for f in findings] + notes
    for level, result, confidence in (("exhausted", "exhausted", DIRECT),
                                      ("close", "close", STRONG)):
        hits = [f for f in findings if f.level == level]
        if hits:
            first = hits[0]
            verb = "ran out" if level == "exhausted" else "is close to its limit"
            return CheckResult(
                result, f"{first.what} {verb}: {first.detail}",
                vars={"what": first.what, "value": first.value, "limit": first.limit,
                      "all": "; ".join(f.what for f in hits)},
                evidence=evidence, confidence=confidence,
                causes=["resource_exhaustion"] if level == "exhausted" else [])
    mem = r.get("memory") or {}
    return CheckResult("ok", "memory, disk, open files and local ports are not near their limits"
                             f" ({_size(mem.get('available') or 0)} memory available)",
                       vars={"what": "", "value": "", "limit": ""}, evidence=evidence)
