"""The nginx config walk (crossplane output -> servers, passes, upstreams, logs) and the
parsing helpers for nginx's value syntax, `nginx -V`, master titles and `nginx -t` output.

Configs are real files in tmp dirs parsed by crossplane; the nginx -t / -V texts are real
output recorded from Debian 12's nginx 1.22.1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard.host.nginx_config import parse_config, parse_listen, parse_target, summarize
from wizard.host.nginx_discover import (
    BuildInfo,
    choose_conf,
    master_args,
    needs_root_only,
    parse_build_info,
)
from wizard.host.nginx_discover import test_messages as messages_of
from wizard.host.nginx_values import parse_size, parse_time


def write(base: Path, rel: str, text: str) -> Path:
    path = base / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def summary_of(conf: Path, prefix: str = "/usr/share/nginx") -> dict:
    parsed = parse_config(str(conf))
    assert parsed.errors == [], parsed.errors
    return summarize(parsed, prefix, "stderr")


# -- value syntax ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("4k", 4096), ("4K", 4096), ("1m", 1048576), ("512", 512), ("2g", 2 * 1024**3),
    ("4kb", None), ("", None), ("-1", None), ("1.5k", None), ("$size", None),
])
def test_parse_size(text: str, expected: int | None) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("60s", 60.0), ("60", 60.0), ("1m30s", 90.0), ("1m30", 90.0), ("2h", 7200.0),
    ("500ms", 0.5), ("1d", 86400.0), ("1w", 604800.0), ("1h 30m", 5400.0),
    ("1x", None), ("", None), ("s", None), ("10s10s", None), ("30 1m", None), ("1m 30", 90.0),
])
def test_parse_time(text: str, expected: float | None) -> None:
    assert parse_time(text) == expected


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=59))
def test_parse_time_minutes_and_seconds_add_up(minutes: int, seconds: int) -> None:
    assert parse_time(f"{minutes}m{seconds}s") == minutes * 60 + seconds


# -- listen and targets -----------------------------------------------------------------------
@pytest.mark.parametrize(("args", "address", "port", "default", "ssl"), [
    (["80"], "*", 80, False, False),
    (["127.0.0.1:8080", "default_server"], "127.0.0.1", 8080, True, False),
    (["[::]:443", "ssl", "http2"], "[::]", 443, False, True),
    (["[::1]"], "[::1]", 80, False, False),
    (["*:8000"], "*", 8000, False, False),
    (["localhost:81"], "localhost", 81, False, False),
    (["10.0.0.5"], "10.0.0.5", 80, False, False),
    (["unix:/run/nginx.sock"], "unix:/run/nginx.sock", None, False, False),
    (["80", "default"], "*", 80, True, False),
])
def test_parse_listen(args: list[str], address: str, port: int | None, default: bool,
                      ssl: bool) -> None:
    got = parse_listen(args)
    assert (got["address"], got["port"], got["default_server"], got["ssl"]) == (
        address, port, default, ssl)
    assert got["raw"] == " ".join(args)


@pytest.mark.parametrize(("kind", "target", "expected"), [
    ("fastcgi", "unix:/run/php/php8.2-fpm.sock",
     {"socket": "/run/php/php8.2-fpm.sock", "host": None, "port": None, "scheme": None}),
    ("fastcgi", "127.0.0.1:9000", {"host": "127.0.0.1", "port": 9000, "socket": None}),
    ("fastcgi", "[::1]:9000", {"host": "::1", "port": 9000}),
    ("proxy", "http://backend", {"upstream": "backend", "host": "backend", "port": None}),
    ("proxy", "http://127.0.0.1:3000/app/", {"scheme": "http", "host": "127.0.0.1",
                                              "port": 3000, "upstream": None}),
    ("proxy", "https://api.example.com:8443/x", {"scheme": "https",
                                                  "host": "api.example.com", "port": 8443}),
    ("proxy", "https://api.example.com", {"port": 443}),
    ("proxy", "http://example.com", {"port": 80, "upstream": None}),
    ("proxy", "http://unix:/tmp/app.sock:/api/", {"socket": "/tmp/app.sock", "host": None}),
    ("grpc", "grpc://127.0.0.1:50051", {"scheme": "grpc", "port": 50051}),
    ("uwsgi", "127.0.0.1:3031", {"host": "127.0.0.1", "port": 3031}),
    # uWSGI's docs write `uwsgi_pass unix:///tmp/mysite.sock;`: a socket, not a scheme
    ("uwsgi", "unix:///tmp/mysite.sock", {"socket": "/tmp/mysite.sock", "scheme": None,
                                          "host": None}),
    ("proxy", "http://$backend_host:8080", {"uses_variables": True, "host": None}),
    ("fastcgi", "$php_upstream", {"uses_variables": True, "host": None, "socket": None}),
    ("proxy", "http://127.0.0.1:8080$request_uri", {"uses_variables": True,
                                                     "host": "127.0.0.1", "port": 8080}),
])
def test_parse_target(kind: str, target: str, expected: dict) -> None:
    got = parse_target(kind, target, {"backend"})
    assert {k: got[k] for k in expected} == expected


# -- whole configs ------------------------------------------------------------------------------
def test_includes_globs_and_symlinks_keep_file_and_line(tmp_path: Path) -> None:
    conf = write(tmp_path, "nginx.conf", """\
