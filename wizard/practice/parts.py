"""What a practice sandbox needs from the host: root, nginx, PHP-FPM and a user for their
workers. Whatever is missing becomes one plain line naming the package to install."""

from __future__ import annotations

import glob
import grp
import os
import pwd
import re
from dataclasses import dataclass

import distro

from wizard.host.commands import SBIN_DIRS, which

# The unprivileged user the workers run as, in the order distros name it.
WORKER_USERS = ("www-data", "nginx", "nobody")
# family -> (install command, nginx package, PHP-FPM package)
PACKAGES = {
    "debian": ("apt-get install", "nginx", "php-fpm"),
    "rhel": ("dnf install", "nginx", "php-fpm"),
    "alpine": ("apk add", "nginx", "php82-fpm"),
}
_FPM_NAME = re.compile(r"^php-?fpm[0-9.]*$")


class PartMissing(Exception):
    """The sandbox cannot run here; str(exc) is the one line that says what to do."""


@dataclass(frozen=True)
class Parts:
    nginx: str  # absolute path of the nginx program
    phpfpm: str | None  # absolute path of a php-fpm program, None when not installed
    user: str  # the workers' user
    group: str  # that user's own group

    def require_phpfpm(self) -> str:
        if self.phpfpm is None:
            raise PartMissing(missing("PHP-FPM"))
        return self.phpfpm


def family() -> str:
    """debian, rhel, alpine or another distro's id."""
    ids = [distro.id(), *distro.like().split()]
    if {"debian", "ubuntu"} & set(ids):
        return "debian"
    if {"rhel", "centos", "fedora", "rocky", "almalinux"} & set(ids):
        return "rhel"
    return distro.id() or "unknown"


def missing(program: str) -> str:
    """The line for a missing nginx or PHP-FPM, with this distro's package for it."""
    found = PACKAGES.get(family())
    if found is None:
        names = {"debian": "Debian/Ubuntu", "rhel": "RHEL/Fedora", "alpine": "Alpine"}
        per_distro = "; ".join(f"{names[key]}: {packages[1 if program == 'nginx' else 2]}"
                               for key, packages in PACKAGES.items())
        return (f"practice needs {program}, which is not installed here; install your "
                f"distribution's package ({per_distro})")
    command, nginx, phpfpm = found
    return (f"practice needs {program}, which is not installed here; install it with "
            f"`{command} {nginx if program == 'nginx' else phpfpm}`")


def find_phpfpm() -> str | None:
    """php-fpm, or the newest versioned one (php-fpm8.2, php-fpm82)."""
    plain = which("php-fpm")
    if plain:
        return plain
    found = [path for folder in SBIN_DIRS for path in glob.glob(f"{folder}/php*fpm*")
             if _FPM_NAME.match(os.path.basename(path)) and os.access(path, os.X_OK)]
    return max(found, key=_version_key, default=None)


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", os.path.basename(path)))


def worker_user() -> tuple[str, str]:
    for name in WORKER_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        try:
            return name, grp.getgrgid(entry.pw_gid).gr_name
        except KeyError:
            continue
    raise PartMissing("practice needs an unprivileged user for the nginx and PHP-FPM "
                      f"workers ({', '.join(WORKER_USERS)}), and none exists here")


def find_parts() -> Parts:
    """What this host offers, or PartMissing with the one line to show."""
    nginx = which("nginx")
    if nginx is None:
        raise PartMissing(missing("nginx"))
    if os.geteuid() != 0:
        raise PartMissing("practice starts nginx and PHP-FPM whose workers run as an "
                          "unprivileged user, which needs root: run it with sudo")
    user, group = worker_user()
    return Parts(nginx=nginx, phpfpm=find_phpfpm(), user=user, group=group)
