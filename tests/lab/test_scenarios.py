"""Acceptance lab (issue 3): one real break per test, diagnosed by the real CLI.

Every test starts real nginx (and PHP-FPM where the scenario needs it) from the lab
harness, broken in exactly one way; makes the request a visitor would make and checks it
really fails the way that break fails; then runs `python -m wizard diagnose --format json
--url ...` as a separate process, and checks the first cause of the report, the evidence
that proves it (the error-log line, the failed probe, the nginx -t output...) and the exit
code. The last test is a healthy lab, which must report no cause at all.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.lab.harness import BROKEN_INCLUDE, Lab, LabError, free_port
from tests.lab.scenario_support import (
    assert_first_cause,
    concurrent_requests,
    diagnose,
    explain,
    network_namespace,
    request_in_netns,
    run,
)

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root


def expect_502(lab: Lab, path: str, host: str | None = None) -> str:
    status, body = lab.request(path, host=host, timeout=10)
    assert status == 502, (status, body)
    assert "502 Bad Gateway" in body
    return body


# -- PHP-FPM -------------------------------------------------------------------------------

def test_phpfpm_stopped_is_php_fpm_down(make_lab: MakeLab) -> None:
    lab = make_lab(start_php=False)
    expect_502(lab, "/index.php")

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "php_fpm_down",
                       ("error_log", f"connect() to unix:{lab.php_socket} failed "
                                     "(2: No such file or directory)"),
                       ("probe", f"the socket file {lab.php_socket} does not exist"))


def test_fastcgi_pass_to_another_socket_is_an_address_mismatch(make_lab: MakeLab) -> None:
    lab = make_lab(fastcgi_pass="unix:{prefix}/other.sock")
    expect_502(lab, "/index.php")

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "upstream_address_mismatch",
                       ("file", f"fastcgi_pass unix:{lab.prefix}/other.sock"),
                       ("file", f"[www] listen = {lab.php_socket}"))


def test_fastcgi_pass_to_another_tcp_port_is_an_address_mismatch(make_lab: MakeLab) -> None:
    lab = make_lab(php_listen="tcp", fastcgi_pass="127.0.0.1:{closed_port}")
    expect_502(lab, "/index.php")

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "upstream_address_mismatch",
                       ("file", f"fastcgi_pass 127.0.0.1:{lab.closed_port}"),
                       ("file", f"[www] listen = 127.0.0.1:{lab.php_port}"))


def test_socket_only_root_may_open_is_socket_permission(make_lab: MakeLab) -> None:
    lab = make_lab(listen_owner="root", listen_group="root", listen_mode="0600")
    expect_502(lab, "/index.php")

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "socket_permission",
                       ("error_log", f"connect() to unix:{lab.php_socket} failed "
                                     "(13: Permission denied)"),
                       ("probe", "connecting as www-data (uid 33): permission denied"))


def test_request_terminate_timeout_is_php_fpm_timeout(make_lab: MakeLab) -> None:
    # PHP-FPM kills the script after 1s; nginx would wait 3s: the kill is the 502.
    lab = make_lab(request_terminate_timeout="1s",
                   php_location_extra="            fastcgi_read_timeout 3s;")
    expect_502(lab, "/slow.php?s=3")

    code, report = diagnose(lab, "/slow.php?s=3")

    assert_first_cause(code, report, "php_fpm_timeout",
                       ("error_log", "execution timed out"),
                       ("file", "request_terminate_timeout = 1s"))


def test_segfaulting_php_child_is_upstream_crash(make_lab: MakeLab) -> None:
    lab = make_lab()
    expect_502(lab, "/segv.php")

    code, report = diagnose(lab, "/segv.php")

    assert_first_cause(code, report, "upstream_crash",
                       ("error_log", "exited on signal 11 (SIGSEGV"))


def test_max_children_reached_is_php_fpm_saturated(make_lab: MakeLab) -> None:
    # Two children, a listen queue of one: slow requests beyond that are refused at once
    # (EAGAIN on the unix socket) and nginx answers 502.
    lab = make_lab(pm="dynamic", max_children=2, pool_extra="listen.backlog = 1")
    statuses = concurrent_requests(lab, "/slow.php?s=2", count=8, timeout=20)
    assert 502 in statuses, statuses
    lab.wait_for_log("reached pm.max_children", which="php-fpm")

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "php_fpm_saturated",
                       ("error_log", "server reached pm.max_children setting (2)"))


def test_php_file_the_pool_user_cannot_read_is_file_permission(make_lab: MakeLab) -> None:
    lab = make_lab()
    secret = lab.write_file("www/secret.php", "<?php echo 'hidden';\n", mode=0o600)
    # PHP-FPM answers this one itself, 403 "Access denied.": not a 502, but the same
    # visitor-facing failure of a PHP file, and the wizard must name it.
    assert lab.request("/secret.php") == (403, "Access denied.\n")

    code, report = diagnose(lab, "/secret.php")

    assert_first_cause(code, report, "file_permission",
                       ("error_log", f"Unable to open primary script: {secret} "
                                     "(Permission denied)"))


# -- proxied upstreams ---------------------------------------------------------------------

def test_proxy_pass_to_a_closed_port_is_upstream_down(make_lab: MakeLab) -> None:
    lab = make_lab(php=False, php_location=False,
                   locations=("        location /api/ "
                              "{ proxy_pass http://127.0.0.1:{closed_port}; }"))
    expect_502(lab, "/api/items")

    code, report = diagnose(lab, "/api/items")

    assert_first_cause(code, report, "upstream_down",
                       ("error_log", "connect() failed (111: Connection refused)"),
                       ("probe", f"127.0.0.1 port {lab.closed_port}: connection refused"))


def test_uwsgi_pass_to_a_missing_socket_written_as_the_uwsgi_docs_do(make_lab: MakeLab) -> None:
    """`uwsgi_pass unix:///path;` (three slashes, as uWSGI's own docs write it) is a socket
    path, not a URL with a scheme "unix": the probe must stat the socket, not fail to
    parse a host and port."""
    lab = make_lab(php=False, php_location=False,
                   locations="        location /app/ { uwsgi_pass unix://{prefix}/app.sock; }")
    expect_502(lab, "/app/")

    code, report = diagnose(lab, "/app/")

    assert_first_cause(code, report, "upstream_down",
                       ("error_log", f"connect() to unix://{lab.prefix}/app.sock failed "
                                     "(2: No such file or directory)"),
                       ("probe", f"the socket file {lab.prefix}/app.sock does not exist"))


def test_upstream_block_without_live_servers_is_upstream_down(make_lab: MakeLab) -> None:
    other = free_port()
    lab = make_lab(php=False, php_location=False,
                   http_extra=("    upstream backend { server 127.0.0.1:{closed_port}; "
                               f"server 127.0.0.1:{other}; }}"),
                   locations="        location /app/ { proxy_pass http://backend; }")
    expect_502(lab, "/app/")
    expect_502(lab, "/app/")  # both servers failed once: nginx now has none left to try
    lab.wait_for_log("no live upstreams")

    code, report = diagnose(lab, "/app/")

    assert_first_cause(code, report, "upstream_down",
                       ("error_log", "no live upstreams"),
                       ("probe", f"127.0.0.1 port {lab.closed_port}: connection refused"),
                       ("probe", f"127.0.0.1 port {other}: connection refused"))


def test_header_larger_than_the_buffer_is_header_too_big(make_lab: MakeLab) -> None:
    lab = make_lab()
    expect_502(lab, "/bigheader.php?n=16000")

    code, report = diagnose(lab, "/bigheader.php?n=16000")

    assert_first_cause(code, report, "header_too_big",
                       ("error_log", "upstream sent too big header"))


def test_https_to_a_plain_http_upstream_is_upstream_tls(make_lab: MakeLab) -> None:
    plain = free_port()
    lab = make_lab(php=False, php_location=False,
                   http_extra=(f"    server {{ listen 127.0.0.1:{plain}; "
                               "location / { return 200 'plain http\\n'; } }"),
                   locations=f"        location /tls/ {{ proxy_pass https://127.0.0.1:{plain}; }}")
    expect_502(lab, "/tls/")

    code, report = diagnose(lab, "/tls/")

    assert_first_cause(code, report, "upstream_tls",
                       ("error_log", "while SSL handshaking to upstream"),
                       ("probe", "the peer does not speak TLS"))


def test_upstream_name_that_does_not_resolve_is_upstream_dns(make_lab: MakeLab) -> None:
    # The name is in a variable, so nginx starts and resolves it per request through the
    # resolver, which nobody answers: "could not be resolved" after resolver_timeout.
    lab = make_lab(php=False, php_location=False,
                   server_extra=("        resolver 127.0.0.1:{closed_port};\n"
                                 "        resolver_timeout 1s;"),
                   locations=("        location /dns/ { set $backend http://nonexistent.invalid;"
                              " proxy_pass $backend; }"))
    expect_502(lab, "/dns/")

    code, report = diagnose(lab, "/dns/")

    assert_first_cause(code, report, "upstream_dns",
                       ("error_log", "nonexistent.invalid could not be resolved"))


def test_host_no_server_name_matches_is_server_name_mismatch(make_lab: MakeLab) -> None:
    # The port's default server is an old site whose backend is gone; the lab's own site
    # (server_name lab.test) works. A name nobody configured lands on the old site.
    lab = make_lab(http_extra=(
        "    server { listen 127.0.0.1:{port} default_server; server_name old.example;\n"
        "             location / { proxy_pass http://127.0.0.1:{closed_port}; } }"))
    assert lab.request("/index.php")[0] == 200  # the configured name works
    expect_502(lab, "/", host="localhost")

    code, report = diagnose(lab, "/", host="localhost")

    assert_first_cause(code, report, "server_name_mismatch",
                       ("file", "server_name old.example"))


# -- nginx itself --------------------------------------------------------------------------

def test_nginx_stopped_is_nginx_not_running(make_lab: MakeLab) -> None:
    lab = make_lab(start_nginx=False)
    with pytest.raises(ConnectionRefusedError):
        lab.request("/index.php")

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "nginx_not_running",
                       ("process", "no process named nginx: master"))


def test_nginx_and_phpfpm_both_stopped_lead_with_nginx(make_lab: MakeLab) -> None:
    """PHP-FPM behind an upstream {} group, both stopped: more checks find PHP-FPM down,
    but no visitor reaches it while nginx does not run. The stopped group is PHP-FPM's
    failure once, not a second cause "the upstream is down"."""
    lab = make_lab(start_nginx=False, start_php=False, fastcgi_pass="php",
                   http_extra="    upstream php { server unix:{prefix}/php-fpm.sock; }")
    with pytest.raises(ConnectionRefusedError):
        lab.request("/index.php")

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "nginx_not_running",
                       ("process", "no process named nginx: master"))
    # (The lab's stopped PHP-FPM reads its config from the lab's folder, which nothing on
    # the host points at, so the host's own pool may add an address mismatch after these.)
    ids = [c["id"] for c in report["causes"]]
    assert ids[:2] == ["nginx_not_running", "php_fpm_down"], explain(report)
    assert "upstream_down" not in ids, explain(report)
    assert report["causes"][0]["fixes"][0]["title"] == "Start nginx"  # one key away


def test_syntax_error_in_an_included_file_is_nginx_config_invalid(make_lab: MakeLab) -> None:
    lab = make_lab(http_extra="    include {prefix}/conf.d/*.conf;")
    assert lab.request("/index.php")[0] == 200
    broken = lab.write_file("conf.d/shop.conf", BROKEN_INCLUDE)
    lab.stop_nginx()
    with pytest.raises(LabError, match="unexpected"):
        lab.start_nginx()  # the restart fails on the broken include
    with pytest.raises(ConnectionRefusedError):
        lab.request("/index.php")

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "nginx_config_invalid",
                       ("command", f'unexpected "}}" in {broken}:5'),
                       ("file", f"{broken}:5"))


def test_another_process_on_nginx_port_is_port_conflict(make_lab: MakeLab) -> None:
    lab = make_lab(start_nginx=False)
    holder = lab.spawn_listener(lab.port, hang_up=True)
    with pytest.raises(LabError, match="Address already in use"):
        lab.start_nginx()
    with pytest.raises(OSError):  # the holder speaks no HTTP: it hangs up
        lab.request("/index.php", timeout=5)

    code, report = diagnose(lab, "/index.php")

    assert_first_cause(code, report, "port_conflict",
                       ("process", f"(pid {holder.pid}) listens on 127.0.0.1:{lab.port}"))


def test_firewall_drop_on_nginx_port_is_firewall_blocking(make_lab: MakeLab) -> None:
    with network_namespace() as netns:
        lab = make_lab(php=False, php_location=False, netns=netns)
        assert request_in_netns(netns, lab.port, "/index.html", timeout=5) == "200"
        rule = ["INPUT", "-p", "tcp", "--dport", str(lab.port), "-j", "DROP"]
        added = run(["ip", "netns", "exec", netns, "iptables", "-I", *rule])
        assert added.returncode == 0, added.stderr
        try:
            assert request_in_netns(netns, lab.port, "/index.html", timeout=2) in (
                "TimeoutError", "timeout")

            code, report = diagnose(lab, "/index.html", netns=netns)
        finally:
            lab.stop()  # nginx must end before its namespace goes

    assert_first_cause(code, report, "firewall_blocking",
                       ("command", f"-A INPUT -p tcp -m tcp --dport {lab.port} -j DROP"))


# -- healthy -------------------------------------------------------------------------------

def test_healthy_lab_reports_no_cause(make_lab: MakeLab) -> None:
    lab = make_lab()
    assert lab.request("/index.php") == (200, "hello from php-fpm")

    code, report = diagnose(lab, "/index.php")

    assert report["causes"] == [], explain(report)
    assert code == 0, explain(report)
    assert not [s for s in report["steps"] if s["status"] == "problem"], explain(report)
