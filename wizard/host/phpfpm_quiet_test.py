"""`php-fpm -tt` without writing to PHP-FPM's own error log.

PHP-FPM's config test prints every effective setting as a NOTICE, to stderr *and* to the
error log the config names: about 60 lines per run into /var/log/php8.2-fpm.log (or
syslog). The wizard runs it on every diagnosis, so on a host diagnosed often that log grew
by megabytes of its dumps, and each later diagnosis, which reads that log, got slower
(issue 14). So the test reads a small wrapper instead: it includes the real config, then
points error_log at /dev/null. The settings are the same; only error_log differs, and
the caller takes that one from the config file itself.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress

WRAPPER_PREFIX = "nginx-502-wizard-fpm-test-"
# A path PHP-FPM's include would read as a glob, or that cannot sit in a quoted ini value.
_UNSAFE = set('*?[]"\n\\')


def wrapper_text(conf: str) -> str:
    """The wrapper's ini: the real config, then a [global] section that logs nowhere."""
    return f'[global]\ninclude = "{conf}"\n[global]\nerror_log = /dev/null\n'


@contextmanager
def quiet_config(conf: str, names_its_log: bool) -> Iterator[str]:
    """The path to give `-y`: a wrapper (removed afterwards) when the config names its
    error_log itself and its path is plain, else the config as it is."""
    if not names_its_log or not os.path.isabs(conf) or _UNSAFE & set(conf):
        yield conf
        return
    try:
        fd, path = tempfile.mkstemp(prefix=WRAPPER_PREFIX, suffix=".conf")
    except OSError:
        yield conf
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(wrapper_text(conf))
        yield path
    finally:
        with suppress(OSError):
            os.unlink(path)
