"""Reading the error-log window: from the end of a large file, across rotation, by time."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.support import require
from wizard.host.errorlog import (
    correlate,
    error_log_events,
    event,
    file_size,
    lines_since_offset,
    read_target,
    read_window,
)
from wizard.host.facts import Facts
from wizard.options import Options

NOW = time.time()


def nginx_line(epoch: float, i: int, failing: bool) -> str:
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(epoch))
    if failing:
        return (f"{stamp} [error] 10#10: *{i} connect() failed (111: Connection refused) while "
                f"connecting to upstream, client: 127.0.0.1, server: _, request: \"GET /{i} "
                f"HTTP/1.1\", upstream: \"http://127.0.0.1:8080/{i}\", host: \"localhost\"\n")
    return f"{stamp} [notice] 10#10: *{i} a routine message that is not about upstreams\n"


def write_log(path: Path, start: float, end: float, step: float, every: int = 100) -> int:
    """Lines from `start` to `end` seconds ago (oldest first); every `every`-th one fails."""
    count = 0
    with path.open("w") as fh:
        t, i = NOW - start, 0
        while t <= NOW - end:
            fh.write(nginx_line(t, i, i % every == 0))
            t, i, count = t + step, i + 1, count + 1
    return count


def test_window_is_read_from_the_end_of_a_large_file(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    write_log(log, start=3 * 3600, end=0, step=0.1)  # ~108k lines, ~10 MB
    assert log.stat().st_size > 8 * 1024 * 1024
    started = time.monotonic()
    win = read_window(str(log), "nginx", since_seconds=600, now=NOW)
    assert time.monotonic() - started < 5  # only the last ~10 minutes are parsed
    assert win.status == "ok" and win.read_files == [str(log)]
    assert 5990 <= win.total <= 6020  # one line per 0.1 s for 600 s
    assert 60 <= len(win.records) <= 61  # the failing ones (one per 10 s; the cut is at a second)
    times = [r["epoch"] for r in win.records]
    assert times == sorted(times, reverse=True)  # newest first
    assert min(times) >= NOW - 602
    assert win.records[0]["signature"] == "upstream_refused"
    assert win.records[0]["causes"][0] == "upstream_down"


def test_window_continues_into_rotated_files(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    write_log(log, start=300, end=0, step=1, every=1)  # the last 5 minutes
    write_log(tmp_path / "error.log.1", start=1200, end=301, step=1, every=1)
    with gzip.open(tmp_path / "error.log.2.gz", "wt") as fh:
        fh.write(nginx_line(NOW - 1500, 1, True) + nginx_line(NOW - 4000, 2, True))
    win = read_window(str(log), "nginx", since_seconds=1800, now=NOW)
    assert win.read_files == [str(log), f"{log}.1", f"{log}.2.gz"]
    assert win.total == 301 + 900 + 1  # the .gz line of 4000 s ago is outside
    assert win.records[-1]["source"] == f"{log}.2.gz"

    short = read_window(str(log), "nginx", since_seconds=600, now=NOW)
    assert short.read_files == [str(log), f"{log}.1"]  # stopped inside .1
    assert min(r["epoch"] for r in short.records) >= NOW - 601


def test_since_filter_and_record_cap_keep_the_most_recent(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    write_log(log, start=100, end=0, step=1, every=1)
    win = read_window(str(log), "nginx", since_seconds=30, now=NOW)
    assert win.total == 31
    capped = read_window(str(log), "nginx", since_seconds=100, now=NOW, limit=10)
    assert len(capped.records) == 10 and capped.truncated
    assert capped.records[0]["epoch"] >= NOW - 1


def test_binary_garbage_and_multi_line_records(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(NOW - 5))
    log.write_bytes(
        b"\x00\x01garbage\x00\n" * 50
        + f'{stamp} [error] 1#1: *1 FastCGI sent in stderr: "PHP message: a\nPHP message: '
          f'PHP Fatal error:  Maximum execution time of 30 seconds exceeded in /x.php on line '
          f'1" while reading response header from upstream, client: 1.2.3.4, server: _, '
          f'request: "GET /x.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", '
          f'host: "x"\n'.encode())
    win = read_window(str(log), "nginx", since_seconds=60, now=NOW)
    assert [r["signature"] for r in win.records] == ["php_max_execution_time"]
    assert "\n" in win.records[0]["line"]


def test_missing_file_and_targets_that_are_not_files(tmp_path: Path) -> None:
    missing = read_window(str(tmp_path / "none.log"), "nginx", 60, now=NOW)
    assert (missing.status, missing.reason) == ("missing", "the file does not exist")
    syslog = read_target("syslog:server=unix:/dev/log", "nginx", 60, NOW)
    assert syslog.status in ("not_a_file", "journal")
    assert "syslog" in (syslog.reason or "")
    stderr = read_target("stderr", "nginx", 60, NOW)
    assert "standard error" in (stderr.reason or "")


def test_unreadable_file_says_it_needs_root(tmp_path: Path) -> None:
    require(os.geteuid() == 0, "needs root to run the reader as another user")
    system_python = shutil.which("python3", path="/usr/bin")
    require(system_python is not None, "needs /usr/bin/python3 (any user may run it)")
    src = tmp_path / "src"
    shutil.copytree(Path(__file__).resolve().parents[2] / "wizard", src / "wizard")
    log = tmp_path / "error.log"
    write_log(log, start=10, end=0, step=1)
    log.chmod(0o600)
    tmp_path.chmod(0o755)
    probe = ("import json; from wizard.host.errorlog import read_window;"
             f"print(json.dumps(read_window({str(log)!r}, 'nginx', 60).status_json()))")
    done = subprocess.run([str(system_python), "-c", probe], user=65534, group=65534,
                          env={"PYTHONPATH": str(src)}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert (status["status"], status["reason"]) == ("unreadable", "needs root to read")


def test_lines_since_offset_reads_only_what_came_after(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    write_log(log, start=10, end=5, step=1, every=1)
    before = file_size(str(log))
    assert before
    with log.open("a") as fh:
        fh.write(nginx_line(NOW, 999, True))
    events = lines_since_offset(str(log), before)
    assert [e["fields"]["connection"] for e in events] == [999]
    log.write_text(nginx_line(NOW, 1000, True))  # rotated: smaller than the offset
    assert [e["fields"]["connection"] for e in lines_since_offset(str(log), before)] == [1000]


def test_fact_reads_nginx_and_phpfpm_logs_named_by_other_facts(tmp_path: Path) -> None:
    nginx_log, fpm_log = tmp_path / "error.log", tmp_path / "php8.2-fpm.log"
    write_log(nginx_log, start=20, end=0, step=1, every=10)
    stamp = time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(NOW - 3))
    fpm_log.write_text(f"[{stamp}] WARNING: [pool www] server reached pm.max_children "
                       f"setting (5), consider raising it\n")
    facts = Facts.from_snapshot({"format": 1, "facts": {
        "nginx": {"error_logs": [{"target": str(nginx_log), "level": "error"},
                                 {"target": "stderr", "level": "error"}], "prefix": "/"},
        "phpfpm": {"error_logs": [str(fpm_log)]}}}, Options(since_seconds=3600))
    value = error_log_events(facts)
    json.dumps(value)  # facts must be JSON
    files = {f["source"]: f for f in value["files"]}
    assert files[str(nginx_log)]["status"] == "ok"
    assert files["stderr"]["status"] in ("not_a_file", "journal")
    assert files[str(fpm_log)]["kind"] == "php-fpm"
    sigs = [(e["kind"], e["signature"]) for e in value["events"]]
    assert ("php-fpm", "phpfpm_max_children") in sigs
    assert sigs.count(("nginx", "upstream_refused")) == 3


RESET = ('recv() failed (104: Connection reset by peer) while reading response header from '
         'upstream, client: 127.0.0.1, server: _, request: "GET /slow.php HTTP/1.1", '
         'upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "x"')


def _nginx_event(ago: float, message: str) -> dict[str, object]:
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(NOW - ago))
    return event("/var/log/nginx/error.log", "nginx", f"{stamp} [error] 10#10: *1 {message}",
                 None)


def _fpm_event(ago: float, message: str) -> dict[str, object]:
    stamp = time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(NOW - ago))
    return event("/var/log/php8.2-fpm.log", "php-fpm", f"[{stamp}] WARNING: {message}", None)


def test_phpfpm_record_of_the_same_moment_decides_a_reset() -> None:
    timed_out = _fpm_event(30, "[pool www] child 7, script '/var/www/slow.php' (request: "
                               '"GET /slow.php") execution timed out (1.2 sec), terminating')
    term = _fpm_event(30, "[pool www] child 7 exited on signal 15 (SIGTERM) after 1.3 "
                          "seconds from start")
    killed = _nginx_event(30, RESET)
    segv = _fpm_event(10, "[pool www] child 8 exited on signal 11 (SIGSEGV) after 0.1 "
                          "seconds from start")
    crashed = _nginx_event(9, RESET)
    alone = _nginx_event(100, RESET)  # nothing in PHP-FPM's log near it
    assert killed["causes"][0] == "upstream_crash"  # the line alone: a crash first

    correlate([alone, timed_out, term, killed, segv, crashed])

    assert killed["causes"][0] == "php_fpm_timeout"
    assert "execution timed out" in str(killed["fields"]["explained_by"])
    assert term["causes"] == ["php_fpm_timeout"]  # the SIGTERM of that very timeout
    assert crashed["causes"][0] == "upstream_crash"
    assert "signal 11" in str(crashed["fields"]["explained_by"])
    assert alone["causes"][0] == "upstream_crash" and "explained_by" not in alone["fields"]
    assert sorted(killed["causes"]) == sorted(alone["causes"])  # reordered, none lost


def test_php8_relayed_permission_denied_is_file_permission() -> None:
    # PHP 8.2's real record: its startup warning comes first, joined by "; "
    ev = _nginx_event(5, 'FastCGI sent in stderr: "PHP message: PHP Warning:  PHP Request '
                         'Startup: Failed to open stream: Permission denied in Unknown on '
                         'line 0; Unable to open primary script: /var/www/secret.php '
                         '(Permission denied)" while reading response header from upstream, '
                         'client: 127.0.0.1, server: _, request: "GET /secret.php HTTP/1.1", '
                         'upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "x"')
    assert ev["signature"] == "fastcgi_script_permission_denied"
    assert ev["causes"] == ["file_permission"]
