"""The built-in nginx-504 flow on real labs: the Debian nginx in front of an app server
that never answers, and of PHP-FPM running a script slower than nginx waits.

Driven through the command line as a person runs it:
`nginx-502-wizard diagnose --flow nginx-504 --url URL`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.lab.harness import Lab, wait_for
from tests.lab.named_apps import start_app

REPO = Path(__file__).resolve().parents[2]
# A page that waits 3 s inside a function, as one waiting for a slow service would.
REPORT_PHP = ("<?php\nfunction fetch_rates() {\n    sleep(3);\n    return 'rates';\n}\n"
              "echo fetch_rates();\n")


def diagnose_504(lab: Lab, path: str, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    argv = [sys.executable, "-m", "wizard", "diagnose", "--flow", "nginx-504",
            "--nginx-conf", lab.nginx_conf, "--url", lab.url(path), "--since", "10m",
            "--format", "json", "--transcript", str(tmp_path / "transcript.json")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                          cwd=REPO)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def step(report: dict[str, Any], node: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["node"] == node)


def test_a_proxied_app_that_never_answers_is_a_slow_upstream(
        make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(php=False, php_location=False, start_nginx=False)
    _, address = start_app(lab, "gunicorn", "http", "--mode", "hang")
    lab.write_nginx_conf(locations=f"location /app/ {{ proxy_pass http://{address}; "
                                   "proxy_read_timeout 1s; }")
    lab.start_nginx()

    code, report = diagnose_504(lab, "/app/", tmp_path)

    assert code == 1
    assert report["flow"] == "nginx-504"
    causes = [c["id"] for c in report["causes"]]
    assert causes[0] == "upstream_timeout", causes
    assert "upstream_down" not in causes  # it accepts connections: it is slow, not down
    assert "answers 504" in step(report, "url")["summary"]
    assert step(report, "upstream_reachable")["status"] == "ok"
    first = report["causes"][0]
    assert "gunicorn" in first["explanation"]
    assert any("upstream timed out" in ev["detail"] for ev in first["evidence"])


def test_a_slow_php_script_is_named_by_the_slow_log(
        make_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = make_lab(pool_extra="slowlog = {prefix}/logs/www.slow.log\n"
                              "request_slowlog_timeout = 1s\n",
                   php_location_extra="fastcgi_read_timeout 2s;",
                   scripts={"report.php": REPORT_PHP})
    status, _ = lab.request("/report.php", timeout=15)  # a visitor's request, first
    assert status == 504
    slow_log = lab.prefix / "logs" / "www.slow.log"
    wait_for(lambda: slow_log.exists() and "fetch_rates()" in slow_log.read_text(),
             10, "the slow log's entry")

    code, report = diagnose_504(lab, "/report.php", tmp_path)

    assert code == 1
    assert report["causes"][0]["id"] == "upstream_timeout", report["causes"]
    slow = step(report, "slowlog")
    assert slow["status"] == "warning"
    assert "report.php was in sleep()" in slow["summary"]
    assert "called by fetch_rates()" in slow["summary"]
    outlives = step(report, "outlives")
    assert outlives["status"] == "warning"
    assert "no time limit" in outlives["summary"]
    assert "after 2s" in outlives["summary"]
