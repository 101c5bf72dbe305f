"""Where each distro family puts nginx and PHP-FPM: one table, read by discovery.

Discovery never assumes a layout: it reads the running masters and the config files it
finds. The table says where to look (config and binary globs), what the PHP-FPM init
service of a config is called, and what a package compiled in where the config is
silent. The values come from the distros' packaging; tests/data/distros/SOURCES.md
cites each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FpmNaming:
    """PHP-FPM configs whose path matches `conf` (a regex, searched) belong to init service
    `service`, run by the binary named `binary` (or found on a path containing `binary_in`).
    Templates use {1}, {2}... for the regex's groups."""

    conf: str
    service: str
    binary: str | None = None
    binary_in: str | None = None


@dataclass(frozen=True)
class Layout:
    """One family's packaging. The service manager and firewall are not here: they are
    detected on the host (/run/systemd/system, /run/openrc, a running firewalld...),
    since an admin may run another than the distro's default."""

    family: str
    ids: tuple[str, ...]  # os-release ID / ID_LIKE words of this family
    fpm_confs: tuple[str, ...]  # globs of the packaged php-fpm.conf
    fpm_binaries: tuple[str, ...]
    fpm_naming: tuple[FpmNaming, ...]
    nginx_user: str | None  # the user the distro's nginx is compiled with (nginx -V --user)


DEBIAN = Layout(
    family="debian", ids=("debian", "ubuntu"),
    fpm_confs=("/etc/php/*/fpm/php-fpm.conf",), fpm_binaries=("/usr/sbin/php-fpm*",),
    fpm_naming=(FpmNaming(r"/etc/php/(\d+\.\d+)/fpm/", "php{1}-fpm", binary="php-fpm{1}"),),
    nginx_user=None)  # Debian's build names none; its nginx.conf sets www-data

RHEL = Layout(
    family="rhel", ids=("rhel", "centos", "fedora", "rocky", "almalinux", "amzn", "ol"),
    fpm_confs=("/etc/php-fpm.conf",), fpm_binaries=("/usr/sbin/php-fpm*",),
    fpm_naming=(),  # one PHP per host: service and binary are both plain php-fpm
    nginx_user="nginx")

ALPINE = Layout(
    family="alpine", ids=("alpine",),
    fpm_confs=("/etc/php*/php-fpm.conf",), fpm_binaries=("/usr/sbin/php-fpm*",),
    fpm_naming=(FpmNaming(r"^/etc/php(\d+)/", "php-fpm{1}", binary="php-fpm{1}"),),
    nginx_user="nginx")

ARCH = Layout(
    family="arch", ids=("arch", "archarm", "manjaro"),
    fpm_confs=("/etc/php/php-fpm.conf",),
    # /usr/sbin is a link to /usr/bin on Arch; the package installs /usr/bin/php-fpm
    fpm_binaries=("/usr/bin/php-fpm*",),
    fpm_naming=(),
    nginx_user="http")

SUSE = Layout(
    family="suse",
    ids=("suse", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles", "sled"),
    fpm_confs=("/etc/php*/fpm/php-fpm.conf",), fpm_binaries=("/usr/sbin/php-fpm*",),
    # /etc/php8/fpm: one PHP per host, its service is plain php-fpm (not php-fpm8)
    fpm_naming=(FpmNaming(r"^/etc/php\d+/fpm/", "php-fpm", binary="php-fpm"),),
    nginx_user="nginx")

LAYOUTS: tuple[Layout, ...] = (DEBIAN, RHEL, SUSE, ALPINE, ARCH)

# Not a distro family: Remi's parallel PHP versions on RHEL, the PHP versions of the
# Plesk and cPanel (EasyApache 4) panels, and PHP built from source (the official Docker
# image).
OTHER_FPM_CONFS = ("/etc/opt/remi/*/php-fpm.conf", "/opt/plesk/php/*/etc/php-fpm.conf",
                   "/opt/cpanel/ea-php*/root/etc/php-fpm.conf", "/usr/local/etc/php-fpm.conf")
OTHER_FPM_BINARIES = ("/usr/local/sbin/php-fpm*", "/sbin/php-fpm*",
                      "/opt/remi/*/root/usr/sbin/php-fpm", "/opt/plesk/php/*/sbin/php-fpm",
                      "/opt/cpanel/ea-php*/root/usr/sbin/php-fpm")
OTHER_FPM_NAMING = (
    FpmNaming(r"/etc/opt/remi/(php\d+)/", "{1}-php-fpm", binary_in="/remi/{1}/"),
    FpmNaming(r"^/opt/plesk/php/(\d+)\.(\d+)/", "plesk-php{1}{2}-fpm",
              binary_in="/opt/plesk/php/{1}.{2}/"),
    FpmNaming(r"^/opt/cpanel/(ea-php\d+)/", "{1}-php-fpm", binary_in="/opt/cpanel/{1}/"),
)
# A binary's own name tells the service when its config's path does not.
BINARY_NAMING = ((r"php-fpm(\d+\.\d+)", "php{1}-fpm"), (r"php-fpm(\d+)", "php-fpm{1}"))
DEFAULT_FPM_SERVICE = "php-fpm"


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


FPM_CONF_GLOBS = _unique([*DEBIAN.fpm_confs, *RHEL.fpm_confs, *ALPINE.fpm_confs,
                          *OTHER_FPM_CONFS, *SUSE.fpm_confs, *ARCH.fpm_confs])
FPM_BINARY_GLOBS = _unique([g for layout in LAYOUTS for g in layout.fpm_binaries]
                           + list(OTHER_FPM_BINARIES))
# Order matters: the openSUSE rule (/etc/php8/fpm/) before Alpine's (/etc/php82/).
FPM_NAMING = (*DEBIAN.fpm_naming, *OTHER_FPM_NAMING, *SUSE.fpm_naming, *ALPINE.fpm_naming)


def _fill(template: str, match: re.Match[str]) -> str:
    for number, group in enumerate(match.groups(), 1):
        template = template.replace(f"{{{number}}}", group)
    return template


def naming_for(conf: str) -> tuple[FpmNaming, re.Match[str]] | None:
    for naming in FPM_NAMING:
        if m := re.search(naming.conf, conf):
            return naming, m
    return None


def fpm_service(conf: str | None, binary_name: str) -> str:
    """The init service that runs this PHP-FPM config (or binary, when the config says
    nothing)."""
    if found := naming_for(conf or ""):
        naming, m = found
        return _fill(naming.service, m)
    for pattern, template in BINARY_NAMING:
        if named := re.fullmatch(pattern, binary_name):
            return _fill(template, named)
    return DEFAULT_FPM_SERVICE


def fpm_binary_wanted(conf: str) -> tuple[str | None, str | None]:
    """(binary name, path fragment) of the PHP-FPM that belongs to this config; (None, None)
    when the path does not say (then the host's plain php-fpm)."""
    if found := naming_for(conf):
        naming, m = found
        return (_fill(naming.binary, m) if naming.binary else None,
                _fill(naming.binary_in, m) if naming.binary_in else None)
    return None, None


def layout_for(distro_id: str, like: list[str]) -> Layout | None:
    """The family of an os-release ID / ID_LIKE; Debian first, as before this table."""
    words = [distro_id, *like]
    for layout in LAYOUTS:
        if any(word in layout.ids for word in words):
            return layout
    return None


def layout_named(family: str | None) -> Layout | None:
    return next((layout for layout in LAYOUTS if layout.family == family), None)
