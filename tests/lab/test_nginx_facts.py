"""The nginx fact and the nginx / ports checks against a real nginx started by the lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import psutil
import pytest

from tests.lab.harness import BROKEN_INCLUDE, Lab, LabError
from tests.support import require
from wizard.checks.nginx import nginx_config_valid, nginx_running
from wizard.checks.ports import ports_listening
from wizard.host.facts import Facts
from wizard.options import Options

MakeLab = Callable[..., Lab]


def test_discovers_the_running_master_not_etc_nginx(lab: Lab) -> None:
    facts = Facts(Options())  # no --nginx-conf: discovery must find the lab's master
    info = facts.get("nginx")

    assert info["conf_source"] == "process"
    assert info["conf_path"] == lab.nginx_conf
    assert info["prefix"].rstrip("/") == str(lab.prefix)
    assert lab.nginx_pid in info["master_pids"]
    assert info["running"] and info["worker_pids"]
    assert info["worker_user"] == "www-data"
    assert info["test"]["ok"] is True and info["parse_ok"] is True
    assert lab.nginx_conf in info["files"] and str(lab.prefix / "fastcgi_params") in info["files"]
    assert {"target": lab.error_log, "level": "info", "file": lab.nginx_conf, "line": 5,
            "context": "main"} in info["error_logs"]
    [php] = info["passes"]
    assert (php["kind"], php["socket"], php["root"]) == ("fastcgi", lab.php_socket, lab.docroot)
    assert php["settings"]["params"]["SCRIPT_FILENAME"] == "$document_root$fastcgi_script_name"
    [listen] = info["servers"][0]["listen"]
    assert (listen["address"], listen["port"]) == ("127.0.0.1", lab.port)

    assert json.loads(json.dumps(info)) == info  # snapshots must be able to carry it

    assert nginx_running(facts).result == "ok"
    assert nginx_config_valid(facts).result == "ok"
    ports = ports_listening(facts)
    assert ports.result == "ok", ports.summary
    assert f"127.0.0.1:{lab.port}" in ports.summary


def test_syntax_error_in_included_file_is_invalid_with_file_and_line(make_lab: MakeLab) -> None:
    lab = make_lab(php=False, http_extra="    include {prefix}/conf.d/*.conf;")
    broken = lab.write_file("conf.d/shop.conf", BROKEN_INCLUDE)
    facts = Facts(lab.options())

    res = nginx_config_valid(facts)

    assert res.result == "invalid"
    assert res.causes == ["nginx_config_invalid"]
    assert (res.vars["file"], res.vars["line"]) == (broken, 5)  # nginx reports the '}'
    assert 'unexpected "}"' in res.vars["message"]
    assert f"{broken}:5" in res.summary
    assert facts.get("nginx")["parse_ok"] is False


def test_port_held_by_another_process_is_a_conflict(make_lab: MakeLab) -> None:
    lab = make_lab(php=False, start_nginx=False)
    holder = lab.spawn_listener(lab.port)
    with pytest.raises(LabError, match="Address already in use"):
        lab.start_nginx()  # the real symptom: nginx cannot bind

    res = ports_listening(Facts(lab.options()))

    assert res.result == "conflict"
    assert res.causes == ["port_conflict"]
    assert res.vars["port"] == lab.port
    assert res.vars["pid"] == holder.pid
    assert res.vars["holder"] == psutil.Process(holder.pid).name()
    assert res.vars["holder"] in res.summary


def test_new_listen_without_reload_is_not_listening(make_lab: MakeLab) -> None:
    lab = make_lab(php=False)
    lab.write_nginx_conf(locations="    }\n    server {\n        listen 127.0.0.1:{closed_port};")
    res = ports_listening(Facts(lab.options()))
    assert res.result == "not_listening", res.summary
    assert res.vars["port"] == lab.closed_port


def test_passes_and_upstreams_of_break_scenarios(make_lab: MakeLab) -> None:
    lab = make_lab(
        php=False, start_nginx=False, php_listen="tcp",
        fastcgi_pass="127.0.0.1:{closed_port}",
        php_location_extra="            fastcgi_read_timeout 1m30s;",
        http_extra=("    upstream backend { server 127.0.0.1:{closed_port} max_fails=1; "
                    "server unix:{prefix}/app.sock backup; }\n"
                    "    proxy_buffer_size 16k; proxy_buffers 8 16k;"),
        locations=("        location /app/ { proxy_pass http://backend; }\n"
                   "        location /dyn/ { proxy_pass http://$arg_host:8080; }"))
    info = Facts(lab.options()).get("nginx")
    assert info["test"]["ok"] is True

    php, app, dyn = info["passes"]
    assert (php["host"], php["port"]) == ("127.0.0.1", lab.closed_port)
    assert php["settings"]["read_timeout"] == 90.0
    assert (app["upstream"], app["settings"]["buffer_size"]) == ("backend", 16384)
    assert dyn["uses_variables"] is True and dyn["host"] is None
    servers = info["upstreams"]["backend"]["servers"]
    assert [(s["port"], s["socket"], s["backup"]) for s in servers] == [
        (lab.closed_port, None, False), (None, str(lab.prefix / "app.sock"), True)]


def test_nginx_t_as_non_root_says_root_is_needed(make_lab: MakeLab) -> None:
    """As www-data, nginx -t cannot write the lab's root-owned pid file: the check must
    say 'unknown, needs root', not 'invalid'."""
    require(subprocess.run(["setpriv", "--version"], capture_output=True,
                           check=False).returncode == 0, "setpriv (util-linux) is missing")
    lab = make_lab(php=False, start_nginx=False)
    code = (
        "import json,sys\n"
        "from wizard.host.facts import Facts\n"
        "from wizard.options import Options\n"
        "from wizard.checks.nginx import nginx_config_valid\n"
        "f = Facts(Options(nginx_conf=sys.argv[1]))\n"
        "r = nginx_config_valid(f)\n"
        "print(json.dumps({'result': r.result, 'summary': r.summary,"
        " 'parse_ok': f.get('nginx')['parse_ok']}))\n")
    proc = subprocess.run(
        ["setpriv", "--reuid", "www-data", "--regid", "www-data", "--clear-groups",
         sys.executable, "-c", code, lab.nginx_conf],
        capture_output=True, text=True, timeout=60, check=False,
        cwd="/", env={**os.environ, "HOME": "/tmp"})
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["result"] == "unknown"
    assert "needs root" in got["summary"] and "nginx.pid" in got["summary"]
    assert got["parse_ok"] is True  # the config itself was readable and crossplane-clean


def test_lab_stop_ends_every_process_it_started(make_lab: MakeLab) -> None:
    lab = make_lab(php_listen="tcp")
    holder = lab.spawn_listener(lab.closed_port)
    assert lab.request("/index.php") == (200, "hello from php-fpm")
    started = [lab.nginx_pid, lab.php_pid, holder.pid]
    children = [c.pid for pid in started[:2] for c in psutil.Process(pid).children()]

    lab.stop()

    alive = [pid for pid in started + children if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert not lab.prefix.exists()
