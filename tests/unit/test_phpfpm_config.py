"""Reading PHP-FPM configs the way PHP-FPM does: includes, [pool] sections, $pool,
comments, quotes, time units; and the effective settings PHP-FPM's own test prints."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import require
from wizard.host import phpfpm
from wizard.host.commands import run

PHPFPM = "/usr/sbin/php-fpm8.2"


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


@pytest.fixture
def conf(tmp_path: Path) -> str:
    _write(tmp_path / "pool.d" / "a-www.conf", """\
; the default pool
[www]
user = www-data
group = www-data
listen = /run/php/$pool.sock   ; inline comment
;listen = 127.0.0.1:9000
listen.owner = www-data
listen.mode = 0660
pm = dynamic
pm.max_children = 12
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = 3
request_terminate_timeout = 5m
request_slowlog_timeout = 30s
slowlog = /var/log/php/$pool.slow.log
php_admin_value[error_log] = /var/log/php/$pool.error.log
php_admin_flag[log_errors] = on
php_value[max_execution_time] = 120
""")
    _write(tmp_path / "pool.d" / "b-api.conf", """\
[api]
user = www-data
listen = 127.0.0.1:9001
pm = static
pm.max_children = 3
request_terminate_timeout = 45
chroot = "/srv/chroot/$pool"
""")
    _write(tmp_path / "pool.d" / "ignored.txt", "[nope]\nlisten = 1\n")
    return _write(tmp_path / "php-fpm.conf", f"""\