user www-data;
worker_processes 2;
worker_rlimit_nofile 4096;
events { worker_connections 768; }
http {
    include conf.d/*.conf;
    include sites-enabled/*;
}
""")
    write(tmp_path, "conf.d/10-upstream.conf",
          "upstream backend {\n    server 127.0.0.1:9001 max_fails=1;\n}\n")
    write(tmp_path, "conf.d/readme.txt", "not included: wrong suffix {{{")
    site = write(tmp_path, "sites-available/shop", """\
server {
    listen 8080;
    server_name shop.example.com;

    location / {
        proxy_pass http://backend;
    }
}
""")
    (tmp_path / "sites-enabled").mkdir()
    os.symlink(site, tmp_path / "sites-enabled" / "shop")

    parsed = parse_config(str(conf))
    got = summarize(parsed, "/usr/share/nginx", "stderr")

    assert parsed.errors == []
    assert got["files"] == [str(conf), str(tmp_path / "conf.d/10-upstream.conf"),
                            str(tmp_path / "sites-enabled/shop")]
    assert got["configured_user"] == "www-data"
    assert (got["worker_processes"], got["worker_connections"],
            got["worker_rlimit_nofile"]) == ("2", 768, 4096)
    [server] = got["servers"]
    assert (server["file"], server["line"]) == (str(tmp_path / "sites-enabled/shop"), 1)
    assert server["server_names"] == ["shop.example.com"]
    [p] = got["passes"]
    assert (p["kind"], p["upstream"], p["location"], p["line"]) == ("proxy", "backend", "/", 6)
    assert p["file"] == str(tmp_path / "sites-enabled/shop")
    up = got["upstreams"]["backend"]
    assert (up["file"], up["line"]) == (str(tmp_path / "conf.d/10-upstream.conf"), 1)
    assert up["servers"] == [{"address": "127.0.0.1:9001", "host": "127.0.0.1", "port": 9001,
                              "socket": None, "params": ["max_fails=1"], "backup": False,
                              "down": False}]


def test_settings_inherit_http_server_location(tmp_path: Path) -> None:
    conf = write(tmp_path, "nginx.conf", r"""
events {}
http {
    fastcgi_read_timeout 300s;
    fastcgi_buffer_size 16k;
    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
    fastcgi_param HTTP_PROXY "";
    root /srv/www;
    server {
        listen 80;
        fastcgi_read_timeout 2m;
        location ~ \.php$ {
            fastcgi_pass unix:/run/php/a.sock;
        }
        location /legacy/ {
            root legacy;
            fastcgi_read_timeout 1m30s;
            fastcgi_connect_timeout 5;
            fastcgi_param SCRIPT_FILENAME /opt/legacy$fastcgi_script_name;
            location ~ \.php$ {
                fastcgi_pass 127.0.0.1:9000;
            }
        }
        location @fallback {
            if ($request_method = POST) {
                proxy_pass http://127.0.0.1:3000;
            }
        }
    }
}
""")
    got = summary_of(conf, "/usr/share/nginx")
    php, legacy, fallback = got["passes"]

    assert php["location"] == "~ \\.php$"
    assert php["settings"]["read_timeout"] == 120.0  # server's 2m beats http's 300s
    assert php["settings"]["connect_timeout"] == 60.0  # nginx default
    assert php["settings"]["buffer_size"] == 16384
    assert php["settings"]["params"] == {
        "SCRIPT_FILENAME": "$document_root$fastcgi_script_name", "HTTP_PROXY": ""}
    assert php["root"] == "/srv/www"

    # nested location inherits from its parent location
    assert legacy["location"] == "~ \\.php$"
    assert legacy["settings"]["read_timeout"] == 90.0
    assert legacy["settings"]["connect_timeout"] == 5.0
    # an array directive at a lower level replaces the inherited list entirely
    assert legacy["settings"]["params"] == {
        "SCRIPT_FILENAME": "/opt/legacy$fastcgi_script_name"}
    assert legacy["root"] == "/usr/share/nginx/legacy"  # relative root is under the prefix

    assert (fallback["kind"], fallback["location"]) == ("proxy", "@fallback")
    assert fallback["settings"]["read_timeout"] == 60.0  # fastcgi_* does not touch proxy_*
    assert fallback["settings"]["buffer_size"] == 4096


def test_upstream_servers_unix_backup_down(tmp_path: Path) -> None:
    conf = write(tmp_path, "nginx.conf", """
events {}
http {
    upstream app {
        server unix:/run/app.sock;
        server 10.0.0.2 backup;
        server [::1]:8001 down weight=2;
    }
    server { location / { uwsgi_pass app; } }
}
""")
    got = summary_of(conf)
    sock, backup, down = got["upstreams"]["app"]["servers"]
    assert (sock["socket"], sock["host"]) == ("/run/app.sock", None)
    assert (backup["host"], backup["port"], backup["backup"]) == ("10.0.0.2", 80, True)
    assert (down["host"], down["port"], down["down"], down["params"]) == (
        "::1", 8001, True, ["down", "weight=2"])
    [p] = got["passes"]
    assert (p["kind"], p["upstream"]) == ("uwsgi", "app")
    # a server without listen listens on *:80
    assert got["servers"][0]["listen"][0]["port"] == 80
    assert got["servers"][0]["listen"][0]["implicit"] is True


def test_error_logs_at_every_level_and_compiled_default(tmp_path: Path) -> None:
    conf = write(tmp_path, "nginx.conf", """
events {}
http {
    error_log logs/http.log warn;
    server {
        error_log syslog:server=unix:/dev/log;
        location /x { error_log stderr debug; }
    }
}
""")
    got = summary_of(conf, "/srv/nginx")
    logs = [(e["target"], e["level"], e["context"], e["line"]) for e in got["error_logs"]]
    assert logs == [
        ("stderr", "error", "main", None),  # compiled --error-log-path, level error
        ("/srv/nginx/logs/http.log", "warn", "http", 4),
        ("syslog:server=unix:/dev/log", "error", "server", 6),
        ("stderr", "debug", "location", 7),
    ]


def test_missing_semicolon_before_brace_gives_file_and_line(tmp_path: Path) -> None:
    conf = write(tmp_path, "nginx.conf", "events {}\nhttp {\n    include site.conf;\n}\n")
    write(tmp_path, "site.conf",
          "server {\n    listen 80;\n    location / {\n        root /x\n    }\n}\n")
    parsed = parse_config(str(conf))
    [err] = parsed.errors
    assert (err["file"], err["line"]) == (str(tmp_path / "site.conf"), 4)
    assert 'directive "root" is not terminated by ";"' in err["error"]


def test_missing_semicolon_mid_block_slips_past_crossplane(tmp_path: Path) -> None:
    """Why nginx -t, not crossplane, decides validity: crossplane folds the next line into
    the unterminated directive's arguments and reports nothing."""
    conf = write(tmp_path, "nginx.conf", "events {}\nhttp {\n    include site.conf;\n}\n")
    write(tmp_path, "site.conf", "server {\n    listen 80\n    root /x;\n}\n")
    parsed = parse_config(str(conf))
    assert parsed.errors == []
    assert summarize(parsed, None, None)["servers"][0]["listen"][0]["raw"] == "80 root /x"


@pytest.mark.parametrize(("content", "reason"), [
    (b"\x7fELF\x02\x01\x01\x00\x00binary", "is a binary file"),
    (None, "does not exist"),
])
def test_unusable_config_gives_plain_reason(tmp_path: Path, content: bytes | None,
                                            reason: str) -> None:
    conf = tmp_path / "nginx.conf"
    if content is not None:
        conf.write_bytes(content)
    parsed = parse_config(str(conf))
    assert parsed.files == []
    assert reason in parsed.errors[0]["error"]
    assert str(conf) in parsed.errors[0]["error"]


def test_huge_config_refused(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    with conf.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: costs no disk
    assert "larger than 16 MB" in parse_config(str(conf)).errors[0]["error"]


def test_missing_include_file_is_a_parse_error(tmp_path: Path) -> None:
    conf = write(tmp_path, "nginx.conf", "events {}\nhttp {\n    include nope.conf;\n}\n")
    [err] = parse_config(str(conf)).errors
    assert (err["file"], err["line"]) == (str(conf), 3)
    assert "no such file" in err["error"].lower()


def test_self_include_does_not_loop(tmp_path: Path) -> None:
    conf = write(tmp_path, "nginx.conf", "events {}\nhttp { include loop.conf; }\n")
    write(tmp_path, "loop.conf", "include loop.conf;\nserver { listen 81; }\n")
    got = summarize(parse_config(str(conf)), None, None)
    assert [s["listen"][0]["port"] for s in got["servers"]] == [81]


# -- nginx -V, master titles, discovery order -------------------------------------------------
DEBIAN_V = """nginx version: nginx/1.22.1
built with OpenSSL 3.0.11 19 Sep 2023
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx \
--conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log \
--error-log-path=stderr --lock-path=/var/lock/nginx.lock --pid-path=/run/nginx.pid"""


def test_parse_build_info_debian() -> None:
    info = parse_build_info(DEBIAN_V)
    assert (info.version, info.prefix, info.conf_path, info.error_log_path) == (
        "1.22.1", "/usr/share/nginx", "/etc/nginx/nginx.conf", "stderr")


def test_parse_build_info_relative_conf_path() -> None:
    info = parse_build_info("nginx version: nginx/1.25.3\nconfigure arguments: "
                            "--prefix=/opt/nginx --conf-path=conf/nginx.conf --user=nginx")
    assert (info.conf_path, info.user) == ("/opt/nginx/conf/nginx.conf", "nginx")


@pytest.mark.parametrize(("cmdline", "expected"), [
    (["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"],
     {"program": "/usr/sbin/nginx"}),
    (["nginx: master process /usr/sbin/nginx -p /tmp/lab/ -c /tmp/lab/nginx.conf"],
     {"program": "/usr/sbin/nginx", "p": "/tmp/lab/", "c": "/tmp/lab/nginx.conf"}),
    (["nginx: master process nginx -c/etc/alt.conf -g pid /x;"],
     {"program": "nginx", "c": "/etc/alt.conf"}),
])
def test_master_args(cmdline: list[str], expected: dict) -> None:
    assert master_args({"pid": 1, "cmdline": cmdline}) == expected


def test_discovery_order() -> None:
    build = BuildInfo(prefix="/usr/share/nginx", conf_path="/etc/nginx/nginx.conf")
    master = {"pid": 10, "cmdline": ["nginx: master process /usr/sbin/nginx -p /srv/n/ "
                                     "-c conf/n.conf"]}
    by_option = choose_conf("/tmp/x.conf", [master], build)
    assert (by_option.conf_path, by_option.source) == ("/tmp/x.conf", "option")
    by_process = choose_conf(None, [master], build)
    assert (by_process.conf_path, by_process.prefix, by_process.source) == (
        "/srv/n/conf/n.conf", "/srv/n/", "process")
    same = choose_conf("/srv/n/conf/n.conf", [master], build)
    assert same.prefix == "/srv/n/"  # the running master's prefix, not the compiled one
    by_build = choose_conf(None, [], build)
    assert (by_build.conf_path, by_build.source) == ("/etc/nginx/nginx.conf", "nginx -V")
    assert choose_conf(None, [], BuildInfo()).source == "default"


# -- nginx -t output ----------------------------------------------------------------------------
NONROOT_T = """\
2026/11/25 02:36:27 [warn] 13352#13352: the "user" directive makes sense only if the \
master process runs with super-user privileges, ignored in /etc/nginx/nginx.conf:1
nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
2026/11/25 02:36:27 [emerg] 13352#13352: open() "/run/nginx.pid" failed (13: Permission denied)
nginx: configuration file /etc/nginx/nginx.conf test failed"""

SYNTAX_T = """\
2026/11/25 02:36:27 [emerg] 13346#13346: unexpected "}" in /tmp/nt/conf.d/a.conf:5
nginx: configuration file /tmp/nt/nginx.conf test failed"""

OLD_STYLE_T = """\
nginx: [emerg] host not found in upstream "app.internal" in /etc/nginx/sites-enabled/app:12
nginx: configuration file /etc/nginx/nginx.conf test failed"""


def test_messages_with_file_and_line() -> None:
    [msg] = messages_of(SYNTAX_T)
    assert (msg["level"], msg["message"], msg["file"], msg["line"]) == (
        "emerg", 'unexpected "}"', "/tmp/nt/conf.d/a.conf", 5)
    [old] = messages_of(OLD_STYLE_T)
    assert (old["message"], old["file"], old["line"]) == (
        'host not found in upstream "app.internal"', "/etc/nginx/sites-enabled/app", 12)


def test_permission_only_failure_is_recognised() -> None:
    assert needs_root_only(messages_of(NONROOT_T))
    assert not needs_root_only(messages_of(SYNTAX_T))
    assert not needs_root_only(messages_of(NONROOT_T + "\n" + SYNTAX_T))
