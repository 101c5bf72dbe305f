"""Checks dns.resolves, dns.upstream_names, resources.ok and permissions.docroot from
recorded facts; plus the small real parts of their facts (loopback lookups, a loopback
HTTP request, /proc parsing)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.checks.dns import dns_resolves, dns_upstream_names
from wizard.checks.permissions import permissions_docroot
from wizard.checks.resources import resources_ok
from wizard.host.dns import points_here, resolve, upstream_names
from wizard.host.facts import Facts
from wizard.host.request import request_url, split_url
from wizard.host.resources import count_tcp, find_oom_kills
from wizard.options import Options

GIB = 1024 ** 3


def with_url(facts: Facts, url: str | None) -> Facts:
    facts.options = Options(url=url)
    return facts


# -- dns ----------------------------------------------------------------------------------

def dns_fact(addresses: list[str], error: str | None = None, here: bool = True,
             is_ip: bool = False) -> dict[str, Any]:
    return {"local_addresses": ["127.0.0.1", "192.0.2.2"], "url_host": "shop.example",
            "url_host_is_ip": is_ip, "upstream_names": [],
            "url": {"name": "shop.example", "addresses": addresses, "error": error,
                    "points_here": here}}


def test_dns_resolves_here(recorded: Callable[..., Facts]) -> None:
    result = dns_resolves(with_url(recorded({"dns": dns_fact(["192.0.2.2"])}), "http://shop.example/"))
    assert (result.result, result.vars["addresses"]) == ("ok", "192.0.2.2")


def test_dns_points_elsewhere(recorded: Callable[..., Facts]) -> None:
    facts = recorded({"dns": dns_fact(["203.0.113.7"], here=False)})
    result = dns_resolves(with_url(facts, "http://shop.example/"))
    assert result.result == "not_here"
    assert result.causes == ["dns_resolution"]
    assert result.vars["host"] == "shop.example"
    assert result.vars["addresses"] == "203.0.113.7"


def test_dns_unresolved(recorded: Callable[..., Facts]) -> None:
    facts = recorded({"dns": dns_fact([], error="Name or service not known")})
    result = dns_resolves(with_url(facts, "http://shop.example/"))
    assert (result.result, result.vars["error"]) == ("unresolved", "Name or service not known")


def test_dns_skipped_without_url_or_for_ip(recorded: Callable[..., Facts]) -> None:
    assert dns_resolves(with_url(recorded({"dns": dns_fact([])}), None)).result == "skipped"
    facts = recorded({"dns": dns_fact(["127.0.0.1"], is_ip=True)})
    assert dns_resolves(with_url(facts, "http://127.0.0.1/")).result == "skipped"


def test_upstream_names(recorded: Callable[..., Facts]) -> None:
    bad = {"name": "api.internal", "addresses": [], "error": "Name or service not known",
           "file": "/etc/nginx/sites-enabled/app", "line": 12}
    good = {"name": "localhost", "addresses": ["127.0.0.1"], "error": None,
            "file": None, "line": None}
    result = dns_upstream_names(recorded({"dns": {"upstream_names": [good, bad]}}))
    assert result.result == "unresolved"
    assert (result.vars["name"], result.vars["line"]) == ("api.internal", 12)
    assert result.causes == ["upstream_dns"]
    assert dns_upstream_names(recorded({"dns": {"upstream_names": [good]}})).result == "ok"
    assert dns_upstream_names(recorded({"dns": {"upstream_names": []}})).result == "skipped"


def test_upstream_names_from_nginx_passes() -> None:
    nginx = {"passes": [{"host": "127.0.0.1", "port": 9000},
                        {"host": "api.internal", "port": 80, "file": "f", "line": 3},
                        {"socket": "/run/php.sock"},
                        {"upstream": "pool", "host": "pool"},
                        {"host": "x", "uses_variables": True}],
             "upstreams": {"pool": {"file": "g", "line": 1,
                                    "servers": [{"host": "app1.internal", "port": 8000}]}}}
    assert [n["name"] for n in upstream_names(nginx)] == ["api.internal", "app1.internal"]


def test_resolve_localhost_and_a_name_that_cannot_exist() -> None:
    assert "127.0.0.1" in resolve("localhost")["addresses"]
    missing = resolve("no-such-host.invalid", timeout=10)  # .invalid never resolves (RFC 6761)
    assert missing["addresses"] == [] and missing["error"]
    assert points_here(["127.0.0.1"], []) and not points_here(["203.0.113.1"], ["192.0.2.2"])


# -- url_request --------------------------------------------------------------------------

class BadGateway(http.server.BaseHTTPRequestHandler):
    def version_string(self) -> str:  # the Server header
        return "nginx/1.22.1"

    def do_GET(self) -> None:
        body = b"<html><center><h1>502 Bad Gateway</h1></center></html>"
        self.send_response(502)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_502() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), BadGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_request_records_a_502(loopback_502: int) -> None:
    record = request_url(f"http://127.0.0.1:{loopback_502}/index.php")
    assert (record["status"], record["server"], record["error"]) == (502, "nginx/1.22.1", None)
    assert "502 Bad Gateway" in record["body_excerpt"]
    assert record["finished_at"] >= record["started_at"]


def test_request_refused_is_a_plain_reason(loopback_502: int) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        record = request_url(f"http://127.0.0.1:{port}/")
    assert record["status"] is None and "refused" in record["error"]


def test_split_url() -> None:
    t = split_url("https://Shop.Example.:8443/a?b=1")
    assert (t.scheme, t.host, t.port, t.path, t.host_header) == (
        "https", "shop.example", 8443, "/a?b=1", "shop.example:8443")
    assert split_url("shop.example").port == 80
    with pytest.raises(ValueError):
        split_url("ftp://shop.example/")


# -- resources ----------------------------------------------------------------------------

def resources(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cpu": {"cores": 2, "load1": 0.5},
        "memory": {"total": 8 * GIB, "available": 4 * GIB},
        "swap": {"total": 0, "used": 0},
        "disks": [{"path": "/", "total": 100 * GIB, "free": 40 * GIB,
                   "inodes_total": 1000000, "inodes_free": 900000}],
        "nginx_files": {"workers": [{"pid": 10, "nofile_soft": 1024, "open_files": 30}],
                        "worker_connections": 512, "files_needed": 1024},
        "tcp": {"ephemeral_size": 28232, "ephemeral_in_use": 100, "time_wait": 90,
                "ephemeral_range": [32768, 60999]},
        "oom": {"readable": True, "kills": []},
    }
    base.update(over)
    return base


def test_resources_ok(recorded: Callable[..., Facts]) -> None:
    assert resources_ok(recorded({"resources": resources()})).result == "ok"


@pytest.mark.parametrize(("over", "result", "what"), [
    ({"disks": [{"path": "/var/log", "total": 100 * GIB, "free": 10 * 1024 * 1024}]},
     "exhausted", "disk space on /var/log"),
    ({"disks": [{"path": "/tmp", "total": 10 * GIB, "free": 5 * GIB, "inodes_total": 1000,
                 "inodes_free": 3}]}, "exhausted", "inodes on /tmp"),
    ({"memory": {"total": 8 * GIB, "available": GIB // 10}}, "exhausted", "memory"),
    ({"memory": {"total": 8 * GIB, "available": GIB // 2}}, "close", "memory"),
    ({"nginx_files": {"workers": [{"pid": 10, "nofile_soft": 1024, "open_files": 1020}]}},
     "exhausted", "open files of nginx worker 10"),
    ({"nginx_files": {"workers": [{"pid": 10, "nofile_soft": 1024, "open_files": 3}],
                      "worker_connections": 4096, "files_needed": 8192}},
     "close", "open files of nginx worker 10"),
    ({"tcp": {"ephemeral_size": 1000, "ephemeral_in_use": 950, "time_wait": 940}},
     "exhausted", "local TCP ports"),
    ({"oom": {"kills": [{"process": "php-fpm8.2", "line": "Out of memory: Killed process 7"}]}},
     "exhausted", "memory (the kernel's OOM killer ended processes)"),
    ({"cpu": {"cores": 2, "load1": 9.0}}, "close", "CPU"),
])
def test_resources_problems(recorded: Callable[..., Facts], over: dict[str, Any], result: str,
                            what: str) -> None:
    got = resources_ok(recorded({"resources": resources(**over)}))
    assert (got.result, got.vars["what"]) == (result, what)
    assert got.vars["value"] and got.vars["limit"]
    assert got.causes == (["resource_exhaustion"] if result == "exhausted" else [])


def test_oom_lines_counted_once_per_kill() -> None:
    text = ("2024-05-01T10:00:00,000000+00:00 php-fpm8.2 invoked oom-killer\n"
            "2024-05-01T10:00:00,000000+00:00 oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),"
            "task=php-fpm8.2,pid=4242,uid=33\n"
            "2024-05-01T10:00:00,000000+00:00 Out of memory: Killed process 4242 (php-fpm8.2)"
            " total-vm:812345kB\n")
    kills = find_oom_kills(text, "dmesg", since=0)
    assert [(k["pid"], k["process"]) for k in kills] == [(4242, "php-fpm8.2")]
    assert find_oom_kills(text, "dmesg", since=2e9) == []  # older than --since


def test_count_tcp_reads_proc_format(tmp_path: Path) -> None:
    table = tmp_path / "tcp"
    table.write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
        "   0: 0100007F:9C40 0100007F:1F90 06 00000000:00000000 03:00000F6E 00000000 0\n"
        "   1: 0100007F:1F90 0100007F:9C41 01 00000000:00000000 00:00000000 00000000 33\n"
        "   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0\n",
        encoding="ascii")
    counts = count_tcp((str(table),))
    assert (counts["time_wait"], counts["established"]) == (1, 1)
    assert counts["ephemeral_in_use"] == 1  # 0x9C40 = 40000 is in the ephemeral range


# -- permissions --------------------------------------------------------------------------

def perm_entry(blocking: dict[str, Any] | None, **over: Any) -> dict[str, Any]:
    entry = {"path": "/srv/site/index.php", "kind": "index.php", "user": "www-data",
             "role": "php-fpm pool www", "exists": True, "blocking": blocking, "error": None}
    entry.update(over)
    return entry


def test_permissions_unreadable(recorded: Callable[..., Facts]) -> None:
    block = {"path": "/srv/site", "need": "x", "mode": "0700", "owner": "deploy:deploy",
             "acl": False}
    facts = recorded({"docroot_permissions": {"entries": [perm_entry(None, path="/srv/site"),
                                                          perm_entry(block)]}})
    result = permissions_docroot(facts)
    assert result.result == "unreadable"
    assert {k: result.vars[k] for k in ("path", "user", "mode", "owner")} == {
        "path": "/srv/site", "user": "www-data", "mode": "0700", "owner": "deploy:deploy"}
    assert result.causes == ["file_permission"]


def test_permissions_ok_skipped_unknown(recorded: Callable[..., Facts]) -> None:
    ok = recorded({"docroot_permissions": {"entries": [perm_entry(None)]}})
    assert permissions_docroot(ok).result == "ok"
    none = recorded({"docroot_permissions": {"entries": []}})
    assert permissions_docroot(none).result == "skipped"
    nouser = recorded({"docroot_permissions": {"entries": [
        perm_entry(None, error="there is no user php on this machine")]}})
    assert permissions_docroot(nouser).result == "unknown"
