"""Hold a TCP port the way a stray program does, for the practice scenario where another
program has nginx's port:

    python -I -m wizard.practice.port_holder FOLDER HOST PORT

binds HOST:PORT, then goes into the background (so the starting command returns once the
port is taken) and hangs up on every connection: it speaks no HTTP. It ends by itself
when the sandbox FOLDER is gone, and the sweep finds it by that folder in its arguments.
"""

from __future__ import annotations

import os
import socket
import sys

from wizard.compat import SOCKET_TIMEOUTS

CHECK_SECONDS = 1.0


def _detach() -> None:
    """Fork; the parent returns to the caller's shell at once, the child serves on."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def _serve(listener: socket.socket, folder: str) -> None:
    listener.settimeout(CHECK_SECONDS)
    while os.path.isdir(folder):
        try:
            conn, _ = listener.accept()
        except SOCKET_TIMEOUTS:
            continue
        conn.close()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not os.path.isabs(argv[0]) or not argv[2].isdigit():
        print("usage: FOLDER HOST PORT", file=sys.stderr)
        return 64
    folder, host, port = argv[0], argv[1], int(argv[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        print(f"cannot take {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    listener.listen(16)
    _detach()
    _serve(listener, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
