"""PHP-FPM's own runs (`php-fpm -tt`, `php-fpm -i`) each start PHP, and every fact that
reads PHP-FPM's pools or logs waits for them. A diagnosis makes them for a PHP-FPM that
runs or that nginx passes requests to: a site that only proxies, with no PHP-FPM running,
is diagnosed from PHP-FPM's ini files alone and finds the same cause; a PHP site whose
PHP-FPM is stopped still has its configuration tested."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.lab.harness import Lab
from tests.lab.scenario_support import REPO, WIZARD_TIMEOUT

MakeLab = Callable[..., Lab]


def _diagnose(lab: Lab, path: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON report of `diagnose --url` for the lab's page, and its saved facts."""
    snapshot = tmp_path / "facts.json"
    argv = [sys.executable, "-m", "wizard", "diagnose", "--format", "json", "--nginx-conf",
            lab.nginx_conf, "--since", "10m", "--url", lab.url(path), "--save-snapshot",
            str(snapshot), "--transcript", str(tmp_path / "t.json")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=WIZARD_TIMEOUT,
                          check=False, cwd=REPO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return json.loads(proc.stdout), json.loads(snapshot.read_text(encoding="utf-8"))


def _own_runs(snapshot: dict[str, Any]) -> list[str]:
    """The options of PHP-FPM's own runs the diagnosis made ('-tt', '-i')."""
    return sorted(c["argv"][1] for c in snapshot["commands"] if c.get("purpose") == "phpfpm")


def test_a_proxy_only_site_is_diagnosed_without_php_fpm_own_runs(
        make_lab: MakeLab, tmp_path: Path) -> None:
    lab = make_lab(php=False, php_location=False,
                   locations="location /api/ { proxy_pass http://127.0.0.1:{closed_port}; }")
    assert lab.request("/api/items")[0] == 502

    report, snapshot = _diagnose(lab, "/api/items", tmp_path)

    assert report["causes"][0]["id"] == "upstream_down"
    fpm = snapshot["facts"]["phpfpm"]
    if fpm["masters"]:  # a PHP-FPM of another test runs beside this one: it is tested
        assert "-tt" in _own_runs(snapshot)
        return
    assert _own_runs(snapshot) == []
    assert fpm["test"]["ok"] is None and fpm["test"]["reason"].startswith("not run")
    assert all(c["test"]["ok"] is None for c in fpm["configs"])


def test_a_php_site_whose_php_fpm_is_stopped_still_has_its_config_tested(
        make_lab: MakeLab, tmp_path: Path) -> None:
    lab = make_lab(start_php=False)
    assert lab.request("/index.php")[0] == 502

    report, snapshot = _diagnose(lab, "/index.php", tmp_path)

    assert report["causes"][0]["id"] == "php_fpm_down"
    fpm = snapshot["facts"]["phpfpm"]
    assert fpm["configs"], "the distro's PHP-FPM config (php8.2-fpm's on Debian) is found"
    assert {"-i", "-tt"} <= set(_own_runs(snapshot))
    assert not str(fpm["test"]["reason"]).startswith("not run")
