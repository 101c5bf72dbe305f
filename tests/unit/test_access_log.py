"""Reading the failing requests (502/503/504) out of nginx's access logs.

Each test writes an nginx.conf and its access log into a temp folder and reads them through
the fact's own body (`read_access_logs`: what `@fact("access_log")` returns for the
config the `nginx` fact names).
The log lines are typed here, in the formats nginx writes: `combined` as nginx defines it
(ngx_http_log_module.c), `main` as RHEL's /etc/nginx/nginx.conf defines it, and a custom
`log_format` written for these tests; the lab's real access log has the combined shape.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from wizard.host import access_log
from wizard.host.access_log import read_access_logs

NOW = time.time()
UA = '"-" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"'
# RHEL 9's /etc/nginx/nginx.conf, the part that defines and uses `main`.
RHEL_MAIN = """\
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';
    access_log  {dir}/access.log  main;
"""
CUSTOM = """\
    log_format upstreams '$time_iso8601 $host "$request" s=$status us="$upstream_status" '
                         'ut=$upstream_response_time $upstream_addr';
    access_log {dir}/access.log upstreams;
"""


def stamp(seconds_ago: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(NOW - seconds_ago))


def combined(seconds_ago: float, request: str, status: int, size: int = 157) -> str:
    return f'203.0.113.9 - - [{stamp(seconds_ago)}] "{request}" {status} {size} {UA}\n'


def read(tmp_path: Path, http: str, log: str, since: float = 3600.0,
         servers: str = "server { listen 8080; server_name shop.example; }") -> dict[str, Any]:
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp {\n" + http.replace("{dir}", str(tmp_path)) + servers
                    + "\n}\n")
    (tmp_path / "access.log").write_text(log)
    return read_access_logs({"conf_path": str(conf), "prefix": str(tmp_path)}, since, NOW)


def summary(fact: dict[str, Any]) -> list[tuple[str | None, str, int, str | None]]:
    return [(e["method"], e["uri"], e["status"], e["host"]) for e in fact["entries"]]


def test_combined_keeps_only_gateway_errors_newest_first(tmp_path: Path) -> None:
    log = (combined(300, "GET /index.php?id=7 HTTP/1.1", 502)
           + combined(250, "GET /502 HTTP/1.1", 200)  # "502" in the address, not the status
           + combined(200, "GET /big.iso HTTP/1.1", 200, size=5020)  # a 5020-byte answer
           + combined(150, "GET /report HTTP/2.0", 504)
           + combined(100, "GET /queue HTTP/1.1", 503)
           + combined(50, "GET /fine HTTP/1.1", 200, size=502))
    fact = read(tmp_path, "access_log {dir}/access.log;\n", log)
    assert summary(fact) == [("GET", "/queue", 503, None), ("GET", "/report", 504, None),
                             ("GET", "/index.php?id=7", 502, None)]
    first = fact["entries"][0]
    assert abs(first["epoch"] - (NOW - 100)) < 1.5
    assert first["server"]["server_names"] == ["shop.example"]
    assert first["server"]["listen"][0]["port"] == 8080
    assert fact["notes"] == []


def test_rhel_main_format(tmp_path: Path) -> None:
    log = (f'10.0.0.5 - alice [{stamp(120)}] "POST /wp-login.php HTTP/1.1" 502 559 '
           f'"https://shop.example/" "curl/8.5.0" "198.51.100.4, 10.0.0.1"\n'
           f'10.0.0.5 - - [{stamp(60)}] "GET / HTTP/1.1" 200 5020 "-" "curl/8.5.0" "-"\n')
    fact = read(tmp_path, RHEL_MAIN, log)
    assert fact["files"][0]["format"] == "main" and fact["files"][0]["format_known"]
    assert summary(fact) == [("POST", "/wp-login.php", 502, None)]


def test_a_format_defined_elsewhere_falls_back_to_the_request_and_status(tmp_path: Path
                                                                        ) -> None:
    # `vhost_combined` is not defined in this config (Debian's logrotate-style name): the
    # line is still read by its quoted request line and the status right after it.
    log = (f'shop.example:443 203.0.113.9 - - [{stamp(40)}] "GET /api/v1/items?page=2 '
           f'HTTP/1.1" 503 0 {UA}\n')
    fact = read(tmp_path, "access_log {dir}/access.log vhost_combined;\n", log)
    assert fact["files"][0]["format_known"] is False
    assert summary(fact) == [("GET", "/api/v1/items?page=2", 503, None)]
    assert abs(fact["entries"][0]["epoch"] - (NOW - 40)) < 1.5


def test_custom_format_with_host_and_upstream_status(tmp_path: Path) -> None:
    iso = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(NOW - 30))
    iso = f"{iso[:-2]}:{iso[-2:]}"  # nginx writes +00:00
    log = (f'{iso} shop.example:8080 "GET /cart?x=1 HTTP/1.1" s=502 us="502, 504" '
           f'ut=0.001, 0.002 127.0.0.1:9000, 127.0.0.1:9001\n'
           f'{iso} www.shop.example "GET /ok HTTP/1.1" s=200 us="502, 200" '
           f'ut=0.001, 0.030 127.0.0.1:9000, 127.0.0.1:9001\n')
    fact = read(tmp_path, CUSTOM, log)
    assert summary(fact) == [("GET", "/cart?x=1", 502, "shop.example:8080")]
    assert abs(fact["entries"][0]["epoch"] - (NOW - 30)) < 1.5


def test_garbage_huge_and_unknown_lines_become_notes(tmp_path: Path) -> None:
    log = (combined(90, "GET /before HTTP/1.1", 502)
           + "\x00\x00\x17\x03binary\x00junk\n"
           + "x" * 20000 + "\n"
           + "this is not an access log line\n"
           + f'203.0.113.9 - - [{stamp(80)}] "\\x16\\x03\\x01\\x00" 400 157 "-" "-"\n'
           + combined(70, "GET /after HTTP/1.1", 502))
    fact = read(tmp_path, "access_log {dir}/access.log;\n", log)
    assert [e["uri"] for e in fact["entries"]] == ["/after", "/before"]
    notes = " | ".join(fact["notes"])
    assert "1 lines held binary data" in notes
    assert "longer than 8192 characters" in notes
    assert "2 of 6 lines were not in a known access-log format" in notes


def test_the_window_is_read_from_the_end_and_cut_by_time(tmp_path: Path) -> None:
    # three hours of traffic, one line every 0.1 s (~11 MB); every 100th request fails
    lines = [combined(seconds / 10, f"GET /p{seconds} HTTP/1.1", 502 if seconds % 100 == 0
                      else 200) for seconds in range(3 * 36000, 0, -1)]
    started = time.monotonic()
    fact = read(tmp_path, "access_log {dir}/access.log;\n", "".join(lines), since=600)
    took = time.monotonic() - started
    assert took < 3, took  # only the end of the file is parsed
    assert 59 <= len(fact["entries"]) <= 61  # one failure per 10 s in 600 s
    assert all(e["epoch"] >= NOW - 601 for e in fact["entries"])
    assert fact["files"][0]["lines"] < 60000  # stopped soon after the window's start


def test_the_rotated_file_is_read_when_the_window_reaches_it(tmp_path: Path) -> None:
    (tmp_path / "access.log.1").write_text(combined(1800, "GET /old HTTP/1.1", 502)
                                           + combined(1700, "GET /older-ok HTTP/1.1", 200))
    fact = read(tmp_path, "access_log {dir}/access.log;\n",
                combined(60, "GET /new HTTP/1.1", 504))
    assert [e["uri"] for e in fact["entries"]] == ["/new", "/old"]
    assert fact["files"][0]["read_files"] == [str(tmp_path / "access.log"),
                                              str(tmp_path / "access.log.1")]
    narrow = read(tmp_path, "access_log {dir}/access.log;\n",
                  combined(60, "GET /new HTTP/1.1", 504), since=300)
    assert [e["uri"] for e in narrow["entries"]] == ["/new"]


def test_which_files_and_which_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    http = """\
    log_format main '$remote_addr [$time_local] "$request" $status';
    access_log {dir}/all.log;
    access_log {dir}/all-main.log main;
