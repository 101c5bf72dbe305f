"""On a host without nginx, `diagnose` still reports in the contract's shape and says so.

nginx is hidden for real: a private mount namespace covers its program with /dev/null and
its config folder with an empty tmpfs, so discovery runs against a host that lacks it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.support import require


def test_diagnose_without_nginx_says_it_is_not_installed() -> None:
    require(os.geteuid() == 0, "hiding nginx in a mount namespace needs root")
    require(shutil.which("unshare") is not None, "unshare (util-linux) is missing")
    hide = ["mount --bind /dev/null /usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
            else "true",
            "mount -t tmpfs tmpfs /etc/nginx" if os.path.isdir("/etc/nginx") else "true"]
    script = " && ".join([*hide, 'exec "$0" -m wizard diagnose --format json'])
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           script, sys.executable], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, "PATH": os.defpath})
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert report["steps"][0] == {
        "node": "nginx_installed", "title": "nginx installed", "status": "problem",
        "summary": "no nginx program and no nginx config were found",
        "causes": ["nginx_not_running"]}
    assert report["causes"][0]["id"] == "nginx_not_running"
    assert "no nginx program" in report["causes"][0]["explanation"]
