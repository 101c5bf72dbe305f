"""`python -m wizard explain` as a person or a script runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NGINX_LINE = ('2024/05/01 10:00:00 [crit] 77#77: *3 connect() to unix:/run/php/php8.2-fpm.sock '
              'failed (2: No such file or directory) while connecting to upstream, client: '
              '127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: '
              '"fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"')
PHP_RECORD = ('2024/05/01 10:00:01 [error] 77#77: *4 FastCGI sent in stderr: "PHP message: '
              'PHP Warning:  x in /var/www/a.php on line 1\nPHP message: PHP Fatal error:  '
              'Maximum execution time of 30 seconds exceeded in /var/www/a.php on line 2" '
              'while reading response header from upstream, client: 127.0.0.1, server: _, '
              'request: "GET /a.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "x"')
FPM_LINE = ("[01-May-2024 10:00:02] WARNING: [pool www] child 99 exited on signal 11 "
            "(SIGSEGV - core dumped) after 1.200000 seconds from start")


def explain(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "wizard", "explain", *args], input=stdin,
                          capture_output=True, timeout=60, check=False)


def test_json_entries_follow_the_contract(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text("\n".join([NGINX_LINE, PHP_RECORD, FPM_LINE, "hello"]) + "\n")
    done = explain(str(log), "--format", "json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)["entries"]
    for e in entries:
        assert {"line", "text", "signature", "causes", "explanation"} <= set(e)
    assert [(e["line"], e["signature"]) for e in entries] == [
        (1, "upstream_socket_missing"), (2, "php_max_execution_time"),
        (4, "phpfpm_child_signal_segv"), (5, None)]
    assert entries[0]["causes"] == ["php_fpm_down", "upstream_address_mismatch"]
    assert entries[0]["fields"]["socket"] == "/run/php/php8.2-fpm.sock"
    assert entries[1]["text"] == PHP_RECORD  # both physical lines, one record
    assert entries[3]["explanation"] is None and entries[3]["causes"] == []


def test_stdin_and_text_format_fit_80_columns() -> None:
    done = explain("-", stdin=(NGINX_LINE + "\n" + FPM_LINE + "\n").encode())
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    # ids stay in the JSON; the text says them in words (signature says(), cause titles)
    assert "upstream_socket_missing" not in text and "php_fpm_down" not in text
    assert "the socket file of the upstream does not exist" in text
    assert "PHP-FPM is not running" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_binary_file_is_reported_plainly_not_crashing(tmp_path: Path) -> None:
    blob = tmp_path / "core"
    blob.write_bytes(bytes(range(256)) * 64 + b"\xff\xfe\n" + NGINX_LINE.encode() + b"\n")
    done = explain(str(blob), "--format", "json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)["entries"]
    assert any("binary data" in e["text"] for e in entries)
    assert entries[-1]["signature"] == "upstream_socket_missing"


def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_bytes(NGINX_LINE.replace("localhost", "caf\xe9").encode("latin-1") + b"\n")
    done = explain(str(log), "--format", "json")
    entry = json.loads(done.stdout)["entries"][0]
    assert entry["signature"] == "upstream_socket_missing"
    assert "caf\ufffd" in entry["text"]


def test_missing_file_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    done = explain(str(tmp_path / "nope.log"))
    assert done.returncode == 2
    assert done.stdout == b""
    assert len(done.stderr.decode().strip().splitlines()) == 1
    assert "nope.log" in done.stderr.decode()


def test_large_input_streams_and_lists_every_recognised_record(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    boring = '2024/05/01 10:00:00 [notice] 77#77: using the "epoll" event method\n'
    with log.open("w") as fh:
        for i in range(60000):
            fh.write(NGINX_LINE + "\n" if i % 10000 == 0 else boring)
    done = explain(str(log), "--format", "json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)["entries"]
    assert sum(e["signature"] == "upstream_socket_missing" for e in entries) == 6
    assert len(entries) < 5000  # unrecognised records are capped, not all kept
    assert "more record(s) not listed" in entries[-1]["text"]
