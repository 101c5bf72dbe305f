"""nginx.installed / nginx.running / nginx.config_valid / ports.listening from recorded
facts. The nginx -t texts are real output of Debian 12's nginx 1.22.1."""

from __future__ import annotations

from typing import Any

import pytest

from wizard.checks.base import REGISTRY
from wizard.checks.nginx import nginx_config_valid, nginx_installed, nginx_running
from wizard.checks.ports import ports_listening
from wizard.host.facts import Facts
from wizard.host.sockets import unit_from_cgroup
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, CheckResult


def nginx_fact(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "installed": True, "binary": "/usr/sbin/nginx", "version": "1.22.1",
        "running": True, "master_pids": [100], "worker_user": "www-data",
        "worker_pids": [101, 102], "conf_path": "/etc/nginx/nginx.conf",
        "prefix": "/usr/share/nginx", "conf_source": "process",
        "test": {"ok": True, "output": "nginx: configuration file /etc/nginx/nginx.conf "
                 "test is successful", "argv": ["/usr/sbin/nginx", "-t", "-c",
                                               "/etc/nginx/nginx.conf"], "reason": None},
        "parse_ok": True, "parse_errors": [], "files": ["/etc/nginx/nginx.conf"],
        "error_logs": [], "upstreams": {}, "passes": [],
        "servers": [{"file": "/etc/nginx/sites-enabled/default", "line": 21,
                     "listen": [{"address": "*", "port": 80, "default_server": True,
                                 "ssl": False, "raw": "80 default_server"},
                                {"address": "[::]", "port": 80, "default_server": True,
                                 "ssl": False, "raw": "[::]:80 default_server"}],
                     "server_names": ["_"], "root": "/var/www/html", "index": []}],
        "worker_connections": 768, "worker_rlimit_nofile": None, "worker_processes": "auto",
    }
    base.update(changes)
    return base


def sock(address: str, port: int, pid: int | None, process: str | None,
         unit: str | None = None) -> dict[str, Any]:
    return {"address": address, "port": port, "family": "ipv6" if ":" in address else "ipv4",
            "pid": pid, "process": process, "username": None, "unit": unit}


def run(fn: Any, **facts: Any) -> CheckResult:
    return fn(Facts.from_snapshot({"format": 1, "facts": facts}))


NGINX_SOCKETS = [sock("0.0.0.0", 80, 101, "nginx", "nginx.service"),
                 sock("::", 80, 101, "nginx", "nginx.service")]


def test_checks_are_registered_with_their_results() -> None:
    assert set(REGISTRY["nginx.installed"].results) == {"ok", "missing"}
    assert set(REGISTRY["nginx.running"].results) == {"ok", "stopped"}
    assert set(REGISTRY["nginx.config_valid"].results) == {"ok", "invalid"}
    assert set(REGISTRY["ports.listening"].results) == {"ok", "not_listening", "conflict"}
    assert "port_conflict" in REGISTRY["ports.listening"].causes


# -- nginx.installed / nginx.running -------------------------------------------------------------
def test_installed() -> None:
    res = run(nginx_installed, nginx=nginx_fact())
    assert res.result == "ok"
    assert res.vars["version"] == "1.22.1"
    missing = run(nginx_installed, nginx=nginx_fact(installed=False, binary=None, version=None))
    assert missing.result == "missing"


def test_running_and_stopped() -> None:
    master = {"pid": 7, "ppid": 1, "name": "nginx", "username": "root", "create_time": 0,
              "cmdline": ["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"]}
    worker = {**master, "pid": 8, "cmdline": ["nginx: worker process"], "username": "www-data"}
    res = run(nginx_running, processes=[master, worker])
    assert (res.result, res.vars["pid"]) == ("ok", "7")
    # psutil reports nginx's rewritten title split into words
    split = {**master, "cmdline": ["nginx:", "master", "process", "/usr/sbin/nginx"]}
    assert run(nginx_running, processes=[split]).result == "ok"
    stopped = run(nginx_running, processes=[worker | {"name": "php-fpm8.2"}])
    assert stopped.result == "stopped"
    assert stopped.vars["service"] == "nginx"
    assert stopped.confidence == DIRECT  # nothing else explains it