"""
    servers = """\
    server { listen 80; server_name own.example; access_log {dir}/own.log; }
    server { listen 80; server_name quiet.example; access_log off; }
    server {
        listen 443 ssl; server_name inherits.example;
        location /api/ { access_log {dir}/api.log main; }
        location /health { access_log off; }
    }
    server { listen 80; server_name syslog.example; access_log syslog:server=unix:/dev/log; }
    server { listen 80; server_name vhost.example; access_log {dir}/$host.log; }
""".replace("{dir}", str(tmp_path))
    fact = read(tmp_path, http, "", servers=servers)
    written_by = {Path(f["path"]).name: [s["server_names"][0] for s in f["servers"]]
                  for f in fact["files"]}
    assert written_by == {"own.log": ["own.example"], "all.log": ["inherits.example"],
                          "all-main.log": ["inherits.example"], "api.log": ["inherits.example"]}
    notes = " | ".join(fact["notes"])
    assert "goes to syslog, not to a file" in notes
    assert f"names its file with a variable ({tmp_path}/$host.log)" in notes
    assert "the access log" in notes and "could not be read: the file does not exist" in notes

    default = tmp_path / "default-access.log"
    default.write_text(combined(10, "GET /x HTTP/1.1", 502))
    monkeypatch.setattr(access_log, "DEFAULT_ACCESS_LOG", str(default))
    implicit = read(tmp_path, "", "")  # no access_log anywhere: nginx's compiled default
    assert [(f["path"], f["directive"]) for f in implicit["files"]] == [(str(default), None)]
    assert [e["uri"] for e in implicit["entries"]] == ["/x"]


def test_a_missing_config_is_a_note(tmp_path: Path) -> None:
    fact = read_access_logs({"conf_path": str(tmp_path / "nope.conf")}, 3600.0, NOW)
    assert fact["entries"] == [] and fact["files"] == []
    assert fact["notes"] == [f"nginx's access logs are unknown: its configuration could not "
                             f"be read ({tmp_path}/nope.conf does not exist)"]


def test_an_unreadable_log_is_a_note_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "folder.log").mkdir()
    fact = read(tmp_path, "access_log {dir}/folder.log;\n", "")
    assert fact["entries"] == []
    assert fact["files"][0]["status"] == "unreadable"
    assert fact["notes"] == [f"the access log {tmp_path}/folder.log could not be read: "
                             "is a folder, not a file"]