[global]
pid = /run/php/fpm.pid
error_log = /var/log/php-fpm.log
include={tmp_path}/pool.d/*.conf
""")


def _pools(conf: str) -> dict[str, dict[str, str]]:
    parsed = phpfpm.parse_fpm_config(conf)
    return {name: p["values"] for name, p in parsed["pools"].items()}


def test_includes_sections_and_pool_substitution(conf: str) -> None:
    parsed = phpfpm.parse_fpm_config(conf)
    assert parsed["global"]["error_log"] == "/var/log/php-fpm.log"
    assert list(parsed["pools"]) == ["www", "api"]  # glob order; *.txt not included
    www = parsed["pools"]["www"]
    assert www["file"].endswith("pool.d/a-www.conf") and www["line"] == 2
    assert www["values"]["listen"] == "/run/php/www.sock"  # $pool replaced, comment cut
    assert www["values"]["slowlog"] == "/var/log/php/www.slow.log"
    assert www["values"]["php_admin_value[error_log]"] == "/var/log/php/www.error.log"
    assert www["values"]["php_admin_flag[log_errors]"] == "1"
    assert _pools(conf)["api"]["chroot"] == "/srv/chroot/api"  # quotes removed


def test_commented_lines_are_ignored(conf: str) -> None:
    assert _pools(conf)["www"]["listen"] != "127.0.0.1:9000"


def test_pool_record_units_and_values(conf: str) -> None:
    parsed = phpfpm.parse_fpm_config(conf)
    www = phpfpm._pool_record("www", parsed["pools"]["www"], None, conf, "php8.2-fpm")
    assert www["request_terminate_timeout"] == 300
    assert www["request_slowlog_timeout"] == 30
    assert www["pm_max_children"] == 12
    assert www["socket"] == "/run/php/www.sock" and www["port"] is None
    assert www["error_log"] == "/var/log/php/www.error.log"
    assert www["php_admin_values"] == {"error_log": "/var/log/php/www.error.log",
                                       "log_errors": "1"}
    assert www["max_execution_time"] == 120
    api = phpfpm._pool_record("api", parsed["pools"]["api"], None, conf, "php8.2-fpm")
    assert (api["host"], api["port"], api["socket"]) == ("127.0.0.1", 9001, None)
    assert api["request_terminate_timeout"] == 45
    assert api["listen_mode"] == "0660"  # PHP-FPM's default when unset


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400), ("0", 0), ("45", 45),
    ("10S", 10), ("", None), ("soon", None), (None, None),
])
def test_parse_seconds(text: str | None, seconds: float | None) -> None:
    assert phpfpm.parse_seconds(text) == seconds


@pytest.mark.parametrize(("listen", "expected"), [
    ("/run/php/php8.2-fpm.sock", ("/run/php/php8.2-fpm.sock", None, None)),
    ("127.0.0.1:9000", (None, "127.0.0.1", 9000)),
    ("[::1]:9000", (None, "::1", 9000)),
    ("9000", (None, "*", 9000)),
    ("localhost:9000", (None, "localhost", 9000)),
])
def test_parse_listen(listen: str, expected: tuple[object, ...]) -> None:
    got = phpfpm.parse_listen(listen)
    assert (got["socket"], got["host"], got["port"]) == expected


def test_nested_include_loop_stops(tmp_path: Path) -> None:
    loop = _write(tmp_path / "loop.conf", f"[global]\ninclude={tmp_path}/loop.conf\n")
    errors: list[str] = []
    phpfpm.parse_fpm_config(loop, errors)
    assert any("nested too deep" in e for e in errors)


def test_binary_and_unreadable_files_give_reasons(tmp_path: Path) -> None:
    binary = tmp_path / "php-fpm.conf"
    binary.write_bytes(b"\x7fELF\0\0\0")
    errors: list[str] = []
    assert phpfpm.parse_fpm_config(str(binary), errors)["pools"] == {}
    assert errors == [f"{binary} is a binary file, not a PHP-FPM config"]
    errors.clear()
    phpfpm.parse_fpm_config(str(tmp_path / "missing.conf"), errors)
    assert "cannot read" in errors[0]


@pytest.mark.parametrize(("conf", "binary", "service"), [
    ("/etc/php/8.2/fpm/php-fpm.conf", "/usr/sbin/php-fpm8.2", "php8.2-fpm"),
    ("/etc/php-fpm.conf", "/usr/sbin/php-fpm", "php-fpm"),
    ("/etc/php82/php-fpm.conf", "/usr/sbin/php-fpm82", "php-fpm82"),
    ("/etc/opt/remi/php74/php-fpm.conf", None, "php74-php-fpm"),
    ("/opt/plesk/php/8.3/etc/php-fpm.conf", None, "plesk-php83-fpm"),
    ("/opt/cpanel/ea-php81/root/etc/php-fpm.conf", None, "ea-php81-php-fpm"),
    (None, "/usr/sbin/php-fpm8.1", "php8.1-fpm"),
])
def test_service_names(conf: str | None, binary: str | None, service: str) -> None:
    assert phpfpm.service_name(conf, binary) == service


def test_a_panel_php_is_tested_with_its_own_binary() -> None:
    """Plesk and cPanel install several PHP versions side by side, each its own php-fpm."""
    binaries = ["/usr/sbin/php-fpm", "/opt/plesk/php/8.2/sbin/php-fpm",
                "/opt/plesk/php/8.3/sbin/php-fpm", "/opt/cpanel/ea-php81/root/usr/sbin/php-fpm",
                "/opt/cpanel/ea-php82/root/usr/sbin/php-fpm"]
    assert phpfpm.binary_for("/opt/plesk/php/8.3/etc/php-fpm.conf", binaries) \
        == "/opt/plesk/php/8.3/sbin/php-fpm"
    assert phpfpm.binary_for("/opt/cpanel/ea-php82/root/etc/php-fpm.conf", binaries) \
        == "/opt/cpanel/ea-php82/root/usr/sbin/php-fpm"


def test_pool_matching_treats_var_run_as_run_and_bare_ports_as_any() -> None:
    pools = [{"name": "www", "socket": "/run/php/php8.2-fpm.sock", "host": None, "port": None},
             {"name": "api", "socket": None, "host": "*", "port": 9000},
             {"name": "lo", "socket": None, "host": "127.0.0.1", "port": 9001}]
    assert phpfpm.pool_for_target(pools, "/var/run/php/php8.2-fpm.sock", None, None)["name"] \
        == "www"
    assert phpfpm.pool_for_target(pools, None, "127.0.0.1", 9000)["name"] == "api"
    assert phpfpm.pool_for_target(pools, None, "localhost", 9001)["name"] == "lo"
    assert phpfpm.pool_for_target(pools, None, "127.0.0.1", 9002) is None
    assert phpfpm.pool_for_target(pools, "/run/php/php8.1-fpm.sock", None, None) is None
    # nginx reads `fastcgi_pass unix://run/php/...;` as '//run/php/...': the same file
    assert phpfpm.pool_for_target(pools, "//run/php/php8.2-fpm.sock", None, None)["name"] \
        == "www"
    assert phpfpm.pool_for_target(pools, "//var/run/php/../php/php8.2-fpm.sock", None,
                                  None)["name"] == "www"


def _logs_into(folder: Path) -> None:
    """PHP-FPM's test opens the log files it names: keep them inside the test's folder."""
    (folder / "log" / "php").mkdir(parents=True, exist_ok=True)
    (folder / "srv" / "chroot" / "api").mkdir(parents=True, exist_ok=True)
    for path in [folder / "php-fpm.conf", *(folder / "pool.d").glob("*.conf")]:
        text = path.read_text().replace("/var/log/", f"{folder}/log/")
        path.write_text(text.replace('"/srv/', f'"{folder}/srv/'))


def test_effective_settings_from_real_phpfpm_test(conf: str, tmp_path: Path) -> None:
    """`php-fpm8.2 -tt` resolves units and $pool itself; we read its output."""
    require(os.access(PHPFPM, os.X_OK), f"{PHPFPM} is missing (Debian package php8.2-fpm)")
    require(os.geteuid() == 0, "php-fpm -tt opens its error log and the pool users: needs root")
    _logs_into(tmp_path)
    result = run([PHPFPM, "-tt", "-y", conf], timeout=15)
    assert result.returncode == 0, result.output
    effective = phpfpm.parse_test_output(result.output)
    assert effective["www"]["listen"] == "/run/php/www.sock"
    assert effective["www"]["request_terminate_timeout"] == "300s"
    assert effective["api"]["listen.owner"] is None  # "undefined"
    assert effective["global"]["error_log"] == f"{tmp_path}/log/php-fpm.log"
    assert phpfpm._test(PHPFPM, conf)["ok"] is True


def test_invalid_config_fails_the_real_test(conf: str, tmp_path: Path) -> None:
    require(os.access(PHPFPM, os.X_OK), f"{PHPFPM} is missing (Debian package php8.2-fpm)")
    require(os.geteuid() == 0, "php-fpm -tt opens its error log and the pool users: needs root")
    _logs_into(tmp_path)
    _write(tmp_path / "pool.d" / "c-broken.conf", "[broken]\nuser = www-data\npm = static\n")
    test = phpfpm._test(PHPFPM, conf)
    assert test["ok"] is False
    assert "[pool broken] no listen address have been defined" in test["output"]


def test_test_output_parsing_of_recorded_text() -> None:
    recorded = (
        "[25-Nov-2026 02:33:50] NOTICE: [global]\n"
        "[25-Nov-2026 02:33:50] NOTICE: \tpid = /run/php/php8.2-fpm.pid\n"
        "[25-Nov-2026 02:33:50] NOTICE: [www]\n"
        "[25-Nov-2026 02:33:50] NOTICE: \tlisten = /run/php/php8.2-fpm.sock\n"
        "[25-Nov-2026 02:33:50] NOTICE: \tlisten.mode = undefined\n"
        "[25-Nov-2026 02:33:50] NOTICE: \tphp_admin_value[error_log] = /var/log/x.log\n"
        "[25-Nov-2026 02:33:50] NOTICE: configuration file /etc/php-fpm.conf test is successful\n"
    )
    parsed = phpfpm.parse_test_output(recorded)
    assert parsed["www"] == {"listen": "/run/php/php8.2-fpm.sock", "listen.mode": None,
                             "php_admin_value[error_log]": "/var/log/x.log"}
    assert parsed["global"] == {"pid": "/run/php/php8.2-fpm.pid"}


def test_masters_and_workers_from_recorded_processes() -> None:
    # psutil's cmdline of a real PHP-FPM 8.2 master and worker (the title is rewritten).
    procs = [
        {"pid": 812, "ppid": 1, "name": "php-fpm8.2", "username": "root",
         "cmdline": ["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)", ""]},
        {"pid": 813, "ppid": 812, "name": "php-fpm8.2", "username": "www-data",
         "cmdline": ["php-fpm: pool www", "", "", ""]},
        {"pid": 900, "ppid": 1, "name": "php-fpm7.4", "username": "root",
         "cmdline": ["php-fpm: master process (/etc/php/7.4/fpm/php-fpm.conf)"]},
        {"pid": 901, "ppid": 900, "name": "php-fpm7.4", "username": "www-data",
         "cmdline": ["php-fpm: pool www"]},
        {"pid": 5, "ppid": 1, "name": "nginx", "username": "root",
         "cmdline": ["nginx: master process /usr/sbin/nginx"]},
    ]
    assert phpfpm._masters(procs) == [
        {"pid": 812, "conf": "/etc/php/8.2/fpm/php-fpm.conf", "user": "root", "started": None},
        {"pid": 900, "conf": "/etc/php/7.4/fpm/php-fpm.conf", "user": "root", "started": None}]
    assert phpfpm._workers(procs) == {(812, "www"): [813], (900, "www"): [901]}