def test_stopped_because_config_is_rejected_ranks_below_that_cause() -> None:
    test = {"ok": False, "output": "nginx: [emerg] unexpected end of file", "reason": None,
            "argv": ["nginx", "-t"]}
    res = run(nginx_running, processes=[], nginx=nginx_fact(running=False, test=test))
    assert res.result == "stopped" and res.confidence == CIRCUMSTANTIAL
    assert res.vars["reason"] == "nginx -t rejects its configuration"
    assert "it cannot start: nginx -t rejects its configuration" in res.summary


def test_stopped_because_another_program_holds_the_port() -> None:
    res = run(nginx_running, processes=[],
              nginx=nginx_fact(running=False, master_pids=[], worker_pids=[]),
              listening={"tcp": [sock("0.0.0.0", 80, 555, "apache2", "apache2.service")]})
    assert res.result == "stopped" and res.confidence == CIRCUMSTANTIAL
    assert res.vars["reason"] == "port 80 is held by apache2"


# -- nginx.config_valid ----------------------------------------------------------------------
def test_config_valid_ok() -> None:
    res = run(nginx_config_valid, nginx=nginx_fact())
    assert res.result == "ok"
    assert "/etc/nginx/nginx.conf" in res.summary


def test_config_invalid_names_file_and_line() -> None:
    output = ('2026/11/25 02:36:27 [emerg] 13346#13346: unexpected "}" in '
              "/etc/nginx/sites-enabled/shop:14\n"
              "nginx: configuration file /etc/nginx/nginx.conf test failed")
    test = {"ok": False, "output": output, "reason": None, "message": 'unexpected "}"',
            "file": "/etc/nginx/sites-enabled/shop", "line": 14,
            "argv": ["/usr/sbin/nginx", "-t", "-c", "/etc/nginx/nginx.conf"]}
    res = run(nginx_config_valid, nginx=nginx_fact(test=test, parse_ok=False))
    assert res.result == "invalid"
    assert res.causes == ["nginx_config_invalid"]
    assert (res.vars["file"], res.vars["line"], res.vars["message"]) == (
        "/etc/nginx/sites-enabled/shop", 14, 'unexpected "}"')
    assert "/etc/nginx/sites-enabled/shop:14" in res.summary
    assert any(e.source == "command" and "test failed" in e.detail for e in res.evidence)
    assert any(e.source == "file" and e.detail == "/etc/nginx/sites-enabled/shop:14"
               for e in res.evidence)


def test_config_invalid_without_location_uses_last_output_line() -> None:
    test = {"ok": False, "output": "nginx: [emerg] no \"events\" section in configuration",
            "reason": None, "argv": ["nginx", "-t"]}
    res = run(nginx_config_valid, nginx=nginx_fact(test=test))
    assert res.result == "invalid"
    assert res.vars["file"] == "/etc/nginx/nginx.conf"
    assert 'no "events" section' in res.summary


def test_config_unknown_when_test_needs_root() -> None:
    reason = ("nginx -t needs root here: as this user it may not open /run/nginx.pid; "
              "run the wizard with sudo to test the config fully")
    test = {"ok": None, "output": "...Permission denied...", "reason": reason, "argv": []}
    res = run(nginx_config_valid, nginx=nginx_fact(test=test))
    assert (res.result, res.summary) == ("unknown", reason)


def test_config_skipped_when_not_installed() -> None:
    res = run(nginx_config_valid, nginx=nginx_fact(installed=False))
    assert res.result == "skipped"


# -- ports.listening -------------------------------------------------------------------------
def listening(*socks: dict[str, Any]) -> dict[str, Any]:
    return {"tcp": list(socks), "unix": [], "pids_hidden": False, "note": None}


def test_ports_ok_when_nginx_holds_them() -> None:
    res = run(ports_listening, nginx=nginx_fact(), listening=listening(*NGINX_SOCKETS))
    assert res.result == "ok"
    assert "*:80" in res.summary


