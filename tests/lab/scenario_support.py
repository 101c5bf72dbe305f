"""Helpers for the acceptance lab (test_scenarios.py): run the real CLI against a lab,
make the failing request, and a network namespace for the firewall scenario."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.lab.harness import Lab
from tests.support import require
from wizard.engine.placeholders import unresolved

REPO = Path(__file__).resolve().parents[2]
WIZARD_TIMEOUT = 120.0  # the whole diagnose run; the wizard's own request waits 15s at most
CHECK_TIMEOUT = "30"  # no check may hang the run


@contextlib.contextmanager
def network_namespace() -> Iterator[str]:
    """A uniquely named network namespace with loopback up; always deleted afterwards."""
    require(os.geteuid() == 0, "needs root to create a network namespace")
    require(shutil.which("ip") is not None, "needs iproute2 (ip netns)")
    require(shutil.which("iptables") is not None, "needs the iptables package")
    name = f"wiz502{uuid.uuid4().hex[:8]}"
    created = run(["ip", "netns", "add", name])
    require(created.returncode == 0, f"ip netns add failed: {created.stderr.strip()}")
    try:
        up = run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"])
        assert up.returncode == 0, up.stderr
        yield name
    finally:
        run(["ip", "netns", "del", name])
        shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)


def run(argv: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def in_netns(netns: str | None, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv] if netns else argv


def diagnose(lab: Lab, path: str, host: str = "127.0.0.1",
             netns: str | None = None) -> tuple[int, dict[str, Any]]:
    """Run `python -m wizard diagnose --format json` on the lab; (exit code, report)."""
    return diagnose_url(lab.nginx_conf, f"http://{host}:{lab.port}/{path.lstrip('/')}",
                        netns)


def diagnose_url(nginx_conf: str, url: str,
                 netns: str | None = None) -> tuple[int, dict[str, Any]]:
    """`diagnose --format json --url URL` on that config; (exit code, report)."""
    argv = [sys.executable, "-m", "wizard", "diagnose", "--format", "json",
            "--nginx-conf", nginx_conf, "--since", "10m", "--url", url,
            "--check-timeout", CHECK_TIMEOUT]
    proc = subprocess.run(in_netns(netns, argv), capture_output=True, text=True,
                          timeout=WIZARD_TIMEOUT, check=False, cwd=REPO)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"diagnose printed no JSON (exit {proc.returncode}):\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}") from None
    assert_words_filled(report)
    return proc.returncode, report


def assert_words_filled(report: dict[str, Any]) -> None:
    """Every {placeholder} in the flow's words was filled from what the check found: a
    person must never read 'fastcgi_pass {target}'."""
    transcript = json.loads(Path(report["transcript"]).read_text(encoding="utf-8"))
    for step in transcript["transcript"]["steps"]:
        left = unresolved(step["text"])
        assert not left, f"step {step['node']} ({step['result']}) left {left}: {step['text']}"


def explain(report: dict[str, Any]) -> str:
    """The report in a few lines, for assertion messages."""
    lines = [f"causes: {[c['id'] for c in report['causes']]}"]
    for cause in report["causes"][:3]:
        lines.append(f"- {cause['id']}:")
        lines += [f"    {e['source']}: {e['detail'][:300]}" for e in cause["evidence"][:6]]
    lines += [f"  [{s['status']}] {s['node']}: {s['summary'][:200]}" for s in report["steps"]]
    return "\n".join(lines)


def assert_first_cause(code: int, report: dict[str, Any], cause_id: str,
                       *proof: tuple[str, str]) -> dict[str, Any]:
    """causes[0] is `cause_id`, its evidence holds every (source, text) of `proof`, and the
    exit code says a problem was found. Returns that cause."""
    causes = report["causes"]
    assert causes and causes[0]["id"] == cause_id, explain(report)
    first = causes[0]
    for source, text in proof:
        assert any(e["source"] == source and text in e["detail"] for e in first["evidence"]), \
            f"no {source} evidence containing {text!r}\n{explain(report)}"
    assert code == 1, f"exit code {code}\n{explain(report)}"
    return first


def concurrent_requests(lab: Lab, path: str, count: int,
                        timeout: float) -> list[int | str]:
    """`count` requests at once (threads); each ends within `timeout`. Returns the status
    of each, or the name of the error it met."""

    def one(_: int) -> int | str:
        try:
            return lab.request(path, timeout=timeout)[0]
        except OSError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


NETNS_REQUEST = """
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=float(sys.argv[3]))
try:
    conn.request("GET", sys.argv[2])
    print(conn.getresponse().status)
except OSError as exc:
    print(type(exc).__name__)
"""


def request_in_netns(netns: str, port: int, path: str, timeout: float) -> str:
    """GET from inside the namespace: the status, or the name of the error met."""
    proc = run(in_netns(netns, [sys.executable, "-c", NETNS_REQUEST, str(port), path,
                                str(timeout)]), timeout=timeout + 30)
    return proc.stdout.strip() or proc.stderr.strip()


# -- helpers for the production-shaped host (tests/lab/test_production.py) -----------------

def diagnose_port(nginx_conf: str, port: int, path: str) -> tuple[int, dict[str, Any]]:
    """`diagnose --format json` for the site that is the default server of 127.0.0.1:port
    on a host with several sites (the URL's host is the address: the sites' names do not
    resolve here). Same options as `diagnose`; (exit code, report)."""
    return diagnose_url(nginx_conf, f"http://127.0.0.1:{port}/{path.lstrip('/')}")


def concurrent_calls(call: Any, count: int) -> list[int | str]:
    """`call()` `count` times at once (threads); each result, or the name of the error
    (OSError) it met. `call` returns a status and must end by itself (a timeout)."""

    def one(_: int) -> int | str:
        try:
            return int(call())
        except OSError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))
