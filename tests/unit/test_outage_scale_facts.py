"""Facts over thousands of passes that name a few addresses (issue 14): each address is
probed or judged once, and every pass still gets what judging it alone would give."""

from __future__ import annotations

import json
import socket
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.engine.failing_addresses import failing_addresses
from wizard.host.access_log import access_log_targets
from wizard.host.changes_scope import phpfpm_confs
from wizard.host.dns import upstream_names
from wizard.host.facts import Facts
from wizard.host.firewall_walk import traffic_that_matters
from wizard.host.nginx_config import http_servers, parse_config, server_info
from wizard.host.upstreams import expand_targets, probe_all, probe_target
from wizard.options import Options


def _pass(kind: str, target: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "target": target, "scheme": None, "host": None, "port": None,
            "socket": None, "upstream": None, "uses_variables": False, "file": "site.conf",
            "line": 1, "settings": {"read_timeout": 60.0}, **fields}


@pytest.fixture
def addresses(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A unix socket that accepts, a loopback TCP port that refuses (bound, not listening)."""
    app = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    app.bind(str(tmp_path / "app.sock"))
    app.listen(64)
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    try:
        yield {"app": str(tmp_path / "app.sock"), "missing": str(tmp_path / "php.sock"),
               "closed": closed.getsockname()[1]}
    finally:
        app.close()
        closed.close()


def _busy_site(where: dict[str, Any], sites: int) -> dict[str, Any]:
    """`sites` server blocks whose passes repeat a few addresses, plus one of each kind."""
    passes = []
    for site in range(sites):
        file = f"/etc/nginx/sites-enabled/site{site}.conf"
        passes += [
            _pass("fastcgi", f"unix:{where['missing']}", socket=where["missing"], file=file,
                  line=10),
            _pass("proxy", f"http://127.0.0.1:{where['closed']}", scheme="http",
                  host="127.0.0.1", port=where["closed"], file=file, line=14),
            _pass("proxy", f"http://unix:{where['app']}:/", scheme="http",
                  socket=where["app"], file=file, line=17),
        ]
    passes += [
        _pass("proxy", "http://$backend", scheme="http", uses_variables=True, line=30),
        _pass("proxy", "http://pool", scheme="http", host="pool", upstream="pool", line=31),
        _pass("proxy", "http://pool", scheme="http", host="pool", upstream="pool", line=32),
    ]
    servers = [{"address": f"127.0.0.1:{where['closed']}", "host": "127.0.0.1",
                "port": where["closed"], "socket": None, "down": False},
               {"address": "127.0.0.1:9", "host": "127.0.0.1", "port": 9, "socket": None,
                "down": True}]
    return {"worker_user": None, "passes": passes,
            "upstreams": {"pool": {"servers": servers, "file": "nginx.conf", "line": 5}}}


def _json(probes: list[dict[str, Any]]) -> str:
    """The snapshot's text of the probes, less the time each took."""
    return json.dumps([{k: v for k, v in p.items() if k != "duration"} for p in probes],
                      indent=1)


def test_each_pass_gets_the_entry_probing_it_alone_gives(addresses: dict[str, Any]) -> None:
    nginx = _busy_site(addresses, sites=40)
    pools = [{"name": "www", "socket": "/run/php/php8.2-fpm.sock",
              "listen": "/run/php/php8.2-fpm.sock", "service": "php8.2-fpm"}]
    together = probe_all(nginx, {"pools": pools}, timeout=2.0)
    alone = [probe_target(t, None, pools, timeout=2.0) for t in expand_targets(nginx)]
    assert _json(together) == _json(alone)  # same keys, same order, same values
    assert [p["connect"] for p in together[:3]] == ["missing", "refused", "ok"]
    last = len(nginx["passes"]) - 1  # the last two passes name a block of two servers
    assert [p["pass_index"] for p in together] == [*range(last - 1), last - 1, last - 1,
                                                   last, last]


def test_ten_thousand_passes_to_one_address_stay_small(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.sock")
    nginx = {"passes": [_pass("proxy", f"http://unix:{missing}:/", scheme="http",
                              socket=missing, line=line) for line in range(10_000)]}
    tracemalloc.start()
    try:
        probes = probe_all(nginx, None)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert [p["line"] for p in probes] == list(range(10_000))
    assert {p["detail"] for p in probes} == {f"the socket file {missing} does not exist"}
    # A plain copy of a ~30-key result per pass is ~870 bytes; shared keys keep it near 340.
    assert held / len(probes) < 600, f"{held / len(probes):.0f} bytes per pass"


def test_firewall_traffic_lists_each_connection_once_in_first_seen_order() -> None:
    servers = [{"listen": [{"port": 8080}]}] * 3000 + [{"listen": [{"port": 443}]}]
    local = {"kind": "proxy", "scheme": "http", "host": "127.0.0.1", "port": 9}
    passes = [local] * 5000 + [
        {"kind": "proxy", "host": "localhost", "port": 9000},
        {"kind": "proxy", "host": "10.0.0.5", "port": 9000},
        {"kind": "proxy", "host": "db.example", "port": 5432},
        {"kind": "fastcgi", "socket": "/run/php.sock"},
    ]
    traffic = traffic_that_matters({"servers": servers, "passes": passes}, "http://site.test/")
    assert [t.to_json() for t in traffic] == [
        {"port": 8080, "role": "nginx listen", "path": "incoming", "address": None},
        {"port": 443, "role": "nginx listen", "path": "incoming", "address": None},
        {"port": 80, "role": "url", "path": "incoming", "address": None},
        {"port": 9, "role": "upstream", "path": "loopback", "address": "127.0.0.1"},
        {"port": 9000, "role": "upstream", "path": "loopback", "address": "127.0.0.1"},
        {"port": 9000, "role": "upstream", "path": "outgoing", "address": "10.0.0.5"},
        {"port": 5432, "role": "upstream", "path": "outgoing", "address": "db.example"},
    ]


def test_dns_names_each_host_name_once_where_it_first_appears() -> None:
    passes = [{"host": "127.0.0.1", "file": "a.conf", "line": 3}] * 5000 + [
        {"host": "api.internal", "file": "b.conf", "line": 7},
        {"host": "api.internal", "file": "c.conf", "line": 9},
        {"host": "[::1]", "file": "c.conf", "line": 11},
        {"host": "app", "upstream": "app", "file": "c.conf", "line": 12},
        {"host": "x.example", "uses_variables": True},
    ]
    upstreams = {"app": {"file": "up.conf", "line": 2,
                         "servers": [{"host": "cache.internal"}, {"host": "10.1.1.1"}]}}
    assert upstream_names({"passes": passes, "upstreams": upstreams}) == [
        {"name": "api.internal", "file": "b.conf", "line": 7},
        {"name": "cache.internal", "file": "up.conf", "line": 2},
    ]


def test_access_log_servers_name_and_listen_as_the_server_facts_do(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        "events {}\nhttp {\n  access_log logs/access.log;\n"
        "  server { server_name a.test; }\n"
        "  server { listen 8080; listen [::]:443 ssl default_server;\n"
        "           server_name b.test www.b.test; server_name c.test; }\n"
        "  server { listen 127.0.0.1:8080; listen unix:/run/n.sock; }\n"
        "  server { listen 8080; server_name d.test; }\n}\n")
    parsed = parse_config(str(conf))
    assert parsed is not None
    [target], _ = access_log_targets(parsed.root, str(tmp_path))
    expected = [server_info(server, scope, str(tmp_path))
                for server, scope in http_servers(parsed.root)]
    assert [(r["server_names"], r["listen"]) for r in target.servers] == [
        (e["server_names"], e["listen"]) for e in expected]


def test_php_configs_of_the_site_from_thousands_of_passes() -> None:
    pools = [{"name": "a", "socket": "/run/php/a.sock", "conf": "/etc/php/a.conf"},
             {"name": "b", "host": "127.0.0.1", "port": 9000, "conf": "/etc/php/b.conf"},
             {"name": "c", "socket": "/run/php/c.sock", "conf": "/etc/php/c.conf"}]
    configs = [{"conf": p["conf"]} for p in pools]
    passes = ([{"kind": "fastcgi", "socket": "/var/run/php/a.sock"}] * 3000
              + [{"kind": "fastcgi", "host": "localhost", "port": 9000},
                 {"kind": "proxy", "socket": "/run/php/c.sock"}])
    assert phpfpm_confs({"passes": passes}, {"pools": pools, "configs": configs}) == {
        "/etc/php/a.conf", "/etc/php/b.conf"}
    elsewhere = [{"kind": "fastcgi", "socket": "/run/other.sock"}] * 10
    assert phpfpm_confs({"passes": elsewhere}, {"pools": pools, "configs": configs}) == {
        p["conf"] for p in pools}


def _block(names: list[str], port: int, *, default: bool = False, ssl: bool = False
           ) -> dict[str, Any]:
    return {"server_names": names, "listen": [{"address": "*", "port": port, "ssl": ssl,
                                               "default_server": default, "raw": str(port)}]}


def test_failing_addresses_among_thousands_of_blocks_name_the_site_nginx_chose() -> None:
    """Each logged request goes to the block nginx picks for its Host: its own block, the
    default_server for a made-up Host (not the first of 3,000 blocks), the block that names
    it on another port; worked out once for all blocks, not per request."""
    servers = [_block([f"f{i}.test"], 9000) for i in range(3000)] + [
        _block(["a.test"], 8080), _block(["b.test"], 8080, default=True),
        _block(["c.test"], 8443, ssl=True)]
    log = "/var/log/nginx/access.log"
    entries = [{"method": "GET", "uri": uri, "status": 502, "host": host, "port": None,
                "scheme": None, "epoch": epoch, "source": log}
               for uri, host, epoch in (("/a", "a.test", 100.0), ("/b", "bot.example", 200.0),
                                        ("/c", "c.test", 300.0))]
    facts = Facts(Options(), replay=True)
    facts._values = {"nginx": {"servers": servers},
                     "access_log": {"files": [{"path": log, "servers": servers}],
                                    "entries": entries},
                     "error_log_events": {"events": []}}
    assert [a.url for a in failing_addresses(facts)] == [
        "https://c.test:8443/c", "http://b.test:8080/b", "http://a.test:8080/a"]
