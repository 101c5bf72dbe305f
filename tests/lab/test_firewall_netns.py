"""The `firewall` fact against real iptables, nftables and ufw rules, each inside a network
namespace the test creates (and always deletes), so the host's own firewall is untouched.

The fact is gathered by a child process started with `ip netns exec`, exactly as the
wizard would run on a host with those rules. nginx's config is a temp file listening on
127.0.0.1:18080 and proxying to 127.0.0.1:19000, so the ports that matter are known.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require

pytestmark = pytest.mark.root

LISTEN_PORT, UPSTREAM_PORT = 18080, 19000
NGINX_CONF = f"""
events {{}}
http {{
    server {{
        listen 127.0.0.1:{LISTEN_PORT};
        server_name lab.example;
        location / {{ proxy_pass http://127.0.0.1:{UPSTREAM_PORT}; }}
    }}
}}
"""
GATHER = """
import json, sys
from wizard.host.facts import Facts
from wizard.options import Options
facts = Facts(Options(nginx_conf=sys.argv[1]))
print(json.dumps(facts.get("firewall")))
"""
# Listen on the upstream port and connect to it: prints "connected" or the error.
PROBE = """
import socket, sys
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1.5).close()
    print("connected")
except OSError as exc:
    print(type(exc).__name__)
"""


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=check)


@pytest.fixture
def netns() -> Iterator[str]:
    require(os.geteuid() == 0, "needs root to create a network namespace")
    require(shutil.which("ip") is not None, "needs iproute2 (ip netns)")
    name = f"wiz{uuid.uuid4().hex[:10]}"
    created = sh("ip", "netns", "add", name, check=False)
    require(created.returncode == 0, f"ip netns add failed: {created.stderr.strip()}")
    try:
        sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)
        shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
        if os.path.isdir("/etc/netns") and not os.listdir("/etc/netns"):
            os.rmdir("/etc/netns")


@pytest.fixture
def nginx_conf(tmp_path: Path) -> str:
    path = tmp_path / "nginx.conf"
    path.write_text(NGINX_CONF, encoding="utf-8")
    return str(path)


def in_ns(ns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *argv)


def gather(ns: str, conf: str) -> dict[str, Any]:
    out = in_ns(ns, sys.executable, "-c", GATHER, conf)
    return json.loads(out.stdout)


def ports(fact: dict[str, Any], key: str) -> dict[tuple[int, str], dict[str, Any]]:
    return {(e["port"], e["path"]): e for e in fact[key]}


def test_no_rules_no_firewall(netns: str, nginx_conf: str) -> None:
    fact = gather(netns, nginx_conf)
    assert fact["backend"] == "none"
    assert {(p["port"], p["path"]) for p in fact["ports"]} >= {
        (LISTEN_PORT, "incoming"), (UPSTREAM_PORT, "loopback")}


def test_iptables_drop_is_found(netns: str, nginx_conf: str) -> None:
    require(shutil.which("iptables") is not None, "needs the iptables package")
    in_ns(netns, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(LISTEN_PORT),
          "-j", "DROP")
    fact = gather(netns, nginx_conf)
    assert fact["backend"] == "iptables"
    entry = ports(fact, "blocked_ports")[(LISTEN_PORT, "incoming")]
    assert entry["rule"] == f"-A INPUT -p tcp -m tcp --dport {LISTEN_PORT} -j DROP"
    assert (entry["table"], entry["chain"], entry["line"]) == ("filter", "INPUT", 1)
    # the same rule set seen by nft must not be reported a second time
    assert [e["backend"] for e in fact["blocked_ports"]] == ["iptables"]


def test_nft_drop_of_the_local_upstream_is_found_and_really_drops(
        netns: str, nginx_conf: str) -> None:
    require(shutil.which("nft") is not None, "needs the nftables package")
    in_ns(netns, "nft", "add", "table", "inet", "wizlab")
    in_ns(netns, "nft", "add chain inet wizlab input { type filter hook input priority 0;"
                        " policy accept; }")
    in_ns(netns, "nft", "add", "rule", "inet", "wizlab", "input", "tcp", "dport",
          str(UPSTREAM_PORT), "drop")
    fact = gather(netns, nginx_conf)
    assert fact["backend"] == "nftables"
    entry = ports(fact, "blocked_ports")[(UPSTREAM_PORT, "loopback")]
    assert entry["rule"] == f"tcp dport {UPSTREAM_PORT} drop"
    assert (entry["table"], entry["chain"]) == ("inet wizlab", "input")
    # what nginx would meet: the connection to the upstream goes unanswered
    assert in_ns(netns, sys.executable, "-c", PROBE, str(UPSTREAM_PORT)).stdout.strip() in (
        "TimeoutError", "timeout")
    in_ns(netns, "nft", "flush", "chain", "inet", "wizlab", "input")
    assert gather(netns, nginx_conf)["blocked_ports"] == []
    assert in_ns(netns, sys.executable, "-c", PROBE, str(UPSTREAM_PORT)).stdout.strip() == \
        "connected"


def test_ufw_deny_is_found(netns: str, nginx_conf: str) -> None:
    require(shutil.which("ufw") is not None, "needs the ufw package")
    # ufw keeps its state in /etc/ufw; `ip netns exec` bind-mounts /etc/netns/NS/ufw over
    # it, so this ufw is isolated from the host's.
    shutil.copytree("/etc/ufw", f"/etc/netns/{netns}/ufw", symlinks=True)
    host_conf = Path("/etc/ufw/ufw.conf").read_text(encoding="utf-8")
    enabled = subprocess.run(["ip", "netns", "exec", netns, "ufw", "--force", "enable"],
                             capture_output=True, text=True, timeout=60, check=False)
    require(enabled.returncode == 0,
            f"ufw cannot be enabled inside a namespace here: {enabled.stderr.strip()}")
    in_ns(netns, "ufw", "deny", f"{LISTEN_PORT}/tcp")
    fact = gather(netns, nginx_conf)
    assert fact["backend"] == "ufw"
    assert ports(fact, "blocked_ports")[(LISTEN_PORT, "incoming")]["rule"] == \
        f"{LISTEN_PORT}/tcp  DENY IN  Anywhere"
    # ufw's before.rules accept loopback, so the local upstream is reachable
    assert (UPSTREAM_PORT, "loopback") in ports(fact, "allowed_ports")
    # the host's ufw was not touched
    assert Path("/etc/ufw/ufw.conf").read_text(encoding="utf-8") == host_conf
