"""The FastCGI client against a real PHP-FPM 8.2 (started in a temp folder by the lab
harness, nginx not started), plus peers that are not FastCGI at all."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.lab.harness import Lab, missing_parts
from tests.support import require
from wizard.compat import SOCKET_TIMEOUTS
from wizard.host import fastcgi

ECHO_SCRIPT = "<?php echo 'got:' . file_get_contents('php://input') . ':' . $_SERVER['X_LONG'];\n"


@pytest.fixture(scope="module")
def fpm() -> Iterator[Lab]:
    reason = missing_parts()
    require(reason is None, reason or "")
    lab = Lab(start_nginx=False, scripts={"echo.php": ECHO_SCRIPT})
    try:
        yield lab
    finally:
        lab.stop()


def _params(lab: Lab, script: str, **extra: str) -> dict[str, str]:
    return {**fastcgi.probe_params(f"{lab.docroot}/{script}"), **extra}


def test_missing_script_proves_phpfpm_answers(fpm: Lab) -> None:
    answer = fastcgi.request(fpm.php_socket or "", fastcgi.probe_params(), timeout=5)
    assert answer.complete
    assert answer.status == 404
    assert answer.body.strip() == b"File not found."
    assert b"Primary script unknown" in answer.stderr


def test_runs_a_real_script_and_reads_its_output(fpm: Lab) -> None:
    answer = fastcgi.request(fpm.php_socket or "", _params(fpm, "index.php"), timeout=5)
    assert answer.complete and answer.app_status == 0
    assert answer.status == 200
    assert answer.body == b"hello from php-fpm"
    assert answer.headers["content-type"].startswith("text/html")


def test_sends_body_and_long_params(fpm: Lab) -> None:
    long_value = "v" * 300  # > 127 bytes: needs the 4-byte length encoding
    body = b"x" * 70000  # > 65535 bytes: split over several STDIN records
    params = _params(fpm, "echo.php", X_LONG=long_value, REQUEST_METHOD="POST",
                     CONTENT_LENGTH=str(len(body)), CONTENT_TYPE="application/octet-stream")
    answer = fastcgi.request(fpm.php_socket or "", params, stdin=body, timeout=5)
    assert answer.body == b"got:" + body + b":" + long_value.encode()


def test_tcp_address(make_tcp_lab: Lab) -> None:
    answer = fastcgi.request(("127.0.0.1", make_tcp_lab.php_port or 0), fastcgi.probe_params(),
                             timeout=5)
    assert answer.status == 404


@pytest.fixture
def make_tcp_lab() -> Iterator[Lab]:
    reason = missing_parts()
    require(reason is None, reason or "")
    lab = Lab(start_nginx=False, php_listen="tcp")
    try:
        yield lab
    finally:
        lab.stop()


def _serve_once(reply: bytes | None) -> tuple[int, threading.Event]:
    """A loopback TCP peer: answers `reply` to the first connection, or stays silent."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn, server:
            conn.recv(65536)
            if reply is not None:
                conn.sendall(reply)
            done.wait(10)

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], done


def test_http_peer_is_not_fastcgi() -> None:
    port, done = _serve_once(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    try:
        with pytest.raises(fastcgi.FastcgiError, match="not FastCGI"):
            fastcgi.request(("127.0.0.1", port), fastcgi.probe_params(), timeout=5)
    finally:
        done.set()


def test_silent_peer_times_out_within_the_limit() -> None:
    port, done = _serve_once(None)
    started = time.monotonic()
    try:
        with pytest.raises(SOCKET_TIMEOUTS):
            fastcgi.request(("127.0.0.1", port), fastcgi.probe_params(), timeout=0.5)
    finally:
        done.set()
    assert time.monotonic() - started < 3


def test_missing_socket_raises_file_not_found(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError):
        fastcgi.request(f"{tmp_path}/none.sock", fastcgi.probe_params(), timeout=1)


def test_param_encoding_lengths() -> None:
    assert fastcgi.encode_params({"A": "b"}) == b"\x01\x01Ab"
    encoded = fastcgi.encode_params({"K": "v" * 200})
    assert encoded[:5] == b"\x01\x80\x00\x00\xc8"
