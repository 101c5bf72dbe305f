"""PHP-FPM checks from recorded facts: every result each check can give."""

from __future__ import annotations

import copy
from typing import Any

from wizard.checks.phpfpm import (
    phpfpm_capacity,
    phpfpm_listen_match,
    phpfpm_running,
    phpfpm_timeouts,
)
from wizard.host.facts import Facts
from wizard.outcome import DIRECT, STRONG

SOCK = "/run/php/php8.2-fpm.sock"
MIB = 1024 * 1024

NGINX: dict[str, Any] = {
    "worker_user": "www-data", "upstreams": {},
    "passes": [{"kind": "fastcgi", "target": f"unix:{SOCK}", "scheme": None, "host": None,
                "port": None, "socket": SOCK, "upstream": None, "uses_variables": False,
                "file": "/etc/nginx/sites-enabled/default", "line": 57,
                "settings": {"read_timeout": 60.0, "connect_timeout": 60.0}}],
}
POOL: dict[str, Any] = {
    "name": "www", "file": "/etc/php/8.2/fpm/pool.d/www.conf", "line": 4,
    "conf": "/etc/php/8.2/fpm/php-fpm.conf", "service": "php8.2-fpm", "listen": SOCK,
    "socket": SOCK, "host": None, "port": None, "listen_owner": "www-data",
    "listen_group": "www-data", "listen_mode": "0660", "user": "www-data", "group": "www-data",
    "pm": "dynamic", "pm_max_children": 5, "request_terminate_timeout": 0.0,
    "max_execution_time": None, "php_admin_values": {}, "php_values": {},
    "workers": 2, "worker_rss_avg": 40 * MIB,
}
PHPFPM: dict[str, Any] = {
    "installed": True, "binaries": ["/usr/sbin/php-fpm8.2"], "service": "php8.2-fpm",
    "masters": [{"pid": 812, "conf": "/etc/php/8.2/fpm/php-fpm.conf", "user": "root"}],
    "running": True, "conf_path": "/etc/php/8.2/fpm/php-fpm.conf", "error_logs": [],
    "pools": [POOL], "max_execution_time": 30.0, "errors": [],
    "memory": {"total": 2048 * MIB, "available": 1024 * MIB},
}


def facts(nginx: dict[str, Any] | None = None, phpfpm: dict[str, Any] | None = None,
          **extra: Any) -> Facts:
    values = {"nginx": nginx or NGINX, "phpfpm": phpfpm or PHPFPM, **extra}
    return Facts.from_snapshot({"format": 1, "facts": copy.deepcopy(values)})


def fpm(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PHPFPM), **changes}


def pool(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(POOL), **changes}


