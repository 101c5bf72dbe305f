"""A PHP-FPM pool file with a syntax error (issue 12), with the real php-fpm8.2.

The lab's PHP-FPM config is laid out as Debian lays it out (php-fpm.conf including
pool.d/*.conf) and its pool file is broken in one of the ways people break it. The real
php-fpm8.2 then refuses to start, so nginx answers 502. `diagnose` runs as a separate
process in a private mount namespace where the lab's folder is /etc/php/8.2/fpm, so it
finds the config where it finds it on a Debian host, stopped as it is. The report must
lead with the mistake, at its file and line, in words, with PHP-FPM's own message, and
fold "PHP-FPM is not running" under it as its consequence.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.harness import LAB_USER, Lab, LabError
from tests.lab.scenario_support import REPO, WIZARD_TIMEOUT, assert_words_filled
from tests.support import require

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root

DEBIAN_FPM = "/etc/php/8.2/fpm"
GLOBAL = """\
[global]
pid = {prefix}/php-fpm.pid
error_log = {prefix}/logs/php-fpm.log
daemonize = no
include = {prefix}/fpm/pool.d/*.conf
"""
POOL = """\
[www]
user = {user}
group = {user}
listen = {prefix}/php-fpm.sock
listen.owner = {user}
listen.group = {user}
pm = static
pm.max_children = 2
"""
# (what replaces which line of POOL, the 1-based line the mistake is on, words expected)
BREAKS = {
    "empty_value": (("pm.max_children = 2", "pm.max_children ="), 8,
                    "in pool www, pm.max_children must be a positive value"),
    "unclosed_section": (("[www]", "[www"), 1, "the section name [www is not closed with ]"),
    "garbage_line": (("pm = static", "pm = static\nthis is not a setting"), 8,
                     "this line is not a setting: PHP-FPM expects 'name = value'"),
}


def debian_layout(lab: Lab, pool: str) -> Path:
    """{prefix}/fpm: php-fpm.conf and pool.d/www.conf; the lab starts PHP-FPM from the
    same text, so what the wizard reads is what PHP-FPM refused."""
    folder = lab.prefix / "fpm"
    lab.write_file("fpm/php-fpm.conf", GLOBAL)
    lab.write_file("fpm/pool.d/www.conf", pool)
    lab.write_phpfpm_conf(GLOBAL)
    return folder


def diagnose_as_debian(lab: Lab, folder: Path) -> tuple[int, dict[str, Any]]:
    """`diagnose --format json` where /etc/php/8.2/fpm is the lab's folder."""
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "ns",
            str(folder), DEBIAN_FPM, sys.executable, "-m", "wizard", "diagnose", "--format",
            "json", "--nginx-conf", lab.nginx_conf, "--since", "10m", "--url",
            lab.url("/index.php"), "--check-timeout", "30"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WIZARD_TIMEOUT,
                          check=False, cwd=REPO)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert_words_filled(report)
    return done.returncode, report


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_pool_syntax_error_leads_the_report_with_file_and_line(make_lab: MakeLab,
                                                               name: str) -> None:
    require(shutil.which("unshare") is not None, "unshare (util-linux) is missing")
    require(os.path.isdir(DEBIAN_FPM), f"{DEBIAN_FPM} is missing (Debian's php8.2-fpm)")
    (old, new), line, words = BREAKS[name]
    lab = make_lab(start_php=False)
    pool = lab.prefix / "fpm" / "pool.d" / "www.conf"
    folder = debian_layout(lab, POOL.format(user=LAB_USER, prefix=lab.prefix).replace(old, new))
    with pytest.raises(LabError, match="php-fpm exited with 78"):
        lab.start_php()  # the real PHP-FPM refuses this config
    assert lab.request("/index.php")[0] == 502

    code, report = diagnose_as_debian(lab, folder)

    assert code == 1
    first = report["causes"][0]
    assert first["id"] == "php_fpm_config_invalid", [c["id"] for c in report["causes"]]
    assert f"{pool}, line {line}: {words}" in first["explanation"]
    assert "php8.2-fpm" in first["explanation"]
    assert [c["id"] for c in first.get("consequences") or []] == ["php_fpm_down"]
    assert "php_fpm_down" not in [c["id"] for c in report["causes"]]
    details = [e["detail"] for e in first["evidence"]]
    assert f"{pool}:{line}: {new.splitlines()[-1]}" in details
    [test_output] = [d for d in details if d.startswith("/usr/sbin/php-fpm8.2 -tt -y ")]
    assert "ERROR" in test_output or "ALERT" in test_output  # PHP-FPM's own message
    [step] = [s for s in report["steps"] if s["node"] == "phpfpm_config"]
    assert step["status"] == "problem"
    assert step["summary"].startswith(f"PHP-FPM cannot start: {pool}, line {line}: {words}")
    assert "PHP-FPM says: " in step["summary"]
