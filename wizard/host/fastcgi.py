"""A small FastCGI client (standard library only) to ask PHP-FPM whether it answers.

Why hand-written: no maintained FastCGI client exists on PyPI, and the wizard needs only
one request at a time. The protocol (FastCGI 1.0 specification, section 3 and 5): every
message is a record with an 8-byte header (version, type, request id, content length,
padding length). The client sends BEGIN_REQUEST (role RESPONDER), the CGI variables as
PARAMS records (closed by an empty one), the body as STDIN records (closed by an empty
one), then reads STDOUT / STDERR records until END_REQUEST.

A request for a script that does not exist is the cheapest proof that PHP-FPM works:
it answers "Status: 404" / "File not found." on STDOUT and "Primary script unknown" on
STDERR without running any PHP code.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1
HEADER = struct.Struct(">BBHHBx")  # version, type, request id, content length, padding
REQUEST_ID = 1
MAX_RESPONSE = 1024 * 1024  # bytes kept; a probe never needs a whole page
PROBE_SCRIPT = "/nginx-502-wizard-probe/does-not-exist.php"


class FastcgiError(Exception):
    """The peer accepted the connection but did not speak FastCGI properly."""


@dataclass
class FastcgiResponse:
    stdout: bytes
    stderr: bytes
    app_status: int | None  # the script's exit status from END_REQUEST
    complete: bool  # END_REQUEST arrived (False: the peer closed the connection early)

    @property
    def headers(self) -> dict[str, str]:
        head = self.stdout.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        found: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            name, sep, value = line.partition(":")
            if sep:
                found[name.strip().lower()] = value.strip()
        return found

    @property
    def status(self) -> int:
        """The HTTP status PHP-FPM asked for ('Status:' header; 200 when absent)."""
        value = self.headers.get("status", "200").split(" ", 1)[0]
        return int(value) if value.isdigit() else 200

    @property
    def body(self) -> bytes:
        for sep in (b"\r\n\r\n", b"\n\n"):
            if sep in self.stdout:
                return self.stdout.split(sep, 1)[1]
        return b""


def _record(rtype: int, content: bytes = b"") -> bytes:
    padding = -len(content) % 8  # records are padded to a multiple of 8 bytes
    header = HEADER.pack(VERSION, rtype, REQUEST_ID, len(content), padding)
    return header + content + b"\0" * padding


def _length(n: int) -> bytes:
    # Lengths below 128 take one byte; longer ones four bytes with the top bit set.
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in params.items():
        key, val = name.encode(), value.encode()
        out += _length(len(key)) + _length(len(val)) + key + val
    return bytes(out)


def _stream(rtype: int, data: bytes) -> bytes:
    """A stream (PARAMS, STDIN) as records of at most 65535 bytes, closed by an empty one."""
    chunks = [data[i:i + 65535] for i in range(0, len(data), 65535)]
    return b"".join(_record(rtype, c) for c in chunks) + _record(rtype)


def probe_params(script: str = PROBE_SCRIPT) -> dict[str, str]:
    """CGI variables for a GET of `script`, as nginx's fastcgi_params would send them."""
    return {
        "SCRIPT_FILENAME": script, "SCRIPT_NAME": script, "REQUEST_URI": script,
        "DOCUMENT_URI": script, "QUERY_STRING": "", "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "nginx-502-wizard", "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "REDIRECT_STATUS": "200",
        "CONTENT_LENGTH": "0",
    }


def connect(address: str | tuple[str, int], timeout: float) -> socket.socket:
    """A connected socket: a str is a unix socket path, a tuple is (host, port)."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock
    return socket.create_connection(address, timeout=timeout)


def _read_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < n:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def request(
    address: str | tuple[str, int] | socket.socket,
    params: dict[str, str],
    stdin: bytes = b"",
    timeout: float = 5.0,
) -> FastcgiResponse:
    """Send one request and read the answer. Raises OSError (connect, timeout) or
    FastcgiError (the peer is not a FastCGI server)."""
    deadline = time.monotonic() + timeout
    sock = address if isinstance(address, socket.socket) else connect(address, timeout)
    with sock:
        begin = struct.pack(">HB5x", RESPONDER, 0)  # role, flags (0: close after request)
        sock.settimeout(timeout)
        sock.sendall(_record(BEGIN_REQUEST, begin) + _stream(PARAMS, encode_params(params))
                     + _stream(STDIN, stdin))
        out, err = bytearray(), bytearray()
        while True:
            header = _read_exact(sock, HEADER.size, deadline)
            if not header:
                return FastcgiResponse(bytes(out), bytes(err), None, complete=False)
            if len(header) < HEADER.size or header[0] != VERSION:
                raise FastcgiError(f"the answer is not FastCGI (it starts with {header[:16]!r})")
            _, rtype, _, length, padding = HEADER.unpack(header)
            content = _read_exact(sock, length + padding, deadline)[:length]
            if rtype == STDOUT and len(out) < MAX_RESPONSE:
                out += content
            elif rtype == STDERR and len(err) < MAX_RESPONSE:
                err += content
            elif rtype == END_REQUEST:
                app_status = struct.unpack(">I", content[:4])[0] if len(content) >= 4 else None
                return FastcgiResponse(bytes(out), bytes(err), app_status, complete=True)
