# The first code nginx-502-wizard.pyz runs (.ci/build-zipapp puts this module in the zip
# and calls it from the top of pex's __main__.py). It runs on whatever Python started the
# file, so it keeps to Python 2.7 / 3.6 syntax and the standard library: a Python that
# cannot run the wizard gets one line saying what to install on this distro, never a
# traceback. .ci/build-zipapp reads SUPPORTED and INSTALL too (pex targets, sh stub).
# ruff: noqa: UP024, UP031, RUF005  (Python 2.7 must parse and run this file)
import sys

# The CPython versions the zip carries compiled wheels for (psutil, PyYAML).
SUPPORTED = ((3, 9), (3, 10), (3, 11), (3, 12), (3, 13), (3, 14))

# (os-release ID or ID_LIKE words, VERSION_ID releases or () for any, what installs a
# new enough Python or None when the release packages none, the python it installs).
# The first row that matches ID, then each ID_LIKE word, wins: releases before families.
INSTALL = (
    (("ubuntu",), ("20.04",), "apt-get install python3.9", "python3.9"),
    (("ubuntu",), ("16.04", "18.04"), None, None),
    (("debian",), ("9", "10"), None, None),
    (("debian", "ubuntu"), (), "apt-get install python3", "python3"),
    (("rhel", "centos", "rocky", "almalinux", "ol"), ("8",), "dnf install python39",
     "python3.9"),
    (("rhel", "centos", "ol"), ("7",), None, None),
    (("amzn",), ("2",), None, None),
    (("rhel", "centos", "rocky", "almalinux", "ol", "fedora", "amzn"), (),
     "dnf install python3", "python3"),
    (("alpine",), (), "apk add python3", "python3"),
    (("arch",), (), "pacman -S python", "python3"),
    (("opensuse-leap", "sles"), ("15",), "zypper install python311", "python3.11"),
    (("opensuse", "suse", "opensuse-leap", "opensuse-tumbleweed", "sles"), (),
     "zypper install python3", "python3"),
)


def os_release():
    """ID, ID_LIKE and VERSION_ID etc. of /etc/os-release as a dict ({} when unreadable)."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path) as handle:
                lines = handle.read().splitlines()
        except (IOError, OSError):
            continue
        fields = {}
        for line in lines:
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                fields[key.strip()] = value.strip().strip("\"'")
        return fields
    return {}


def same_release(version_id, release):
    return version_id == release or version_id.startswith(release + ".")


def install_row(fields):
    """The INSTALL row for this distro, or None when it is not one we know."""
    words = [fields.get("ID", "")] + fields.get("ID_LIKE", "").split()
    version_id = fields.get("VERSION_ID", "")
    for word in words:
        for ids, releases, command, python in INSTALL:
            if word in ids and (not releases or
                                any(same_release(version_id, r) for r in releases)):
                return ids, releases, command, python
    return None


def advice(fields, this_version, file_name):
    """The one line for a Python that cannot run the wizard."""
    oldest, newest = SUPPORTED[0], SUPPORTED[-1]
    needs = "nginx-502-wizard needs Python %d.%d to %d.%d, and this is Python %s" % (
        oldest + newest + (this_version,))
    if sys.version_info[:2] > newest:
        return ("%s: start it with an older python3 (python%d.%d %s), or install it with "
                "pip or pipx." % (needs, newest[0], newest[1], file_name))
    row = install_row(fields)
    release = ("%s %s" % (fields.get("NAME", ""), fields.get("VERSION_ID", ""))).strip()
    if row is None:
        return ("%s: install python3 (%d.%d or newer) with this system's package manager."
                % (needs, oldest[0], oldest[1]))
    command, python = row[2], row[3]
    if command is None:
        return ("%s: %s packages no Python that new, so install Python %d.%d or newer "
                "another way." % (needs, release, oldest[0], oldest[1]))
    return "%s. Install it with: %s, then run: %s %s" % (needs, command, python, file_name)


def require_supported_python():
    """Exit 2 with one line on stderr unless this Python is one the zip was built for."""
    if SUPPORTED[0] <= tuple(sys.version_info[:2]) <= SUPPORTED[-1]:
        return
    this_version = "%d.%d.%d" % tuple(sys.version_info[:3])
    file_name = sys.argv[0] or "nginx-502-wizard.pyz"  # as typed, to copy into the hint
    sys.stderr.write(advice(os_release(), this_version, file_name) + "\n")
    sys.exit(2)
