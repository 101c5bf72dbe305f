"""The log checks, from recorded `error_log_events` facts."""

from __future__ import annotations

import time
from typing import Any

from wizard.checks.logs import crashes, nginx_errors, phpfpm_errors
from wizard.host.errorlog import event
from wizard.host.facts import Facts
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, STRONG
from wizard.signatures import classify

NOW = 1_714_557_600.0  # the recorded snapshot's "now"
NGINX_LOG, FPM_LOG = "/var/log/nginx/error.log", "/var/log/php8.2-fpm.log"


def nginx(ago: float, message: str) -> str:
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(NOW - ago))
    return f"{stamp} [error] 10#10: *1 {message}"


def fpm(ago: float, message: str) -> str:
    stamp = time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(NOW - ago))
    return f"[{stamp}] WARNING: {message}"


MISSING = ('connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) '
           'while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / '
           'HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "x"')
TIMEOUT = ('upstream timed out (110: Connection timed out) while reading response header from '
           'upstream, client: 127.0.0.1, server: _, request: "GET /slow.php HTTP/1.1", '
           'upstream: "fastcgi://127.0.0.1:9000", host: "x"')
SEGV = ("[pool www] child 42 exited on signal 11 (SIGSEGV - core dumped) after 3.100000 "
        "seconds from start")
MAXCH = "[pool www] server reached pm.max_children setting (5), consider raising it"
KILLED = "[pool www] child 43 exited on signal 9 (SIGKILL) after 30.0 seconds from start"
TERMINATED = ("[pool www] child 44, script '/var/www/slow.php' (request: \"GET /slow.php\") "
              "execution timed out (30.001000 sec), terminating")


def snapshot(nginx_lines: list[str], fpm_lines: list[str] | None = None,
             nginx_status: str = "ok", reason: str | None = None) -> Facts:
    events: list[dict[str, Any]] = [event(NGINX_LOG, "nginx", t, None) for t in nginx_lines]
    events += [event(FPM_LOG, "php-fpm", t, None) for t in fpm_lines or []]
    events.sort(key=lambda e: e["epoch"])
    files = [{"source": NGINX_LOG, "kind": "nginx", "status": nginx_status, "reason": reason,
              "records_in_window": len(nginx_lines)}]
    if fpm_lines is not None:
        files.append({"source": FPM_LOG, "kind": "php-fpm", "status": "ok", "reason": None,
                      "records_in_window": len(fpm_lines)})
    return Facts.from_snapshot({"format": 1, "facts": {"error_log_events": {
        "now": NOW, "since_seconds": 3600, "files": files, "events": events}}})


def test_recent_socket_missing_is_a_strong_upstream_error() -> None:
    facts = snapshot([nginx(50 * 60, TIMEOUT), nginx(30, MISSING), nginx(20, MISSING)])
    res = nginx_errors(facts)
    assert res.result == "upstream_errors"
    assert res.vars["signature"] == "upstream_socket_missing"
    assert res.vars["count"] == 2 and res.vars["socket"] == "/run/php/php8.2-fpm.sock"
    assert res.vars["log_file"] == NGINX_LOG
    assert res.vars["last_time"] == classify(nginx(20, MISSING)).time_iso()
    assert res.causes[:2] == ["php_fpm_down", "upstream_address_mismatch"]
    # The timeout 50 minutes earlier is over: history with its reason, never a cause.
    assert "upstream_timeout" not in res.causes
    newest = time.strftime("%H:%M:%S", time.localtime(classify(nginx(20, MISSING)).epoch()))
    assert [h.why for h in res.history] == [
        f"older than the latest failures (last one at {newest})"]
    # Two causes fit a missing socket: the line alone proves neither, so the checks that
    # tell them apart (phpfpm.running, phpfpm.listen_match) must be able to outrank it.
    assert res.confidence == STRONG
    assert res.evidence[0].source == "error_log"
    assert res.evidence[0].detail == f"{NGINX_LOG}: {nginx(20, MISSING)}"
    assert len(res.evidence) <= 5


def test_recent_line_with_a_single_cause_is_direct() -> None:
    # (13 on a socket is no longer single: its mode, or SELinux / AppArmor)
    ports = MISSING.replace("2: No such file or directory", "99: Cannot assign requested address")
    res = nginx_errors(snapshot([nginx(20, ports)]))
    assert res.vars["signature"] == "upstream_local_ports_exhausted"
    assert res.causes == ["resource_exhaustion"] and res.confidence == DIRECT


def test_a_program_stopping_is_only_context() -> None:
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(NOW - 5))
    exiting = f"{stamp} [notice] 10#10: signal 15 (SIGTERM) received from 1, exiting"
    res = nginx_errors(snapshot([exiting]))
    assert res.causes == ["nginx_not_running"] and res.confidence == CIRCUMSTANTIAL


def test_frequent_signature_of_the_current_burst_ranks_first() -> None:
    lines = [nginx(100 + i, TIMEOUT) for i in range(5)] + [nginx(10, MISSING)]
    res = nginx_errors(snapshot(lines))
    assert res.vars["signature"] == "upstream_timed_out_reading"
    assert res.causes[0] == "upstream_timeout"


def test_old_lines_only_give_lower_confidence() -> None:
    res = nginx_errors(snapshot([nginx(50 * 60, TIMEOUT)]))
    assert res.result == "upstream_errors" and res.confidence < DIRECT


def test_quiet_log_is_ok_and_unreadable_log_is_a_warning() -> None:
    quiet = nginx_errors(snapshot([nginx(5, 'using the "epoll" event method')]))
    assert quiet.result == "ok" and quiet.confidence == CIRCUMSTANTIAL
    unread = nginx_errors(snapshot([], nginx_status="unreadable", reason="needs root to read"))
    assert unread.result == "unreadable"
    assert "needs root to read" in unread.summary


def test_phpfpm_results_by_category() -> None:
    assert phpfpm_errors(snapshot([], [fpm(5, SEGV)])).result == "crashes"
    assert phpfpm_errors(snapshot([], [fpm(5, TERMINATED)])).result == "timeouts"
    saturated = phpfpm_errors(snapshot([], [fpm(5, MAXCH)]))
    assert saturated.result == "saturated"
    assert saturated.vars["pool"] == "www" and saturated.vars["max_children"] == 5
    assert saturated.causes == ["php_fpm_saturated"]
    assert phpfpm_errors(snapshot([], [fpm(5, "[pool www] child 9 started")])).result == "ok"
    assert phpfpm_errors(snapshot([])).result == "skipped"  # no PHP-FPM log at all


def test_crashes_names_oom_kills() -> None:
    res = crashes(snapshot([], [fpm(60, SEGV), fpm(5, KILLED)]))
    assert res.result == "crashed"
    assert res.causes == ["upstream_crash", "resource_exhaustion"]
    assert res.vars["process"] == "PHP-FPM worker" and res.vars["oom_suspected"] is True
    assert crashes(snapshot([nginx(5, MISSING)], [])).result == "ok"