def nginx_pass(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(NGINX)
    data["passes"][0].update(changes)
    return data


# -- phpfpm.running ------------------------------------------------------------------------

def test_running_ok() -> None:
    result = phpfpm_running(facts())
    assert result.result == "ok"
    assert result.vars["service"] == "php8.2-fpm" and result.vars["pool"] == "www"
    assert result.vars["socket"] == SOCK and result.vars["pid"] == "812"


def test_running_stopped() -> None:
    result = phpfpm_running(facts(phpfpm=fpm(masters=[], running=False)))
    assert result.result == "stopped"
    assert result.causes == ["php_fpm_down"]
    assert result.vars["service"] == "php8.2-fpm" and result.vars["socket"] == SOCK
    assert "php8.2-fpm is not running" in result.summary


def test_running_other_version_only_counts_as_stopped() -> None:
    other = [{"pid": 9, "conf": "/etc/php/8.1/fpm/php-fpm.conf", "user": "root"}]
    result = phpfpm_running(facts(phpfpm=fpm(masters=other)))
    assert result.result == "stopped"
    assert "/etc/php/8.1/fpm/php-fpm.conf" in result.summary


def test_running_not_installed() -> None:
    result = phpfpm_running(facts(phpfpm=fpm(installed=False, masters=[], pools=[],
                                               binaries=[], service="php-fpm")))
    assert result.result == "not_installed" and result.causes == ["php_fpm_down"]


def test_running_skipped_without_fastcgi_pass() -> None:
    proxy_only = nginx_pass(kind="proxy", target="http://127.0.0.1:8000", socket=None,
                            host="127.0.0.1", port=8000, scheme="http")
    assert phpfpm_running(facts(nginx=proxy_only)).result == "skipped"


def test_running_skipped_for_remote_php() -> None:
    remote = nginx_pass(target="10.0.0.5:9000", socket=None, host="10.0.0.5", port=9000)
    assert phpfpm_running(facts(nginx=remote)).result == "skipped"


# -- phpfpm.listen_match ---------------------------------------------------------------------

def test_listen_match_ok() -> None:
    result = phpfpm_listen_match(facts(upstream_probes=[]))
    assert result.result == "ok" and result.vars["pool"] == "www"


def test_listen_match_var_run_alias_is_ok() -> None:
    aliased = nginx_pass(target=f"unix:/var{SOCK}", socket=f"/var{SOCK}")
    assert phpfpm_listen_match(facts(nginx=aliased, upstream_probes=[])).result == "ok"


def test_listen_mismatch() -> None:
    wrong = nginx_pass(target="unix:/run/php/php7.4-fpm.sock", socket="/run/php/php7.4-fpm.sock")
    result = phpfpm_listen_match(facts(nginx=wrong, upstream_probes=[]))
    assert result.result == "mismatch"
    assert result.causes == ["upstream_address_mismatch"]
    assert result.vars["target"] == "unix:/run/php/php7.4-fpm.sock"
    assert result.vars["pool"] == "www" and result.vars["pool_listen"] == SOCK
    assert result.vars["file"] == POOL["file"] and result.vars["line"] == 4
    assert result.vars["nginx_line"] == 57


def test_listen_mismatch_with_phpfpm_stopped_is_only_a_suspect() -> None:
    # PHP-FPM is down: its pool listens nowhere now, and the config we read may not be the
    # one meant for this site; phpfpm.running's "stopped" is the stronger finding.
    wrong = nginx_pass(target="unix:/srv/app/php.sock", socket="/srv/app/php.sock")
    running = phpfpm_listen_match(facts(nginx=wrong, upstream_probes=[]))
    stopped = phpfpm_listen_match(facts(nginx=wrong, phpfpm=fpm(masters=[], running=False),
                                        upstream_probes=[]))
    assert running.confidence == DIRECT
    assert stopped.result == "mismatch" and stopped.confidence == STRONG
    assert "once its PHP-FPM is started" in stopped.summary


def test_listen_mismatch_tcp_port() -> None:
    tcp_pool = pool(listen="127.0.0.1:9000", socket=None, host="127.0.0.1", port=9000)
    wrong = nginx_pass(target="127.0.0.1:9001", socket=None, host="127.0.0.1", port=9001)
    result = phpfpm_listen_match(facts(nginx=wrong, phpfpm=fpm(pools=[tcp_pool]),
                                       upstream_probes=[]))
    assert result.result == "mismatch" and result.vars["pool_listen"] == "127.0.0.1:9000"


def test_listen_other_fastcgi_server_answering_is_ok() -> None:
    other = nginx_pass(target="127.0.0.1:9100", socket=None, host="127.0.0.1", port=9100)
    probes = [{"target": "127.0.0.1:9100", "fastcgi": "answered"}]
    assert phpfpm_listen_match(facts(nginx=other, upstream_probes=probes)).result == "ok"


def test_listen_match_unknown_without_pools() -> None:
    result = phpfpm_listen_match(facts(phpfpm=fpm(pools=[], errors=["cannot read x"]),
                                       upstream_probes=[]))
    assert result.result == "unknown" and "cannot read x" in result.summary


def test_listen_match_skipped_when_address_uses_variables() -> None:
    variable = nginx_pass(target="$backend", socket=None, uses_variables=True)
    assert phpfpm_listen_match(facts(nginx=variable, upstream_probes=[])).result == "skipped"


# -- phpfpm.timeouts -----------------------------------------------------------------------------

def test_timeouts_ok_without_limit() -> None:
    result = phpfpm_timeouts(facts())
    assert result.result == "ok" and result.vars["max_execution_time"] == 30.0


def test_timeouts_too_short() -> None:
    short = fpm(pools=[pool(request_terminate_timeout=30.0)])
    result = phpfpm_timeouts(facts(phpfpm=short))
    assert result.result == "too_short" and result.causes == ["php_fpm_timeout"]
    assert result.vars["request_terminate_timeout"] == 30.0
    assert result.vars["read_timeout"] == 60.0
    assert result.vars["setting"] == "request_terminate_timeout"
    assert result.vars["pool"] == "www" and result.vars["file"] == POOL["file"]


def test_timeouts_ok_when_nginx_gives_up_first() -> None:
    longer = fpm(pools=[pool(request_terminate_timeout=300.0)])
    assert phpfpm_timeouts(facts(phpfpm=longer)).result == "ok"


def test_timeouts_skipped_without_matching_pool() -> None:
    wrong = nginx_pass(target="unix:/tmp/other.sock", socket="/tmp/other.sock")
    assert phpfpm_timeouts(facts(nginx=wrong)).result == "skipped"


# -- phpfpm.capacity ------------------------------------------------------------------------------

def test_capacity_ok() -> None:
    # 5 children of 40 MiB; 1 GiB free holds about 27: not 4 times more.
    small_host = fpm(memory={"total": 1024 * MIB, "available": 1000 * MIB},
                     pools=[pool(pm_max_children=10)])
    result = phpfpm_capacity(facts(phpfpm=small_host))
    assert result.result == "ok", result.summary


def test_capacity_low_by_memory() -> None:
    result = phpfpm_capacity(facts())
    assert result.result == "low"
    assert result.vars["max_children"] == 5 and result.vars["fits"] >= 20
    assert result.vars["suggested"] == 20  # a step of at most 4x


def test_capacity_low_when_all_children_run() -> None:
    busy = fpm(memory={"total": 1024 * MIB, "available": 300 * MIB},
               pools=[pool(workers=5, pm_max_children=5)])
    result = phpfpm_capacity(facts(phpfpm=busy))
    assert result.result == "low" and result.causes == ["php_fpm_saturated"]


def test_capacity_overcommit() -> None:
    big = fpm(memory={"total": 1024 * MIB, "available": 500 * MIB},
              pools=[pool(pm_max_children=50, worker_rss_avg=100 * MIB)])
    result = phpfpm_capacity(facts(phpfpm=big))
    assert result.result == "overcommit"
    assert result.vars["per_child_mb"] == 100 and result.vars["memory_total_mb"] == 1024


def test_capacity_unknown_without_memory() -> None:
    assert phpfpm_capacity(facts(phpfpm=fpm(memory=None))).result == "unknown"
