"""One spelling per unix socket path, to compare the paths nginx, PHP-FPM and the kernel give."""

from __future__ import annotations

import os


def canonical_socket(path: str) -> str:
    """'/var/run/php/x.sock', '//run/php/x.sock' and '/run/php/../php/x.sock' all give
    '/run/php/x.sock'. /var/run is a link to /run on every current distro, and nginx reads
    `unix://tmp/x.sock` as the path '//tmp/x.sock', which Linux opens as /tmp/x.sock
    (normpath keeps two leading slashes: POSIX leaves their meaning to the system)."""
    path = os.path.normpath(path)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return "/run" + path[len("/var/run"):] if path.startswith("/var/run/") else path
