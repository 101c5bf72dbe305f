"""Changes of kind `package`: what the package manager installed, upgraded or removed in the
window, one entry per transaction (changes minutes apart). Only the packages a 502 can
come from are named (nginx, PHP and PHP-FPM, OpenSSL, the app runtimes, the SELinux
policy, the kernel); the rest are counted. A package removed while another of its family
is installed ("php8.1-fpm replaced by php8.2-fpm") is said as one replacement."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from wizard.host.changes_package_logs import (
    DOWNGRADE,
    INSTALL,
    REMOVE,
    UPGRADE,
    PackageChange,
    apk_time,
    apt_time,
    dnf_time,
    dpkg_time,
    pacman_time,
    parse_apk,
    parse_apt_history,
    parse_dnf,
    parse_dpkg,
    parse_pacman,
    parse_yum,
    parse_zypp,
    yum_time,
    zypp_time,
)
from wizard.host.changes_tail import tail_since
from wizard.host.changes_window import Window, change
from wizard.host.facts import Facts

Parser = Callable[[list[str], str], list[PackageChange]]
# Earlier logs win when two say the same thing (dpkg.log also has what apt did).
LOGS: tuple[tuple[str, Parser, Callable[[str], float | None]], ...] = (
    ("/var/log/dpkg.log", parse_dpkg, dpkg_time),
    ("/var/log/apt/history.log", parse_apt_history, apt_time),
    ("/var/log/dnf.rpm.log", parse_dnf, dnf_time),
    ("/var/log/yum.log", parse_yum, yum_time),
    ("/var/log/pacman.log", parse_pacman, pacman_time),
    ("/var/log/zypp/history", parse_zypp, zypp_time),
    ("/var/log/apk.log", parse_apk, apk_time),
)
SAME_TRANSACTION = 300.0  # changes this close together are one transaction
MAX_NAMED = 4  # packages named in one entry; the others are counted
ROLE_ORDER = ("php_fpm", "nginx", "php", "tls", "runtime", "selinux", "kernel")
_KERNELS = {"linux", "linux-lts", "linux-zen", "linux-hardened", "linux-virt", "kernel",
            "kernel-core", "kernel-modules", "kernel-default"}
_NOT_KERNEL = ("-headers", "-devel", "-doc", "-tools", "-dbg")


def role(name: str) -> str | None:
    """Why a package matters to a 502, or None when it does not."""
    n = name.lower()
    if "fpm" in n:
        return "php_fpm"
    if n.startswith(("nginx", "libnginx-mod")):
        return "nginx"
    if n.startswith("php") or n.startswith("libapache2-mod-php"):
        return "php"
    if n.startswith(("openssl", "libssl")):
        return "tls"
    if n.startswith(("python3", "uwsgi", "gunicorn", "nodejs")):
        return "runtime"
    if n.startswith("selinux-policy"):
        return "selinux"
    if (n in _KERNELS or n.startswith("linux-image-")) and not n.endswith(_NOT_KERNEL):
        return "kernel"
    return None


def family(name: str) -> str:
    """php8.1-fpm, php8.2-fpm and php81-fpm are one family: 'php-fpm'."""
    return re.sub(r"\d+(?:\.\d+)*", "", name.lower())


def without_duplicates(changes: list[PackageChange]) -> list[PackageChange]:
    """Drop what a later log repeats of an earlier one (apt's history of dpkg's lines)."""
    rank = {path: i for i, (path, _p, _t) in enumerate(LOGS)}
    seen: dict[tuple[str, str], list[tuple[int, float]]] = {}
    kept = []
    for c in sorted(changes, key=lambda c: rank.get(c.source, 99)):
        key = (c.name, c.action)
        mine = rank.get(c.source, 99)
        if any(r < mine and abs(t - c.epoch) <= SAME_TRANSACTION for r, t in seen.get(key, [])):
            continue
        seen.setdefault(key, []).append((mine, c.epoch))
        kept.append(c)
    return sorted(kept, key=lambda c: c.epoch)


def transactions(changes: list[PackageChange]) -> list[list[PackageChange]]:
    groups: list[list[PackageChange]] = []
    for c in sorted(changes, key=lambda c: c.epoch):
        if groups and c.epoch - groups[-1][-1].epoch <= SAME_TRANSACTION:
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def _phrase(c: PackageChange) -> str:
    if c.action == INSTALL:
        return f"{c.name} installed"
    if c.action in (UPGRADE, DOWNGRADE):
        verb = "upgraded" if c.action == UPGRADE else "downgraded"
        return f"{c.name} {verb} from {c.old} to {c.new}" if c.old else \
            f"{c.name} {verb} to {c.new}"
    return f"{c.name} {'removed' if c.action == REMOVE else 'reinstalled'}"


def _replacements(relevant: list[PackageChange]) -> list[tuple[PackageChange, PackageChange]]:
    """(removed, installed) pairs of one family, or two PHP-FPMs: one version replaced by
    another."""
    pairs = []
    installed = [c for c in relevant if c.action == INSTALL]
    for removed in (c for c in relevant if c.action == REMOVE):
        match = next((i for i in installed if i.name != removed.name and (
            family(i.name) == family(removed.name) or role(i.name) == role(removed.name)
            == "php_fpm")), None)
        if match is not None:
            installed.remove(match)
            pairs.append((removed, match))
    return pairs


def summarise(group: list[PackageChange]) -> dict[str, Any]:
    """One transaction as an entry of the `changes` fact."""
    latest = {c.name: c for c in group}  # the last word on each package
    relevant = sorted((c for c in latest.values() if role(c.name)),
                      key=lambda c: ROLE_ORDER.index(role(c.name) or "kernel"))
    others = len(latest) - len(relevant)
    pairs = _replacements(relevant)
    paired = {id(c) for pair in pairs for c in pair}
    phrases = [f"{old.name} replaced by {new.name}" for old, new in pairs]
    phrases += [_phrase(c) for c in relevant if id(c) not in paired]
    others += max(0, len(phrases) - MAX_NAMED)
    roles = [r for r in ROLE_ORDER if any(role(c.name) == r for c in relevant)]
    if phrases:
        what = ", ".join(phrases[:MAX_NAMED])
        if others:
            what += f", and {others} other package{'s' if others != 1 else ''} changed"
    else:
        what = (f"{others} package{'s' if others != 1 else ''} changed, none of them nginx, "
                "PHP or what they run on")
    first = group[0]
    return change(first.epoch, first.source, "package", what, roles[0] if roles else None,
                  roles=roles, replaced=[[o.name, n.name] for o, n in pairs],
                  removed=[c.name for c in relevant if c.action == REMOVE],
                  packages=[{"name": c.name, "action": c.action, "old": c.old, "new": c.new,
                             "role": role(c.name)} for c in relevant[:20]],
                  others=others, group=first.group)


def collect(facts: Facts, window: Window) -> tuple[list[dict[str, Any]], list[str]]:
    changes: list[PackageChange] = []
    notes: list[str] = []
    present = 0
    for path, parse, line_time in LOGS:
        if not os.path.exists(path):
            continue
        present += 1
        tail = tail_since(path, window.start, line_time)
        if tail.note:
            notes.append(f"{path}: {tail.note}")
        found = [c for c in parse(tail.lines, path) if window.holds(c.epoch)]
        changes += found
    if not present:
        notes.append("no package manager log was found (dpkg, apt, dnf, yum, pacman, "
                     "zypper, apk)")
    entries = [summarise(group) for group in transactions(without_duplicates(changes))]
    return entries, notes