def test_conflict_when_other_process_holds_port_and_nginx_is_down() -> None:
    apache = sock("::", 80, 555, "apache2", "apache2.service")
    res = run(ports_listening, nginx=nginx_fact(running=False, master_pids=[], worker_pids=[]),
              listening=listening(apache))
    assert res.result == "conflict"
    assert res.causes == ["port_conflict"]
    assert (res.vars["port"], res.vars["holder"], res.vars["pid"], res.vars["service"]) == (
        80, "apache2", 555, "apache2")
    assert "apache2" in res.summary and "555" in res.summary


def test_conflict_on_specific_address_against_wildcard_listen() -> None:
    other = sock("127.0.0.1", 80, 900, "python3")
    res = run(ports_listening, nginx=nginx_fact(running=False, master_pids=[], worker_pids=[]),
              listening=listening(other))
    assert res.result == "conflict"
    assert res.vars["service"] == "python3"  # no unit: the process name is the best name


def test_other_port_is_not_a_conflict() -> None:
    res = run(ports_listening, nginx=nginx_fact(running=False, master_pids=[], worker_pids=[]),
              listening=listening(sock("0.0.0.0", 8080, 900, "node")))
    assert res.result == "ok"
    assert "free" in res.summary


def test_other_address_same_port_is_not_a_conflict() -> None:
    servers = [{"file": "/x", "line": 1, "server_names": [], "root": None, "index": [],
                "listen": [{"address": "127.0.0.1", "port": 8080, "default_server": False,
                            "ssl": False, "raw": "127.0.0.1:8080"}]}]
    res = run(ports_listening,
              nginx=nginx_fact(servers=servers, running=False, master_pids=[], worker_pids=[]),
              listening=listening(sock("10.0.0.5", 8080, 900, "node")))
    assert res.result == "ok"


def test_not_listening_when_running_nginx_lacks_a_port() -> None:
    servers = nginx_fact()["servers"] + [{
        "file": "/etc/nginx/sites-enabled/new", "line": 1, "server_names": ["new"],
        "root": None, "index": [], "listen": [{"address": "*", "port": 8443,
                                               "default_server": False, "ssl": True,
                                               "raw": "8443 ssl"}]}]
    res = run(ports_listening, nginx=nginx_fact(servers=servers),
              listening=listening(*NGINX_SOCKETS))
    assert res.result == "not_listening"
    assert (res.vars["port"], res.vars["file"]) == (8443, "/etc/nginx/sites-enabled/new")


def test_hidden_holder_while_nginx_runs_is_probably_nginx() -> None:
    hidden = [sock("0.0.0.0", 80, None, None), sock("::", 80, None, None)]
    res = run(ports_listening, nginx=nginx_fact(master_pids=[], worker_pids=[]),
              listening=listening(*hidden))
    assert res.result == "ok"
    assert "hidden" in res.summary


def test_hidden_holder_while_nginx_is_down_is_a_conflict() -> None:
    res = run(ports_listening, nginx=nginx_fact(running=False, master_pids=[], worker_pids=[]),
              listening=listening(sock("0.0.0.0", 80, None, None)))
    assert res.result == "conflict"
    assert "unknown process" in res.vars["holder"]


@pytest.mark.parametrize("nginx", [
    nginx_fact(installed=False),
    nginx_fact(servers=[], files=[]),
])
def test_ports_without_config(nginx: dict[str, Any]) -> None:
    res = run(ports_listening, nginx=nginx, listening=listening())
    assert res.result in ("skipped", "unknown")


# -- the listening fact's service name -------------------------------------------------------
@pytest.mark.parametrize(("cgroup", "unit"), [
    ("0::/system.slice/nginx.service\n", "nginx.service"),  # cgroup v2 (Debian 12)
    ("12:pids:/system.slice/php8.2-fpm.service\n1:name=systemd:/system.slice/php8.2-fpm.service\n",
     "php8.2-fpm.service"),  # cgroup v1 (CentOS 7)
    ("0::/user.slice/user-1000.slice/session-3.scope\n", None),  # started by hand
    ("0::/\n", None),  # a container without systemd
])
def test_unit_from_cgroup(cgroup: str, unit: str | None) -> None:
    assert unit_from_cgroup(cgroup) == unit
