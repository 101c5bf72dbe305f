"""upstream.reachable / upstream.all_down from recorded probes: every result."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from wizard.checks.upstream import upstream_all_down, upstream_reachable
from wizard.host.facts import Facts

SOCK = "/run/php/php8.2-fpm.sock"

PROBE: dict[str, Any] = {
    "pass_index": 0, "kind": "fastcgi", "target": f"unix:{SOCK}", "scheme": None,
    "upstream": None, "server_index": None, "socket": SOCK, "host": None, "port": None,
    "exists": True, "is_socket": True, "owner": "www-data", "group": "www-data",
    "mode": "0660", "worker_user": "www-data", "worker_can_connect": True, "connect": "ok",
    "fastcgi": "answered", "tls": None, "skipped": None, "pool": "www",
    "service": "php8.2-fpm", "pool_note": None, "addresses": [],
    "detail": f"connected to unix:{SOCK}; FastCGI answered status 404", "duration": 0.01,
}
PHPFPM = {"installed": True, "running": True, "service": "php8.2-fpm", "pools": []}
NGINX = {"upstreams": {"backend": {"file": "/etc/nginx/conf.d/app.conf", "line": 1,
                                   "servers": []}}, "passes": []}


def probe(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PROBE), **changes}


def tcp(target: str = "127.0.0.1:8000", **changes: Any) -> dict[str, Any]:
    host, _, port = target.rpartition(":")
    base = dict(kind="proxy", target=target, scheme="http", socket=None, host=host,
                port=int(port), exists=None, is_socket=None, owner=None, group=None, mode=None,
                worker_can_connect=None, fastcgi=None, pool=None, service=None,
                detail=f"connected to {host} port {port}")
    return probe(**{**base, **changes})


def facts(probes: list[dict[str, Any]], phpfpm: dict[str, Any] | None = None) -> Facts:
    values = {"upstream_probes": probes, "phpfpm": phpfpm or PHPFPM, "nginx": NGINX}
    return Facts.from_snapshot({"format": 1, "facts": copy.deepcopy(values)})


def test_reachable_ok() -> None:
    result = upstream_reachable(facts([probe(), tcp()]))
    assert result.result == "ok" and result.vars["count"] == 2
    assert all(e.source == "probe" for e in result.evidence)


def test_reachable_socket_missing_is_phpfpm_down() -> None:
    missing = probe(exists=False, is_socket=None, owner=None, group=None, mode=None,
                    connect="missing", fastcgi=None, detail=f"the socket file {SOCK} does not "
                                                            "exist")
    result = upstream_reachable(facts([missing], {**PHPFPM, "running": False}))
    assert result.result == "socket_missing" and result.causes == ["php_fpm_down"]
    assert result.vars["socket"] == SOCK and result.vars["service"] == "php8.2-fpm"
    assert result.evidence[0].detail.endswith("does not exist")


def test_socket_missing_while_phpfpm_runs_elsewhere_is_a_mismatch() -> None:
    missing = probe(connect="missing", pool=None, service=None, fastcgi=None,
                    socket="/run/php/php7.4-fpm.sock")
    result = upstream_reachable(facts([missing]))
    assert result.result == "socket_missing"
    assert result.causes == ["upstream_address_mismatch"]


def test_socket_missing_of_another_app_is_upstream_down() -> None:
    missing = probe(kind="proxy", socket="/run/app/gunicorn.sock", connect="missing",
                    pool=None, service=None, fastcgi=None, target="unix:/run/app/gunicorn.sock")
    result = upstream_reachable(facts([missing]))
    assert result.causes == ["upstream_down"] and result.vars["service"] == ""


def test_reachable_permission() -> None:
    denied = probe(owner="root", group="root", mode="0600", worker_can_connect=False,
                   connect="permission",
                   detail=f"www-data may not write to the socket {SOCK} (root:root 0600)")
    result = upstream_reachable(facts([denied]))
    assert result.result == "permission" and result.causes == ["socket_permission"]
    assert (result.vars["owner"], result.vars["group"], result.vars["mode"]) == \
        ("root", "root", "0600")
    assert result.vars["worker_user"] == "www-data"


@pytest.mark.parametrize(("changes", "result_name", "cause"), [
    ({"connect": "refused"}, "refused", "upstream_down"),
    ({"connect": "timeout"}, "timeout", "upstream_timeout"),
    ({"connect": "unresolved", "host": "api.internal"}, "unresolved", "upstream_dns"),
    ({"scheme": "https", "tls": "not_tls"}, "tls_failed", "upstream_tls"),
    ({"scheme": "https", "tls": "failed"}, "tls_failed", "upstream_tls"),
])
def test_reachable_tcp_failures(changes: dict[str, Any], result_name: str, cause: str) -> None:
    result = upstream_reachable(facts([tcp(**changes)]))
    assert result.result == result_name and result.causes == [cause]
    assert result.vars["port"] == 8000


def test_refused_phpfpm_port_is_phpfpm_down() -> None:
    refused = probe(socket=None, host="127.0.0.1", port=9000, target="127.0.0.1:9000",
                    connect="refused", fastcgi=None)
    result = upstream_reachable(facts([refused], {**PHPFPM, "running": False}))
    assert result.result == "refused" and result.causes == ["php_fpm_down"]


def test_reachable_no_answer() -> None:
    silent = probe(fastcgi="no_answer", detail="the answer is not FastCGI")
    result = upstream_reachable(facts([silent]))
    assert result.result == "no_answer" and result.causes == ["invalid_response"]


def test_reachable_other_error_is_unknown() -> None:
    busy = probe(connect="error", fastcgi=None, detail="the listen queue is full")
    result = upstream_reachable(facts([busy]))
    assert result.result == "unknown" and "queue is full" in result.summary


def test_reachable_skips_variables() -> None:
    variable = tcp(connect=None, skipped="the address contains variables")
    assert upstream_reachable(facts([variable])).result == "skipped"
    assert upstream_reachable(facts([])).result == "skipped"


def test_dead_member_of_a_live_upstream_is_failed_over() -> None:
    members = [tcp("127.0.0.1:8001", upstream="backend", server_index=0),
               tcp("127.0.0.1:8002", upstream="backend", server_index=1, connect="refused")]
    assert upstream_reachable(facts(members)).result == "ok"
    assert upstream_all_down(facts(members)).result == "ok"


def test_all_down() -> None:
    members = [tcp("127.0.0.1:8001", upstream="backend", server_index=0, connect="refused"),
               tcp("127.0.0.1:8002", upstream="backend", server_index=1, connect="timeout")]
    result = upstream_all_down(facts(members))
    assert result.result == "all_down" and result.causes == ["upstream_down"]
    assert result.vars["upstream"] == "backend"
    assert result.vars["servers"] == "127.0.0.1:8001, 127.0.0.1:8002"
    assert result.vars["file"] == "/etc/nginx/conf.d/app.conf" and result.vars["line"] == 1
    assert upstream_reachable(facts(members)).result == "refused"


def test_all_marked_down() -> None:
    members = [tcp("127.0.0.1:8001", upstream="backend", server_index=0, connect=None,
                   skipped="marked down in the upstream block")]
    result = upstream_all_down(facts(members))
    assert result.result == "all_down" and "marked down" in result.summary


def test_a_group_of_stopped_phpfpm_is_not_a_second_cause() -> None:
    """`upstream php { server unix:...fpm.sock; }` with PHP-FPM stopped: the probe's step
    names PHP-FPM; "the upstream is down" would list the same failure twice."""
    missing = probe(upstream="backend", server_index=0, exists=False, connect="missing",
                    fastcgi=None, detail=f"the socket file {SOCK} does not exist")
    result = upstream_all_down(facts([missing], {**PHPFPM, "running": False}))
    assert result.result == "all_failing" and result.causes == []
    assert result.summary == "upstream backend: every server fails (PHP-FPM is not running)"


def test_all_down_skipped_without_upstream_blocks() -> None:
    assert upstream_all_down(facts([tcp()])).result == "skipped"
