"""Small real upstream programs for the production lab (tests/lab/production.py).

Each runs as its own process (`python fake_upstreams.py KIND ...`), binds first, then
writes the address it bound to a ready file, so the harness waits for that file instead of
guessing. SIGTERM ends it and, like gunicorn and uWSGI (`vacuum`), removes its unix socket.

    http   an HTTP app on a unix socket or 127.0.0.1 TCP port, in one of three modes:
           ok     answers every request with 200;
           close  reads the request, then closes the connection without a byte of answer,
                  and keeps serving (nginx: "upstream prematurely closed connection");
           hang   accepts and reads the request, then never answers (nginx times out).
    uwsgi  a uwsgi-protocol app on a unix socket, answering 200 (what `uwsgi_pass` talks to).
    dns    a UDP DNS server on 127.0.0.1 that answers every A query with one address, or
           every query with NXDOMAIN.

Only the standard library: it runs under any python3, without the project installed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import socketserver
import struct
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

HTTP_MODES = ("ok", "close", "hang")
HANG_LIMIT = 300.0  # a hanging connection is dropped at last, so nothing outlives a test
DNS_TTL = 1


# -- the HTTP app --------------------------------------------------------------------------

class AppHandler(BaseHTTPRequestHandler):
    """An app server's worker: the answer depends on the server's `mode`."""

    protocol_version = "HTTP/1.1"  # keep-alive, so nginx's `keepalive` pool has a use
    server: Any

    def handle_one_request(self) -> None:
        if self.server.mode == "ok":
            super().handle_one_request()
            return
        # close / hang: read what nginx sent, as a real app would, then misbehave.
        if not self.rfile.readline(65537):
            self.close_connection = True
            return
        http.client.parse_headers(self.rfile)
        if self.server.mode == "hang":
            self.connection.settimeout(HANG_LIMIT)
            with contextlib.suppress(OSError):
                while self.connection.recv(4096):  # until nginx gives up and closes
                    pass
        self.close_connection = True

    def do_GET(self) -> None:  # the name http.server calls
        body = f"hello from the app: {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:
        return "unix-client"  # a unix socket's peer has no address

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests read nginx's logs, not the app's


class UnixAppServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    mode = "ok"


class TcpAppServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True  # restarted on the same port while old connections linger
    mode = "ok"


# -- the uwsgi app -------------------------------------------------------------------------

def read_exactly(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the client closed the connection mid-packet")
    return data


def uwsgi_vars(packet: bytes) -> dict[str, str]:
    """The key/value block of a uwsgi request: (u16 length, bytes) pairs, little-endian."""
    found, pos = {}, 0
    while pos + 2 <= len(packet):
        (klen,) = struct.unpack_from("<H", packet, pos)
        key = packet[pos + 2:pos + 2 + klen].decode("latin-1")
        pos += 2 + klen
        (vlen,) = struct.unpack_from("<H", packet, pos)
        found[key] = packet[pos + 2:pos + 2 + vlen].decode("latin-1")
        pos += 2 + vlen
    return found


class UwsgiHandler(socketserver.StreamRequestHandler):
    """One uwsgi request (4-byte header, then the variables, then the body) -> 200."""

    def handle(self) -> None:
        try:
            _, size, _ = struct.unpack("<BHB", read_exactly(self.rfile, 4))
            env = uwsgi_vars(read_exactly(self.rfile, size))
            read_exactly(self.rfile, int(env.get("CONTENT_LENGTH") or 0))
        except (EOFError, struct.error, ValueError):
            return
        body = f"hello from uwsgi: {env.get('PATH_INFO', '')}\n".encode()
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class UnixUwsgiServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


# -- the DNS server ------------------------------------------------------------------------

def question_end(query: bytes) -> int:
    """Offset just past the first question (name labels, then type and class)."""
    pos = 12
    while query[pos] != 0:
        pos += 1 + query[pos]
    return pos + 1 + 4


def dns_answer(query: bytes, answer: str) -> bytes:
    """The reply to one query: NXDOMAIN, or an A record for A queries (other types get
    an empty NOERROR, as for a name that has only an IPv4 address)."""
    (ident, flags) = struct.unpack_from(">HH", query, 0)
    end = question_end(query)
    qtype = struct.unpack_from(">H", query, end - 4)[0]
    records = b""
    rcode = 3 if answer == "nxdomain" else 0
    if rcode == 0 and qtype == 1:
        records = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, DNS_TTL, 4) + \
            socket.inet_aton(answer)
    reply_flags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode  # QR, opcode+RD, AA, RA
    header = struct.pack(">HHHHHH", ident, reply_flags, 1, 1 if records else 0, 0, 0)
    return header + query[12:end] + records


def serve_dns(answer: str, port: int, ready: Path) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    write_ready(ready, str(sock.getsockname()[1]))
    while True:
        query, peer = sock.recvfrom(4096)
        with contextlib.suppress(IndexError, struct.error):
            sock.sendto(dns_answer(query, answer), peer)


# -- running -------------------------------------------------------------------------------

def write_ready(ready: Path, address: str) -> None:
    """Announce the bound address; written whole (rename), so a reader never sees half."""
    partial = ready.with_name(ready.name + ".part")
    partial.write_text(address + "\n")
    partial.replace(ready)


def unix_server(server_class: Any, handler: Any, path: str, mode: str) -> Any:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a stale socket from a killed run, as gunicorn removes it
    server = server_class(path, handler)
    os.chmod(path, int(mode, 8))
    return server


def serve(server: Any, ready: Path, address: str, unlink: str | None) -> None:
    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    write_ready(ready, address)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if unlink:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(unlink)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("http", "uwsgi", "dns"))
    parser.add_argument("--ready", required=True, type=Path, help="file to write when bound")
    parser.add_argument("--unix", help="listen on this unix socket path")
    parser.add_argument("--socket-mode", default="0666", help="the unix socket's mode")
    parser.add_argument("--port", type=int, default=0, help="127.0.0.1 port (0: any free)")
    parser.add_argument("--mode", choices=HTTP_MODES, default="ok", help="http behaviour")
    parser.add_argument("--answer", default="127.0.0.1", help="dns: an IPv4 or nxdomain")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.kind == "dns":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        serve_dns(args.answer, args.port, args.ready)
        return
    if args.kind == "uwsgi":
        server = unix_server(UnixUwsgiServer, UwsgiHandler, args.unix, args.socket_mode)
        serve(server, args.ready, args.unix, args.unix)
        return
    if args.unix:
        server = unix_server(UnixAppServer, AppHandler, args.unix, args.socket_mode)
        address = args.unix
    else:
        server = TcpAppServer(("127.0.0.1", args.port), AppHandler)
        address = f"127.0.0.1:{server.server_address[1]}"
    server.mode = args.mode
    serve(server, args.ready, address, args.unix)


if __name__ == "__main__":
    main(sys.argv[1:])
