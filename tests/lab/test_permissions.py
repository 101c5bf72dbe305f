"""`docroot_permissions` and `permissions.docroot` on real folders and the real www-data
user: a folder with mode 000 on the way to the document root is found, and after the fix
(chmod 755) the check is ok. `setpriv` (run as www-data) confirms the kernel agrees."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require
from wizard.checks.permissions import permissions_docroot
from wizard.host.facts import Facts
from wizard.host.permissions import docroot_permission_facts

pytestmark = pytest.mark.root
USER = "www-data"


@pytest.fixture
def site() -> Iterator[Path]:
    require(os.geteuid() == 0, "needs root to chmod/chown files for another user")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        require(False, f"needs the {USER} user (Debian's nginx/php-fpm packages create it)")
    # not under pytest's tmp_path: its parent is mode 0700, which www-data cannot pass
    base = Path(tempfile.mkdtemp(prefix="wizperm", dir="/tmp"))
    base.chmod(0o755)
    (base / "www" / "app").mkdir(parents=True)
    (base / "www").chmod(0o755)
    (base / "www" / "app").chmod(0o755)
    index = base / "www" / "app" / "index.php"
    index.write_text("<?php echo 'hi';\n", encoding="utf-8")
    index.chmod(0o644)
    try:
        yield base
    finally:
        for path in (base / "www", base / "www" / "app"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def gather(root: Path, recorded: Callable[..., Facts]) -> dict[str, Any]:
    nginx = {"worker_user": USER, "prefix": "/usr/share/nginx",
             "servers": [{"file": "/etc/nginx/sites-enabled/app", "line": 3,
                          "root": str(root)}], "passes": []}
    phpfpm = {"pools": [{"name": "www", "user": USER}]}
    fact: dict[str, Any] = docroot_permission_facts(recorded({"nginx": nginx, "phpfpm": phpfpm}))
    return fact


def can_read_as_www_data(path: Path) -> bool:
    require(shutil.which("setpriv") is not None, "needs setpriv (util-linux)")
    done = subprocess.run(["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups",
                           "cat", str(path)], capture_output=True, timeout=30, check=False)
    return done.returncode == 0


def test_folder_with_mode_000_is_found_then_fixed(site: Path,
                                                  recorded: Callable[..., Facts]) -> None:
    root, index = site / "www" / "app", site / "www" / "app" / "index.php"
    (site / "www").chmod(0o000)
    fact = gather(root, recorded)
    result = permissions_docroot(recorded({"docroot_permissions": fact}))
    assert result.result == "unreadable"
    assert result.vars["path"] == str(site / "www")
    assert (result.vars["user"], result.vars["mode"], result.vars["owner"]) == (
        USER, "0000", "root:root")
    assert not can_read_as_www_data(index)

    (site / "www").chmod(0o755)  # the fix
    fact = gather(root, recorded)
    result = permissions_docroot(recorded({"docroot_permissions": fact}))
    assert result.result == "ok", result.summary
    assert {e["path"] for e in fact["entries"]} == {str(root), str(index)}
    assert can_read_as_www_data(index)


def test_unreadable_php_file_is_found(site: Path, recorded: Callable[..., Facts]) -> None:
    index = site / "www" / "app" / "index.php"
    index.chmod(0o600)  # root-owned, no read for others
    result = permissions_docroot(recorded({"docroot_permissions": gather(index.parent,
                                                                         recorded)}))
    assert (result.result, result.vars["path"], result.vars["mode"]) == (
        "unreadable", str(index), "0600")
    assert not can_read_as_www_data(index)
    # group membership counts: give the file to www-data's group with g+r
    os.chown(index, 0, pwd.getpwnam(USER).pw_gid)
    index.chmod(0o640)
    result = permissions_docroot(recorded({"docroot_permissions": gather(index.parent,
                                                                         recorded)}))
    assert result.result == "ok"
    assert can_read_as_www_data(index)
