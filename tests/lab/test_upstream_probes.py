"""Upstream probes against real PHP-FPM / nginx started by the lab harness (root only):
what nginx's worker user (www-data) would meet at each address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.lab.harness import LAB_USER, Lab
from wizard.checks.phpfpm import phpfpm_listen_match, phpfpm_running
from wizard.checks.upstream import upstream_reachable
from wizard.host.facts import Facts
from wizard.host.upstreams import probe_all

MakeLab = Callable[..., Lab]


def _pass(kind: str, target: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "target": target, "scheme": None, "host": None, "port": None,
            "socket": None, "upstream": None, "uses_variables": False, "file": "nginx.conf",
            "line": 1, "settings": {"read_timeout": 60.0, "connect_timeout": 60.0}, **fields}


def _nginx(*passes: dict[str, Any], upstreams: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"worker_user": LAB_USER, "passes": list(passes), "upstreams": upstreams or {}}


def _fastcgi(lab: Lab) -> dict[str, Any]:
    return _pass("fastcgi", f"unix:{lab.php_socket}", socket=lab.php_socket)


def _pools(lab: Lab) -> dict[str, Any]:
    return {"pools": [{"name": "www", "socket": lab.php_socket, "host": None, "port": None,
                       "listen": lab.php_socket, "service": "php8.2-fpm"}]}


def test_healthy_socket_answers_fastcgi(make_lab: MakeLab) -> None:
    lab = make_lab(start_nginx=False)
    [probe] = probe_all(_nginx(_fastcgi(lab)), _pools(lab))
    assert probe["connect"] == "ok" and probe["worker_can_connect"] is True
    assert probe["fastcgi"] == "answered" and "Primary script unknown" in probe["detail"]
    assert (probe["owner"], probe["group"], probe["mode"]) == (LAB_USER, LAB_USER, "0660")
    assert probe["pool"] == "www" and probe["service"] == "php8.2-fpm"


def test_root_only_socket_denies_the_worker_user(make_lab: MakeLab) -> None:
    lab = make_lab(start_nginx=False, listen_owner="root", listen_group="root",
                   listen_mode="0600")
    [probe] = probe_all(_nginx(_fastcgi(lab)), _pools(lab))
    assert probe["exists"] and probe["is_socket"]
    assert (probe["owner"], probe["group"], probe["mode"]) == ("root", "root", "0600")
    assert probe["worker_can_connect"] is False
    assert probe["connect"] == "permission"
    assert f"connecting as {LAB_USER}" in probe["detail"]  # the kernel said no, not a guess
    assert probe["fastcgi"] == "answered"  # PHP-FPM itself is fine: root gets an answer


def test_stopped_phpfpm_leaves_no_socket(make_lab: MakeLab) -> None:
    lab = make_lab(start_nginx=False, start_php=False)
    [probe] = probe_all(_nginx(_fastcgi(lab)), None)
    assert probe["exists"] is False and probe["connect"] == "missing"
    assert probe["fastcgi"] is None


def test_closed_tcp_port_is_refused(make_lab: MakeLab) -> None:
    lab = make_lab(start_nginx=False, start_php=False)
    target = _pass("proxy", f"http://127.0.0.1:{lab.closed_port}", scheme="http",
                   host="127.0.0.1", port=lab.closed_port)
    [probe] = probe_all(_nginx(target), None)
    assert probe["connect"] == "refused" and probe["addresses"] == ["127.0.0.1"]


def test_plain_http_peer_probed_as_https_is_not_tls(make_lab: MakeLab) -> None:
    lab = make_lab(start_php=False)  # nginx itself is the plain-HTTP peer
    target = _pass("proxy", f"https://127.0.0.1:{lab.port}", scheme="https",
                   host="127.0.0.1", port=lab.port)
    [probe] = probe_all(_nginx(target), None)
    assert probe["connect"] == "ok"
    assert probe["tls"] == "not_tls" and "HTTP/1.1 400" in probe["detail"]


def test_unresolvable_name(make_lab: MakeLab) -> None:
    make_lab(start_nginx=False, start_php=False)  # root and packages present, as for the rest
    target = _pass("proxy", "http://nonexistent.invalid:8080", scheme="http",
                   host="nonexistent.invalid", port=8080)
    [probe] = probe_all(_nginx(target), None)
    assert probe["connect"] == "unresolved" and "nonexistent.invalid" in probe["detail"]


def test_upstream_block_expands_and_skips_down_servers(make_lab: MakeLab) -> None:
    lab = make_lab(start_nginx=False, php_listen="tcp")
    servers = [{"address": f"127.0.0.1:{lab.php_port}", "host": "127.0.0.1",
                "port": lab.php_port, "socket": None, "down": False},
               {"address": f"127.0.0.1:{lab.closed_port}", "host": "127.0.0.1",
                "port": lab.closed_port, "socket": None, "down": True}]
    target = _pass("fastcgi", "php", host="php", upstream="php")
    probes = probe_all(_nginx(target, upstreams={"php": {"servers": servers}}), None)
    assert [p["connect"] for p in probes] == ["ok", None]
    assert probes[0]["fastcgi"] == "answered"
    assert probes[1]["skipped"] == "marked down in the upstream block"


def test_checks_on_real_facts_name_the_permission_problem(make_lab: MakeLab) -> None:
    """All the way through: nginx + PHP-FPM facts from the host, probes, then checks."""
    lab = make_lab(listen_owner="root", listen_group="root", listen_mode="0600")
    facts = Facts(lab.options())
    assert phpfpm_running(facts).result == "ok"
    assert phpfpm_listen_match(facts).result == "ok"
    result = upstream_reachable(facts)
    assert result.result == "permission", result.summary
    assert result.causes == ["socket_permission"]
    assert result.vars["socket"] == lab.php_socket and result.vars["worker_user"] == LAB_USER
    assert result.vars["mode"] == "0600" and result.vars["service"] == "php8.2-fpm"


def test_checks_on_real_facts_when_phpfpm_is_down(make_lab: MakeLab) -> None:
    lab = make_lab(start_php=False)
    facts = Facts(lab.options())
    result = upstream_reachable(facts)
    assert result.result == "socket_missing", result.summary
    assert result.causes == ["php_fpm_down"]
    assert result.vars["socket"] == lab.php_socket


def test_a_pool_with_every_worker_busy_is_saturated_not_an_invalid_answer(
        make_lab: MakeLab) -> None:
    # The pool's only worker takes our idle connection first and waits for its request:
    # PHP-FPM then accepts the probe's connection but has nobody to answer it. That is a
    # full pool, not a peer speaking the wrong protocol.
    import socket

    lab = make_lab(start_nginx=False, pm="static", max_children=1)
    holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    holder.connect(str(lab.php_socket))
    try:
        [probe] = probe_all(_nginx(_fastcgi(lab)), _pools(lab), timeout=1.0)
        assert probe["connect"] == "ok"
        assert probe["fastcgi"] == "busy", probe
        assert "no FastCGI answer within 1s" in probe["detail"]
        found = upstream_reachable(Facts(lab.options()))  # the real facts, probed again
    finally:
        holder.close()
    assert (found.result, found.causes) == ("busy", ["php_fpm_saturated"]), found.summary
