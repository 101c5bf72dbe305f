"""Parsers of the package managers' own logs: one line format each, as the tools write it.

Formats, from the tools' source:
- dpkg (/var/log/dpkg.log): "2024-05-01 10:00:00 upgrade nginx:amd64 1.22.1-9 1.22.1-9+deb12u1"
  (install / upgrade / remove / purge; "<none>" for a missing version), local time.
- apt (/var/log/apt/history.log): blocks of "Start-Date: 2024-05-01  10:00:00",
  "Commandline: ...", "Install: a:amd64 (1.0), b:amd64 (2.0, automatic)",
  "Upgrade: c:amd64 (1.0, 1.1)", "Remove: ...", "Purge: ...", "End-Date: ...".
- dnf (/var/log/dnf.rpm.log, dnf/logging.py and dnf/transaction.py FILE_ACTIONS):
  "2024-05-01T10:00:00+0000 SUBDEBUG Upgrade: nginx-1:1.20.1-14.el9.x86_64".
- yum (/var/log/yum.log, yum/rpmtrans.py): "May 01 10:00:00 Updated: php-fpm-5.4.16-48.el7.x86_64"
  (no year: the newest one not in the future is taken).
- pacman (/var/log/pacman.log, libalpm add.c / remove.c / log.c):
  "[2024-05-01T10:00:00+0000] [ALPM] upgraded nginx (1.24.0-1 -> 1.26.0-1)".
- zypper (/var/log/zypp/history, libzypp HistoryLog.cc):
  "2024-05-01 10:00:00|install|php8-fpm|8.2.18-1.1|x86_64|root@host|repo|sha|".
- apk (/var/log/apk.log, apk-tools print.c / commit.c): "Running `apk add x` at 2024-05-01
  10:00:00" (UTC) then "(1/2) Upgrading php82-fpm (8.2.17-r0 -> 8.2.18-r0)".
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass

from wizard.compat import fromisoformat

INSTALL, UPGRADE, DOWNGRADE, REMOVE, REINSTALL = (
    "install", "upgrade", "downgrade", "remove", "reinstall")


@dataclass
class PackageChange:
    epoch: float
    action: str  # install | upgrade | downgrade | remove | reinstall
    name: str
    old: str | None
    new: str | None
    source: str
    group: str | None = None  # the transaction it belongs to, when the log says so


def _local(text: str, fmt: str) -> float | None:
    try:
        return time.mktime(time.strptime(text, fmt))
    except ValueError:
        return None


def _iso(text: str) -> float | None:
    try:
        return fromisoformat(text).timestamp()  # local time when it has no zone
    except ValueError:
        return None


def _version(text: str) -> str | None:
    return None if text in ("<none>", "") else text


# --- dpkg -------------------------------------------------------------------------------

_DPKG = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (install|upgrade|remove|purge) "
                   r"(\S+) (\S+) (\S+)$")
_DPKG_ACTION = {"install": INSTALL, "upgrade": UPGRADE, "remove": REMOVE, "purge": REMOVE}


def dpkg_time(line: str) -> float | None:
    return _local(line[:19], "%Y-%m-%d %H:%M:%S") if line[:4].isdigit() else None


def parse_dpkg(lines: list[str], source: str) -> list[PackageChange]:
    found = []
    for line in lines:
        m = _DPKG.match(line)
        if not m or (epoch := dpkg_time(line)) is None:
            continue
        action = _DPKG_ACTION[m.group(2)]
        old, new = _version(m.group(4)), _version(m.group(5))
        if action == REMOVE:
            new = None
        elif action == UPGRADE and old is None:
            action = INSTALL  # dpkg says "upgrade" for a package it had only unpacked
        found.append(PackageChange(epoch, action, m.group(3).split(":")[0], old, new, source))
    return found


# --- apt history --------------------------------------------------------------------------

_APT_FIELDS = {"Install": INSTALL, "Upgrade": UPGRADE, "Downgrade": DOWNGRADE,
               "Remove": REMOVE, "Purge": REMOVE, "Reinstall": REINSTALL}
_APT_ITEM = re.compile(r"([^\s,()]+) \(([^)]*)\)")


def apt_time(line: str) -> float | None:
    if not line.startswith("Start-Date:"):
        return None
    return _local(" ".join(line.split()[1:3]), "%Y-%m-%d %H:%M:%S")


def parse_apt_history(lines: list[str], source: str) -> list[PackageChange]:
    """Lines before the first Start-Date belong to a block older than the window."""
    found: list[PackageChange] = []
    epoch: float | None = None
    group: str | None = None
    for line in lines:
        if line.startswith("Start-Date:"):
            epoch, group = apt_time(line), line
            continue
        field, _, value = line.partition(": ")
        if epoch is None or field not in _APT_FIELDS:
            continue
        for name, versions in _APT_ITEM.findall(value):
            parts = [v.strip() for v in versions.split(",") if v.strip() != "automatic"]
            action = _APT_FIELDS[field]
            old = parts[0] if action in (UPGRADE, DOWNGRADE, REMOVE) and parts else None
            new = parts[-1] if action in (INSTALL, UPGRADE, DOWNGRADE, REINSTALL) and parts \
                else None
            found.append(PackageChange(epoch, action, name.split(":")[0], old, new, source,
                                       group))
    return found


# --- rpm: dnf and yum ---------------------------------------------------------------------

_DNF = re.compile(r"^(\S+) SUBDEBUG (Installed|Upgrade|Upgraded|Downgrade|Downgraded|Erase|"
                  r"Obsolete|Obsoleted|Reinstall|Reinstalled): (\S+)\s*$")
_DNF_ACTION = {"Installed": INSTALL, "Obsolete": INSTALL, "Upgrade": UPGRADE,
               "Downgrade": DOWNGRADE, "Erase": REMOVE, "Obsoleted": REMOVE,
               "Reinstall": REINSTALL}
_YUM = re.compile(r"^([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) (Installed|Updated|Erased|"
                  r"Dep-Installed|Obsoleted): (\S+)\s*$")
_YUM_ACTION = {"Installed": INSTALL, "Dep-Installed": INSTALL, "Updated": UPGRADE,
               "Erased": REMOVE, "Obsoleted": REMOVE}


def split_nevra(text: str) -> tuple[str, str | None]:
    """'nginx-1:1.20.1-14.el9.x86_64' -> ('nginx', '1:1.20.1-14.el9'); a bare name stays."""
    text = re.sub(r"^\d+:", "", text)  # yum writes the epoch first
    base = re.sub(r"\.(x86_64|aarch64|i[3-6]86|noarch|ppc64le|s390x|armv7hl|src)$", "", text)
    parts = base.rsplit("-", 2)
    if len(parts) == 3 and parts[1][:1].isdigit():
        return parts[0], f"{parts[1]}-{parts[2]}"
    return text, None


def dnf_time(line: str) -> float | None:
    return _iso(line.split(" ", 1)[0]) if line[:4].isdigit() else None


def parse_dnf(lines: list[str], source: str) -> list[PackageChange]:
    """dnf logs an upgrade twice: "Upgrade: new" and "Upgraded: old"; they become one."""
    found: list[PackageChange] = []
    for line in lines:
        m = _DNF.match(line)
        if not m or (epoch := dnf_time(line)) is None:
            continue
        name, version = split_nevra(m.group(3))
        word = m.group(2)
        if word in ("Upgraded", "Downgraded", "Reinstalled"):  # the old side of a change
            for earlier in reversed(found[-50:]):
                if earlier.name == name and earlier.old is None and earlier.action != INSTALL:
                    earlier.old = version
                    break
            continue
        action = _DNF_ACTION[word]
        old = version if action == REMOVE else None
        new = None if action == REMOVE else version
        found.append(PackageChange(epoch, action, name, old, new, source))
    return found


def yum_time(line: str, now: float | None = None) -> float | None:
    """yum.log has no year: the latest year that does not put the line in the future."""
    if not line[:3].isalpha():
        return None
    now = time.time() if now is None else now
    year = time.localtime(now).tm_year
    for candidate in (year, year - 1):
        epoch = _local(f"{candidate} {line[:15]}", "%Y %b %d %H:%M:%S")
        if epoch is not None and epoch <= now + 86400:
            return epoch
    return None


def parse_yum(lines: list[str], source: str) -> list[PackageChange]:
    found = []
    for line in lines:
        m = _YUM.match(line)
        if not m or (epoch := yum_time(line)) is None:
            continue
        name, version = split_nevra(m.group(3))
        action = _YUM_ACTION[m.group(2)]
        found.append(PackageChange(epoch, action, name, version if action == REMOVE else None,
                                   None if action == REMOVE else version, source))
    return found


# --- pacman, zypper, apk ------------------------------------------------------------------

_PACMAN = re.compile(r"^\[([^\]]+)\] \[ALPM\] (installed|upgraded|downgraded|removed|"
                     r"reinstalled) (\S+) \(([^)]*)\)\s*$")
_PACMAN_ACTION = {"installed": INSTALL, "upgraded": UPGRADE, "downgraded": DOWNGRADE,
                  "removed": REMOVE, "reinstalled": REINSTALL}


def pacman_time(line: str) -> float | None:
    if not line.startswith("["):
        return None
    stamp = line[1:line.find("]")]
    return _iso(stamp) if "T" in stamp else _local(stamp, "%Y-%m-%d %H:%M")


def parse_pacman(lines: list[str], source: str) -> list[PackageChange]:
    found = []
    for line in lines:
        m = _PACMAN.match(line)
        if not m or (epoch := pacman_time(line)) is None:
            continue
        action = _PACMAN_ACTION[m.group(2)]
        old, _, new = m.group(4).partition(" -> ")
        if not new:
            old, new = (old, None) if action == REMOVE else (None, old)
        found.append(PackageChange(epoch, action, m.group(3), old or None, new, source))
    return found


def zypp_time(line: str) -> float | None:
    return _local(line[:19], "%Y-%m-%d %H:%M:%S") if line[:4].isdigit() else None


def parse_zypp(lines: list[str], source: str) -> list[PackageChange]:
    """zypper logs an upgrade as the install of the new edition."""
    found = []
    for line in lines:
        fields = line.split("|")
        if len(fields) < 4 or fields[1].strip() not in ("install", "remove"):
            continue
        if (epoch := zypp_time(line)) is None:
            continue
        removed = fields[1].strip() == "remove"
        found.append(PackageChange(epoch, REMOVE if removed else INSTALL, fields[2],
                                   fields[3] if removed else None,
                                   None if removed else fields[3], source))
    return found


_APK_RUN = re.compile(r"^Running `(.*)` at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})$")
_APK = re.compile(r"^\(\d+/\d+\) (Installing|Upgrading|Downgrading|Purging|Replacing|"
                  r"Reinstalling) (\S+) \(([^)]*)\)")
_APK_ACTION = {"Installing": INSTALL, "Upgrading": UPGRADE, "Downgrading": DOWNGRADE,
               "Purging": REMOVE, "Replacing": REINSTALL, "Reinstalling": REINSTALL}


def apk_time(line: str) -> float | None:
    m = _APK_RUN.match(line)
    if not m:
        return None
    return float(calendar.timegm(time.strptime(m.group(2), "%Y-%m-%d %H:%M:%S")))  # UTC


def parse_apk(lines: list[str], source: str) -> list[PackageChange]:
    found: list[PackageChange] = []
    epoch: float | None = None
    group: str | None = None
    for line in lines:
        if (when := apk_time(line)) is not None:
            epoch, group = when, line
            continue
        m = _APK.match(line)
        if not m or epoch is None:
            continue
        action = _APK_ACTION[m.group(1)]
        old, _, new = m.group(3).partition(" -> ")
        if not new:
            old, new = (old, None) if action == REMOVE else (None, old)
        found.append(PackageChange(epoch, action, m.group(2).split("@")[0], old or None, new,
                                   source, group))
    return found
