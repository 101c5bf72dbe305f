"""One practice sandbox: a private folder with nginx (and PHP-FPM) configured to use only
that folder and free 127.0.0.1 ports, started the way an admin starts a server by hand.

Both servers daemonize, so their start commands return once they listen and go through
wizard.host.commands.run like every other command; the sweep (sweep.py) finds them by
the folder named in their command lines.
"""

from __future__ import annotations

import http.client
import os
import socket
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from wizard.fixes.helper_argv import interpreter
from wizard.host.commands import CommandResult, run
from wizard.options import Practice
from wizard.practice.parts import Parts
from wizard.practice.sweep import FOLDER_PREFIX
from wizard.practice.templates import (
    FASTCGI_PARAMS,
    NGINX_CONF,
    PHP_LOCATION,
    PHPFPM_CONF,
    SCRIPTS,
)

START_TIMEOUT = 20.0
# the names a spec's text may use; only these are replaced, so nginx's braces stay
PLACEHOLDERS = ("prefix", "port", "closed_port", "spare_port")


class SandboxError(Exception):
    """A server of the sandbox did not start as the scenario needs; one line says why."""


@dataclass
class SandboxSpec:
    """How a scenario's sandbox differs from a healthy one. Text may use {prefix} (the
    folder), {port} (nginx's), {closed_port} (free, nobody listens) and {spare_port}."""

    php: bool = True  # a PHP-FPM pool and nginx's PHP location
    start_php: bool = True
    start_nginx: bool = True
    hold_port: bool = False  # another program takes nginx's port first
    fastcgi_pass: str | None = None  # default: PHP-FPM's own socket
    http_extra: str = ""
    server_extra: str = ""
    php_location_extra: str = ""
    locations: str = ""
    listen_owner: str | None = None  # default: the workers' user and group
    listen_group: str | None = None
    listen_mode: str = "0660"
    pm: str = "static"
    max_children: int = 2
    request_terminate_timeout: str = "0"
    pool_extra: str = ""
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (text, mode)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_folder(base_dir: str | None = None) -> str:
    """A fresh folder the workers' user may traverse (they read the site and the socket):
    in TMPDIR when every folder above it lets others through, else in /tmp."""
    base = base_dir or tempfile.gettempdir()
    if not all(os.stat(folder).st_mode & stat.S_IXOTH for folder in _folders_above(base)):
        base = "/tmp"
    prefix = tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=base)
    os.chmod(prefix, 0o755)
    return prefix


def _folders_above(path: str) -> list[str]:
    """`path` and every folder above it: /a/b -> /a/b, /a, /."""
    folders = [os.path.abspath(path)]
    while folders[-1] != os.path.dirname(folders[-1]):
        folders.append(os.path.dirname(folders[-1]))
    return folders


class Sandbox:
    def __init__(self, prefix: str, spec: SandboxSpec, parts: Parts) -> None:
        self.prefix = prefix
        self.spec = spec
        self.parts = parts
        self.port, self.closed_port, self.spare_port = free_port(), free_port(), free_port()
        self.php_socket = f"{prefix}/php-fpm.sock"

    # -- paths and addresses ------------------------------------------------------------

    @property
    def nginx_conf(self) -> str:
        return f"{self.prefix}/nginx.conf"

    @property
    def fpm_conf(self) -> str | None:
        return f"{self.prefix}/php-fpm.conf" if self.spec.php else None

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or '127.0.0.1'}:{self.port}/{path.lstrip('/')}"

    def nginx_argv(self) -> list[str]:
        return [self.parts.nginx, "-p", f"{self.prefix}/", "-c", self.nginx_conf]

    def phpfpm_argv(self) -> list[str]:
        return [self.parts.require_phpfpm(), "--fpm-config", f"{self.prefix}/php-fpm.conf",
                "-p", self.prefix]

    def practice(self) -> Practice:
        """What the wizard needs to keep its fixes inside this sandbox."""
        starts = {"nginx": self.nginx_argv()}
        if self.spec.php:
            starts["php-fpm"] = self.phpfpm_argv()
        return Practice(prefix=self.prefix, fpm_conf=self.fpm_conf, starts=starts)

    # -- building -----------------------------------------------------------------------

    def build(self) -> None:
        """Write every file, then start what the scenario leaves running."""
        for sub in ("logs", "tmp", "www", "backups"):
            os.makedirs(f"{self.prefix}/{sub}", mode=0o755, exist_ok=True)
        self.write("fastcgi_params", FASTCGI_PARAMS)
        for name, text in SCRIPTS.items():
            self.write(f"www/{name}", text)
        for path, (text, mode) in self.spec.files.items():
            self.write(path, self.fill(text), mode)
        self.write("nginx.conf", self._nginx_text())
        if self.spec.php:
            self.write("php-fpm.conf", self._phpfpm_text())
        if self.spec.hold_port:
            self._start(self._holder_argv(), "the program that takes nginx's port")
        if self.spec.php and self.spec.start_php:
            self._start(self.phpfpm_argv(), "PHP-FPM")
        if self.spec.start_nginx:
            self._start(self.nginx_argv(), "nginx")

    def fill(self, text: str) -> str:
        values = {"prefix": self.prefix, "port": str(self.port),
                  "closed_port": str(self.closed_port), "spare_port": str(self.spare_port)}
        for key in PLACEHOLDERS:
            text = text.replace("{" + key + "}", values[key])
        return text

    def write(self, relpath: str, text: str, mode: int = 0o644) -> str:
        path = Path(self.prefix, relpath)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        return str(path)

    def _nginx_text(self) -> str:
        spec = self.spec
        php_location = PHP_LOCATION.format(
            prefix=self.prefix, fastcgi_pass=self.fill(spec.fastcgi_pass or
                                                       f"unix:{self.php_socket}"),
            php_location_extra=self.fill(spec.php_location_extra)) if spec.php else ""
        return NGINX_CONF.format(
            user_line=f"user {self.parts.user} {self.parts.group};", prefix=self.prefix,
            port=self.port, http_extra=self.fill(spec.http_extra),
            server_extra=self.fill(spec.server_extra), php_location=php_location,
            locations=self.fill(spec.locations))

    def _phpfpm_text(self) -> str:
        spec, parts = self.spec, self.parts
        return PHPFPM_CONF.format(
            prefix=self.prefix, user=parts.user, group=parts.group, listen=self.php_socket,
            listen_owner=spec.listen_owner or parts.user,
            listen_group=spec.listen_group or parts.group, listen_mode=spec.listen_mode,
            pm=spec.pm, max_children=spec.max_children,
            request_terminate_timeout=spec.request_terminate_timeout,
            pool_extra=self.fill(spec.pool_extra))

    def _holder_argv(self) -> list[str]:
        return [interpreter(), "-I", "-m", "wizard.practice.port_holder", self.prefix,
                "127.0.0.1", str(self.port)]

    def _start(self, argv: list[str], what: str) -> CommandResult:
        result = run(argv, timeout=START_TIMEOUT)
        if not result.ok:
            last = (result.output.splitlines() or ["it printed nothing"])[-1]
            raise SandboxError(f"{what} of the practice sandbox did not start: "
                               f"{result.error or last}")
        return result

    # -- visiting -----------------------------------------------------------------------

    def request(self, path: str, host: str | None = None, timeout: float = 10.0) -> int | str:
        """GET the page as a visitor would: its status, or the name of the error met."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", "/" + path.lstrip("/"),
                         headers={"Host": host or "practice.test"})
            response = conn.getresponse()
            response.read()
            return response.status
        except OSError as exc:
            return type(exc).__name__
        finally:
            conn.close()
