"""The start guard for nginx and PHP-FPM: does the master of this very config run?

A service manager's status can say "running" when it is not: Debian's sysvinit
`php8.2-fpm status` has no pid file to read and falls back to `pidof`, so any php-fpm8.2
process on the host (another version's master, a container's, a hand-started test pool)
makes it answer yes, and the start that would repair the site is skipped. The config
names the pid file the master writes; the process it names must be alive and be a master
running that config (the same test the reload helper makes before it signals anything).

    python -I -m wizard.fixes.master_running php-fpm CONF
    python -I -m wizard.fixes.master_running nginx BINARY CONF [PREFIX]
exit 0 when that master runs, 1 when it does not, 64 on bad usage. Read-only.
"""

from __future__ import annotations

import os
import sys

from wizard.fixes.helper_argv import helper
from wizard.fixes.server_reload import ReloadError, fpm_master, fpm_pid_file, nginx_master_of
from wizard.host.phpfpm import parse_fpm_config

MODULE = "master_running"


def phpfpm_guard(conf: str) -> list[str]:
    return helper(MODULE, "php-fpm", conf)


def nginx_guard(binary: str, conf: str, prefix: str | None) -> list[str]:
    return helper(MODULE, "nginx", binary, conf, *([prefix] if prefix else []))


def phpfpm_runs(conf: str) -> bool:
    errors: list[str] = []
    settings = parse_fpm_config(conf, errors)
    if errors:
        return False
    try:
        return fpm_master(conf, fpm_pid_file(settings)).is_running()
    except ReloadError:
        return False


def nginx_runs(binary: str, conf: str, prefix: str | None) -> bool:
    try:
        return nginx_master_of(binary, os.path.normpath(conf), prefix).is_running()
    except ReloadError:
        return False


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "php-fpm" and os.path.isabs(argv[1]):
        return 0 if phpfpm_runs(argv[1]) else 1
    if len(argv) in (3, 4) and argv[0] == "nginx" and all(os.path.isabs(a) for a in argv[1:]):
        return 0 if nginx_runs(argv[1], argv[2], argv[3] if len(argv) == 4 else None) else 1
    print("usage: php-fpm CONF | nginx BINARY CONF [PREFIX]", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
