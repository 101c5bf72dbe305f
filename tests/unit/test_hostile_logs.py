"""Hostile error logs: garbage before a record, invalid UTF-8, huge lines, and a log that
is truncated, replaced or corrupt while it is read. Driven through `python -m wizard
explain FILE` and through the error-log fact of a real nginx.conf in a temp folder.

The log lines are typed by hand in nginx's and PHP-FPM's formats (ngx_log.c, zlog.c),
the same shapes as the recorded fixtures of test_errorlog.py."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

import wizard.host.errorlog as errorlog
from tests.support import require
from wizard.host.facts import Facts
from wizard.options import Options

NGINX_BIN = "/usr/sbin/nginx"
REPO = Path(__file__).resolve().parents[2]


def refused(ago: float, conn: int) -> bytes:
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(time.time() - ago))
    return (f"{stamp} [error] 123#123: *{conn} connect() failed (111: Connection refused) "
            f"while connecting to upstream, client: 127.0.0.1, server: _, request: \"GET / "
            f"HTTP/1.1\", upstream: \"http://127.0.0.1:8080/\", host: \"localhost\"").encode()


def max_children(ago: float) -> bytes:
    stamp = time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(time.time() - ago))
    return (f"[{stamp}] WARNING: [pool www] server reached pm.max_children setting (5), "
            f"consider raising it").encode()


# --- explain FILE ---------------------------------------------------------------------

def explain(path: Path) -> tuple[list[dict[str, Any]], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "wizard", "explain", str(path),
                           "--format", "json"], capture_output=True, timeout=60,
                          check=False, cwd=REPO)
    elapsed = time.monotonic() - started
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)["entries"], elapsed


def test_explain_finds_records_after_nul_runs_garbage_and_torn_writes(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_bytes(
        b"\0\0\0\0" + refused(5, 1) + b"\n"  # copytruncate: NULs where the old bytes were
        + b"\x89PNG\r\x1a\x01\x02\x03\xff\xfe" + refused(4, 2) + b"\n"  # binary garbage
        + refused(3, 3)[:18] + refused(3, 4) + b"\n"  # a torn write: a header cut short
        + refused(3, 5)[:70] + b"\0" * 300 + refused(3, 6) + b"\n"  # torn, then NULs
        + b"\0" * 70_000 + max_children(2) + b"\n")  # a NUL run longer than a line
    entries, _ = explain(log)
    found = [(e["signature"], (e.get("fields") or {}).get("connection")) for e in entries
             if e["signature"]]
    assert found == [("upstream_refused", 1), ("upstream_refused", 2),
                     ("upstream_refused", 4), ("upstream_refused", 6),
                     ("phpfpm_max_children", None)]
    assert all("\0" not in e["text"] for e in entries)  # garbage is a note, not text


def test_explain_reads_invalid_utf8_and_a_1mb_line_quickly(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    bad_utf8 = b"GET /\xc3\x28\xa0\xa1\xf0\x28\x8c\xbc "  # invalid sequences in a request
    log.write_bytes(refused(9, 1).replace(b"GET / ", bad_utf8) + b"\n"
                    + refused(8, 2) + b" " + b"2026/11/30 0" * 90_000 + b"\n"
                    + b"\xff\xfe" * 600_000 + b"\n"
                    # message pieces that a careless pattern searches from every position
                    + b"[pool " * 20_000 + b"\n" + b'FastCGI sent in stderr: "' * 4000 + b"\n"
                    + b"x could not be resolved (1: " * 3000 + b"\n" + b"(1: " * 30_000 + b"\n"
                    + refused(7, 3) + b"\n")
    entries, elapsed = explain(log)
    assert elapsed < 10  # no quadratic regex over a 1 MB line (about 1 s here)
    connections = [e["fields"]["connection"] for e in entries
                   if e["signature"] == "upstream_refused"]
    assert connections == [1, 2, 3]
    assert "\ufffd" in entries[0]["text"]  # invalid bytes shown as replacement characters


def test_explain_keeps_crafted_nginx_records_linear(tmp_path: Path) -> None:
    """Records of nginx's full length (its 2048-byte cap, doubled) made of the pieces that
    made patterns backtrack over the whole message: 480 of them in a few seconds."""
    stamp = b"2026/11/30 03:40:25 [error] 1#1: *1 "
    pieces = (b"(1: " * 1000, b"x could not be resolved (1: " * 140, b"in (1: " * 580)
    log = tmp_path / "error.log"
    log.write_bytes(b"".join(stamp + p + b"\n" for p in pieces) * 160)
    entries, elapsed = explain(log)
    assert len(entries) == 480
    assert elapsed < 6  # about 2.5 s here; 9 s when each start is searched to the end


# --- the error-log fact of a real nginx.conf ------------------------------------------

def fact_for(tmp_path: Path, log: Path) -> dict[str, Any]:
    """The error-log fact of a diagnosis whose nginx.conf names `log` as its error_log."""
    require(os.path.exists(NGINX_BIN), "needs nginx (Debian package nginx)")
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"error_log {log} error;\nevents {{}}\nhttp {{}}\n")
    facts = Facts(Options(nginx_conf=str(conf), since_seconds=3600))
    value: dict[str, Any] = facts.get("error_log_events")
    json.dumps(value)
    return value


def mine(value: dict[str, Any], log: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    [status] = [f for f in value["files"] if f["source"] == str(log)]
    return status, [e for e in value["events"] if e["source"] == str(log)]


def test_fact_resynchronises_after_copytruncate_nuls(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_bytes(refused(30, 1) + b"\n" + b"\0" * 70_000 + refused(20, 2) + b"\n"
                    + b"\x01\x02\xff" + refused(10, 3) + b"\n"
                    + refused(5, 4)[:70] + b"\0" * 300 + refused(5, 5) + b"\n")  # torn, NULs
    status, events = mine(fact_for(tmp_path, log), log)
    assert status["status"] == "ok" and status["reason"] is None
    assert [(e["signature"], e["fields"]["connection"]) for e in events] == \
        [("upstream_refused", n) for n in (1, 2, 3, 5)]


def _touching_after_first_line(monkeypatch: pytest.MonkeyPatch,
                               change: Any) -> None:
    """Let the real reader run, and change the file on disk once it has read one line:
    the moment logrotate or `> error.log` strikes mid-read, without waiting for it."""
    real = errorlog.reverse_lines

    def reading(fh: IO[bytes], end: int, budget: list[int]) -> Iterator[bytes]:
        for number, line in enumerate(real(fh, end, budget)):
            if number == 1:
                change()
            yield line

    monkeypatch.setattr(errorlog, "reverse_lines", reading)


def test_fact_notes_a_log_truncated_while_it_is_read(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "error.log"
    log.write_bytes(b"".join(refused(600 - i, i) + b"\n" for i in range(3000)))
    _touching_after_first_line(monkeypatch, lambda: os.truncate(log, 0))
    status, _events = mine(fact_for(tmp_path, log), log)
    assert status["status"] == "ok"
    assert "became shorter while it was being read" in status["reason"]


def test_fact_notes_a_log_replaced_while_it_is_read(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "error.log"
    log.write_bytes(b"".join(refused(60 - i, i) + b"\n" for i in range(50)))

    def rotate() -> None:
        log.rename(tmp_path / "error.log.1")
        log.write_bytes(b"")

    _touching_after_first_line(monkeypatch, rotate)
    status, events = mine(fact_for(tmp_path, log), log)
    assert "was moved or replaced while it was being read" in status["reason"]
    assert len(events) == 50  # the old file is read to its end, the new one not mixed in


def test_fact_survives_a_corrupt_gzip_rotation(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_bytes(refused(10, 1) + b"\n")
    whole = gzip.compress(refused(20, 2) + b"\n" + refused(15, 3) + b"\n" * 5000)
    (tmp_path / "error.log.1.gz").write_bytes(whole[:20] + b"\xde\xad" * 40 + whole[100:])
    status, events = mine(fact_for(tmp_path, log), log)
    assert status["status"] == "ok"
    assert f"could not read {log}.1.gz" in status["reason"]
    assert [e["fields"]["connection"] for e in events] == [1]
