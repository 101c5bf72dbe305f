"""Where a config fix keeps the original of each file it edits, and how it names the
temporary file it writes the new text to.

Never beside the edited file: nginx loads `include sites-enabled/*;` and `conf.d/*.conf`,
PHP-FPM loads `pool.d/*.conf`, so a backup there is loaded too (duplicate `server` and
`upstream` blocks, a second pool on the same socket) and breaks the next start. Backups go
to /var/backups/nginx-502-wizard/ (0700, files 0600), named after the whole original path,
so two files called `default` never collide and a person can tell what each one was.

The new text is written to a dot-file in the edited file's own folder (rename(2) is atomic
only within one filesystem) and renamed over the file. nginx and PHP-FPM expand includes
with glob(3), whose `*` never matches a leading dot, so not even a glob of `*` loads that
file during the instant it exists; it is removed whatever happens.
"""

from __future__ import annotations

import os
import secrets
import time
from urllib.parse import quote

SYSTEM_BACKUP_DIR = "/var/backups/nginx-502-wizard"
BACKUP_DIR_ENV = "NGINX_502_WIZARD_BACKUP_DIR"  # tests and unusual hosts point it elsewhere
STAMP_PLACEHOLDER = "YYYYmmdd-HHMMSS"
TEMP_PREFIX = ".n502-new-"


def backup_dir(as_root: bool) -> str:
    """Root's backups live under /var/backups; a fix that runs without root (its files are
    the user's own) keeps them in the user's state folder."""
    chosen = os.environ.get(BACKUP_DIR_ENV)
    if chosen:
        return chosen
    if as_root:
        return SYSTEM_BACKUP_DIR
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(state, "nginx-502-wizard", "backups")


def encoded(path: str) -> str:
    """A file name that says which file it was: /etc/nginx/sites-available/default ->
    %2Fetc%2Fnginx%2Fsites-available%2Fdefault."""
    return quote(os.path.abspath(path), safe="")


def stamp(when: float) -> str:
    millis = int(when * 1000) % 1000
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(when)) + f".{millis:03d}"


def backup_path(folder: str, path: str, when: float) -> str:
    return os.path.join(folder, f"{encoded(path)}.{stamp(when)}")


def backup_hint(path: str) -> str:
    """The backup's name as shown in a plan, before the time of applying is known."""
    return os.path.join(SYSTEM_BACKUP_DIR, f"{encoded(path)}.{STAMP_PLACEHOLDER}")


def is_backup_copy(argv: list[str]) -> bool:
    """Is argv a plan's "copy the backup back" undo (apply restores those itself)?"""
    return bool(argv) and argv[0] == "cp" and any(STAMP_PLACEHOLDER in a for a in argv)


def temp_beside(target: str) -> str:
    """A fresh dot-file name in target's folder that no include glob matches."""
    folder = os.path.dirname(target) or "."
    return os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(6)}")
