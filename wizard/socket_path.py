"""One spelling per unix socket path, to compare the paths nginx, PHP-FPM and the kernel give."""

from __future__ import annotations

import os


def single_leading_slash(path: str) -> str:
    """nginx reads `unix:///tmp/app.sock` (uWSGI's docs write it so) as the path
    '///tmp/app.sock', which Linux opens as /tmp/app.sock: the path a person should see."""
    return "/" + path.lstrip("/") if path.startswith("//") else path


def canonical_socket(path: str) -> str:
    """'/var/run/php/x.sock', '//run/php/x.sock' and '/run/php/../php/x.sock' all give
    '/run/php/x.sock' (/var/run is a link to /run on every current distro)."""
    path = single_leading_slash(os.path.normpath(path))
    return "/run" + path[len("/var/run"):] if path.startswith("/var/run/") else path
