"""Without --url, the wizard finds the addresses that failed in nginx's own logs.

A real nginx in front of a stopped PHP-FPM answers 502 to every PHP page. The tests make
real requests with a Host header, then run the real entry points: `diagnose` lists the
failing addresses (never choosing one headless), and a Session that is handed one of them
with `use_address` requests it itself and sees the 502 and the log lines it caused.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lab.harness import Lab
from wizard.engine.failing_addresses import failing_addresses, use_address
from wizard.engine.runner import Session
from wizard.flow.library import find_flow
from wizard.host.facts import Facts

MakeLab = Callable[..., Lab]
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.root


def send(lab: Lab, path: str, host: str, method: str = "GET") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", lab.port, timeout=10)
    try:
        conn.request(method, path, body=b"a=1" if method == "POST" else None,
                     headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def diagnose(lab: Lab, fmt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", "diagnose", "--format", fmt, "--nginx-conf",
         lab.nginx_conf], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def test_diagnose_lists_the_failing_addresses_newest_first(make_lab: MakeLab) -> None:
    lab = make_lab(start_php=False)
    assert send(lab, "/index.php?x=1", "lab.test") == 502
    assert send(lab, "/form.php", "lab.test", method="POST") == 502
    assert send(lab, "/index.php?x=2", "made-up.example") == 502  # a Host no site names
    assert send(lab, "/index.html", "lab.test") == 200
    assert send(lab, "/shop/cart.php", "lab.test") == 502
    lab.wait_for_log("/shop/cart.php", "access")
    site = f"http://lab.test:{lab.port}"

    result = diagnose(lab, "json")

    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)["failing_addresses"]
    assert [(a["url"], a["method"], a["count"], a["statuses"], a["can_request"])
            for a in found] == [
        (f"{site}/shop/cart.php", "GET", 1, [502], True),
        (f"{site}/index.php?x=2", "GET", 2, [502], True),  # one address, the newest query
        (f"{site}/form.php", "POST", 1, [502], False),  # shown, never sent again
    ]
    assert found[0]["source"] == ["access_log", "error_log"]
    assert lab.access_log in found[0]["files"] and lab.error_log in found[0]["files"]
    assert "index.html" not in result.stdout

    text = diagnose(lab, "text").stdout
    assert (f"Seen failing in the logs: {site}/shop/cart.php (1 time, last ") in text
    assert (f"); run again with --url {site}/shop/cart.php to test it live. 2 other "
            "addresses failed too (--format json lists them).") in text


def test_a_chosen_address_is_requested_like_url(make_lab: MakeLab) -> None:
    # lab.test resolves nowhere (like a production name that points at a balancer): the
    # picked address is still asked of this nginx, with its Host header.
    lab = make_lab(start_php=False)
    assert send(lab, "/index.php", "lab.test") == 502
    lab.wait_for_log("/index.php", "access")
    facts = Facts(lab.options(since_seconds=3600))
    session = Session(find_flow("nginx-502"), facts)
    url = f"http://lab.test:{lab.port}/index.php"
    assert [a.url for a in failing_addresses(facts)] == [url]

    use_address(facts, url, session.transcript)
    session.run()

    steps = {step.node: step for step in session.transcript.steps}
    assert steps["url"].result == "bad_gateway", steps["url"].summary
    assert steps["url"].summary.startswith(f"{url} answers 502; nginx logged for it: ")
    # the line this request caused
    assert any("php-fpm.sock failed" in ev.detail for ev in steps["url"].evidence)
    assert steps["url"].vars["fresh_count"] >= 1
    assert steps["server_name"].status != "skipped"  # the host name is matched too
    assert session.transcript.options["url"] == url


def test_without_an_access_log_the_error_log_names_the_address(make_lab: MakeLab) -> None:
    # `access_log off` for the site: nginx's error-log record of the failure still holds
    # the request, the Host and the server block; a timeout is a 504.
    lab = make_lab(server_extra="access_log off;", php_location_extra="fastcgi_read_timeout 1s;")
    assert send(lab, "/slow.php?s=2", "lab.test") == 504
    lab.wait_for_log("upstream timed out")
    facts = Facts(lab.options(since_seconds=3600))

    found = failing_addresses(facts)

    assert [(a.url, a.count, a.statuses, a.sources) for a in found] == [
        (f"http://lab.test:{lab.port}/slow.php?s=2", 1, [504], ["error_log"])]
    assert "slow.php" not in lab.log_text("access")
