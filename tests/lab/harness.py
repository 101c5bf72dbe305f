"""A throw-away nginx + PHP-FPM installation for lab tests.

`Lab` writes an nginx.conf and a PHP-FPM config into a fresh temp folder, starts the real
Debian binaries on free 127.0.0.1 ports (or a unix socket inside that folder) and stops
everything it started, also when the test fails. The config is built from parameters so a
break scenario is a one-liner:

    Lab(fastcgi_pass="unix:{prefix}/other.sock")          # nginx points at the wrong socket
    Lab(php_listen="tcp", fastcgi_pass="127.0.0.1:{closed_port}")  # wrong TCP port
    Lab(listen_owner="root", listen_group="root", listen_mode="0600")  # socket permission
    Lab(start_php=False)                                  # PHP-FPM down
    Lab(locations="location /api/ { proxy_pass http://127.0.0.1:{closed_port}; }")
    Lab(http_extra="upstream backend { server 127.0.0.1:{closed_port}; }",
        locations="location /app/ { proxy_pass http://backend; }")

Text parameters may use the placeholders {prefix} (the lab folder, no trailing slash),
{port} (nginx's port), {php_port}, {closed_port} (a free port nobody listens on) and
{php_listen} (PHP-FPM's listen value). Literal braces in nginx blocks are fine: only
those names are replaced.

PHP-FPM never touches /run/php or the system pool: it gets only the lab's own config,
pid file, log and socket.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from wizard.practice.templates import HTTP_IN_PREFIX

NGINX_BIN = "/usr/sbin/nginx"
PHPFPM_BIN = "/usr/sbin/php-fpm8.2"
LAB_USER = "www-data"
READY_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

PLACEHOLDERS = ("prefix", "port", "php_port", "closed_port", "php_listen")

DEFAULT_SCRIPTS: dict[str, str] = {
    "index.php": "<?php echo 'hello from php-fpm';\n",
    "index.html": "hello from nginx\n",
    # ?s=SECONDS: a request that outlives fastcgi_read_timeout / request_terminate_timeout
    "slow.php": "<?php sleep((int)($_GET['s'] ?? 5)); echo 'slept';\n",
    # The worker kills itself with SIGSEGV: PHP-FPM logs "exited on signal 11".
    "segv.php": "<?php posix_kill(posix_getpid(), 11); sleep(5); echo 'survived';\n",
    # ?n=BYTES: a response header larger than fastcgi_buffer_size
    "bigheader.php": "<?php header('X-Big: ' . str_repeat('a', (int)($_GET['n'] ?? 16000)));"
                     " echo 'big';\n",
    # Fatal error with display_errors off: PHP-FPM answers 500, logs the message.
    "fatal.php": "<?php undefined_function_for_lab();\n",
}

FASTCGI_PARAMS = """\
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;
fastcgi_param  REDIRECT_STATUS    200;
"""

# HTTP_IN_PREFIX (the first lines of the http block: logs and temp files in the lab's
# own prefix) is the practice sandbox's, so the two cannot drift apart.
NGINX_TEMPLATE = """\
{user_line}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log info;
{main_extra}

events {{
    worker_connections 64;
}}

http {{
""" + HTTP_IN_PREFIX + """\
    types {{ text/html html; }}
{http_extra}

    server {{
        listen {listen};
        server_name {server_name};
        root {prefix}/www;
        index index.php index.html;
{server_extra}

        location / {{
            try_files $uri $uri/ =404;
        }}
{php_location}{locations}
    }}
}}
"""

# The PHP location, written unless Lab(php_location=False) (a proxy-only site).
PHP_LOCATION_TEMPLATE = """
        location ~ \\.php$ {{
            include fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass {fastcgi_pass};
{php_location_extra}
        }}
"""

PHPFPM_TEMPLATE = """\
[global]
pid = {prefix}/php-fpm.pid
error_log = {prefix}/logs/php-fpm.log
log_level = notice
daemonize = no
{global_extra}

[www]
user = {user}
group = {user}
listen = {php_listen}
listen.owner = {listen_owner}
listen.group = {listen_group}
listen.mode = {listen_mode}
pm = {pm}
pm.max_children = {max_children}
pm.start_servers = 1
pm.min_spare_servers = 1
pm.max_spare_servers = {max_children}
request_terminate_timeout = {request_terminate_timeout}
catch_workers_output = yes
decorate_workers_output = no
clear_env = no
php_admin_value[error_log] = {prefix}/logs/php-fpm.log
php_admin_flag[log_errors] = on
php_admin_flag[display_errors] = off
{pool_extra}
"""


# A server block whose proxy_pass line lacks its ';': nginx -t rejects it at line 5.
BROKEN_INCLUDE = (
    "server {\n"
    "    listen 127.0.0.1:{closed_port};\n"
    "    location / {\n"
    "        proxy_pass http://127.0.0.1:9\n"  # the missing ';'
    "    }\n"
    "}\n")


class LabError(RuntimeError):
    """The lab could not start; the message carries the log tail that says why."""


def free_port() -> int:
    """A 127.0.0.1 TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until true or raise LabError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise LabError(f"timed out after {timeout:g}s waiting for {what}")


def can_connect(target: str) -> bool:
    """True when a TCP 'host:port' or 'unix:/path' accepts a connection."""
    try:
        if target.startswith("unix:") or target.startswith("/"):
            path = target.removeprefix("unix:")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(path)
        else:
            host, _, port = target.rpartition(":")
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
                pass
    except OSError:
        return False
    return True


def listens_in_netns_of(pid: int, port: int) -> bool:
    """True when the network namespace of process `pid` has a TCP socket listening on
    127.0.0.1:port or *:port. /proc/PID/net/tcp shows that process's own namespace, so
    this works for an nginx started with `ip netns exec`, which we cannot connect to."""
    wanted = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    try:
        with open(f"/proc/{pid}/net/tcp", encoding="ascii") as table:
            rows = [line.split() for line in table.readlines()[1:]]
    except OSError:
        return False
    return any(len(row) > 3 and row[1] in wanted and row[3] == "0A" for row in rows)  # LISTEN


def missing_parts() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "lab tests need root (nginx workers and PHP-FPM pools run as www-data)"
    for binary in (NGINX_BIN, PHPFPM_BIN):
        if not os.access(binary, os.X_OK):
            return f"{binary} is missing (Debian packages nginx-light and php8.2-fpm)"
    try:
        import pwd

        pwd.getpwnam(LAB_USER)
    except KeyError:
        return f"user {LAB_USER} is missing"
    return None


def require_lab() -> None:
    """Skip (fail under CI=true) when the lab cannot run here; call before `Lab(...)`."""
    from tests.support import require

    reason = missing_parts()
    require(reason is None, reason or "")


def _kill_tree(proc: subprocess.Popen[bytes] | None, sig: int) -> None:
    """Signal a started process; wait with a deadline, then SIGKILL it and its children."""
    if proc is None or proc.poll() is not None:
        return
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)
    # nginx workers outlive a killed master; never leave one holding a port.
    _, alive = psutil.wait_procs(children, timeout=STOP_TIMEOUT)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


class Lab:
    """nginx (+ PHP-FPM) in a temp folder. Use as a context manager or via the fixtures."""

    def __init__(
        self,
        *,
        php: bool = True,
        start_nginx: bool = True,
        start_php: bool = True,
        php_listen: str = "unix",
        fastcgi_pass: str | None = None,
        listen: str | None = None,
        server_name: str = "lab.test",
        user: str | None = None,
        main_extra: str = "",
        http_extra: str = "",
        server_extra: str = "",
        php_location_extra: str = "",
        php_location: bool = True,
        locations: str = "",
        listen_owner: str = LAB_USER,
        listen_group: str = LAB_USER,
        listen_mode: str = "0660",
        pm: str = "static",
        max_children: int = 2,
        request_terminate_timeout: str = "0",
        global_extra: str = "",
        pool_extra: str = "",
        scripts: dict[str, str] | None = None,
        base_dir: str | None = None,
        netns: str | None = None,
    ) -> None:
        """php_listen: "unix" (socket in the lab folder), "tcp" (127.0.0.1:free port) or an
        explicit listen value. fastcgi_pass defaults to wherever PHP-FPM listens.
        php=False writes no PHP-FPM config at all; start_php=False writes it but leaves
        PHP-FPM stopped (the 'PHP-FPM is down' scenario). php_location=False leaves the
        `location ~ \\.php$` block out of nginx.conf (a site that only proxies).
        netns: start nginx inside that (existing) network namespace with `ip netns exec`;
        then only processes inside it can reach nginx (lab.request cannot)."""
        self.prefix = Path(tempfile.mkdtemp(prefix="n502lab-", dir=base_dir))
        # www-data must traverse to the docroot and the socket.
        self.prefix.chmod(0o755)
        for sub in ("logs", "tmp", "www"):
            (self.prefix / sub).mkdir(mode=0o755)
        self.port = free_port()
        self.closed_port = free_port()
        self.php_port: int | None = None
        self.has_php = php
        if php_listen == "unix":
            self.php_listen = str(self.prefix / "php-fpm.sock")
        elif php_listen == "tcp":
            self.php_port = free_port()
            self.php_listen = f"127.0.0.1:{self.php_port}"
        else:
            self.php_listen = self._fill(php_listen)
        self._nginx: subprocess.Popen[bytes] | None = None
        self._php: subprocess.Popen[bytes] | None = None
        self._extra: list[subprocess.Popen[bytes]] = []
        default_pass = (f"unix:{self.php_listen}" if self.php_listen.startswith("/")
                        else self.php_listen)
        self.fastcgi_pass = self._fill(fastcgi_pass) if fastcgi_pass else default_pass
        nginx_user = user if user is not None else (LAB_USER if os.geteuid() == 0 else "")
        self.php_location = php_location
        self.netns = netns
        self.nginx_params: dict[str, str] = {
            "user_line": f"user {nginx_user};" if nginx_user else "",
            "listen": self._fill(listen) if listen else f"127.0.0.1:{self.port}",
            "server_name": server_name,
            "fastcgi_pass": self.fastcgi_pass,
            "main_extra": self._fill(main_extra),
            "http_extra": self._fill(http_extra),
            "server_extra": self._fill(server_extra),
            "php_location_extra": self._fill(php_location_extra),
            "locations": self._fill(locations),
        }
        self.php_params: dict[str, str] = {
            "user": LAB_USER,
            "php_listen": self.php_listen,
            "listen_owner": listen_owner,
            "listen_group": listen_group,
            "listen_mode": listen_mode,
            "pm": pm,
            "max_children": str(max_children),
            "request_terminate_timeout": str(request_terminate_timeout),
            "global_extra": self._fill(global_extra),
            "pool_extra": self._fill(pool_extra),
        }
        self.write_file("fastcgi_params", FASTCGI_PARAMS)
        for name, text in {**DEFAULT_SCRIPTS, **(scripts or {})}.items():
            self.write_file(f"www/{name}", text)
        self.write_nginx_conf()
        if php:
            self.write_phpfpm_conf()
        try:
            if php and start_php:
                self.start_php()
            if start_nginx:
                self.start_nginx()
        except BaseException:
            self.stop()
            raise

    # -- paths -----------------------------------------------------------------------
    @property
    def nginx_conf(self) -> str:
        return str(self.prefix / "nginx.conf")

    @property
    def phpfpm_conf(self) -> str:
        return str(self.prefix / "php-fpm.conf")

    @property
    def error_log(self) -> str:
        return str(self.prefix / "logs" / "error.log")

    @property
    def access_log(self) -> str:
        return str(self.prefix / "logs" / "access.log")

    @property
    def phpfpm_log(self) -> str:
        return str(self.prefix / "logs" / "php-fpm.log")

    @property
    def php_socket(self) -> str | None:
        """The unix socket PHP-FPM listens on, or None when it listens on TCP."""
        return self.php_listen if self.php_listen.startswith("/") else None

    @property
    def docroot(self) -> str:
        return str(self.prefix / "www")

    @property
    def nginx_pid(self) -> int | None:
        return self._nginx.pid if self._nginx and self._nginx.poll() is None else None

    @property
    def php_pid(self) -> int | None:
        return self._php.pid if self._php and self._php.poll() is None else None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    # -- config ------------------------------------------------------------------------
    def _fill(self, text: str) -> str:
        """Replace only the lab placeholders, so nginx's own braces stay untouched."""
        values = {
            "prefix": str(self.prefix), "port": str(self.port),
            "php_port": str(getattr(self, "php_port", None) or ""),
            "closed_port": str(self.closed_port),
            "php_listen": getattr(self, "php_listen", ""),
        }
        for key in PLACEHOLDERS:
            text = text.replace("{" + key + "}", values[key])
        return text

    def write_file(self, relpath: str, text: str, mode: int = 0o644) -> str:
        """Write a file inside the lab folder (parents created); returns its path."""
        path = self.prefix / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self._fill(text))
        path.chmod(mode)
        return str(path)

    def write_nginx_conf(self, text: str | None = None, **params: str) -> str:
        """(Re)write nginx.conf from the template with changed params, or verbatim text."""
        self.nginx_params.update({k: self._fill(v) for k, v in params.items()})
        if text is not None:
            return self.write_file("nginx.conf", self._fill(text))
        php_location = PHP_LOCATION_TEMPLATE.format(**self.nginx_params) \
            if self.php_location else ""
        body = NGINX_TEMPLATE.format(prefix=self.prefix, php_location=php_location,
                                     **self.nginx_params)
        return self.write_file("nginx.conf", body)

    def write_phpfpm_conf(self, text: str | None = None, **params: str) -> str:
        self.php_params.update({k: self._fill(str(v)) for k, v in params.items()})
        body = self._fill(text) if text is not None else PHPFPM_TEMPLATE.format(
            prefix=self.prefix, **self.php_params)
        return self.write_file("php-fpm.conf", body)

    # -- processes -----------------------------------------------------------------------
    def nginx_argv(self) -> list[str]:
        argv = [NGINX_BIN, "-p", f"{self.prefix}/", "-c", self.nginx_conf]
        # `ip netns exec` execs nginx in place, so the started pid is nginx's master.
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv

    def start_nginx(self, wait: bool = True) -> None:
        """Start nginx; with wait, return once it answers on its port (LabError if it dies)."""
        if self.nginx_pid:
            return
        (self.prefix / "nginx.pid").unlink(missing_ok=True)  # stale after a SIGKILL
        err = (self.prefix / "logs" / "nginx.stderr").open("ab")
        self._nginx = subprocess.Popen(self.nginx_argv(), stdin=subprocess.DEVNULL,
                                       stdout=err, stderr=err, start_new_session=True)
        err.close()
        if wait:
            # nginx writes its pid file only after binding every listen socket, so a port
            # held by someone else cannot pass for a ready nginx.
            self._wait_ready(self._nginx, f"127.0.0.1:{self.port}", "nginx", self.error_log,
                             self.prefix / "nginx.pid", in_netns=bool(self.netns))

    def stop_nginx(self) -> None:
        _kill_tree(self._nginx, signal.SIGTERM)
        self._nginx = None

    def reload_nginx(self) -> None:
        """Re-read nginx.conf (SIGHUP), as `nginx -s reload` would."""
        if self._nginx and self._nginx.poll() is None:
            self._nginx.send_signal(signal.SIGHUP)

    def start_php(self, wait: bool = True) -> None:
        if not self.has_php:
            raise LabError("this lab was made with php=False")
        if self.php_pid:
            return
        (self.prefix / "php-fpm.pid").unlink(missing_ok=True)
        err = (self.prefix / "logs" / "php-fpm.stderr").open("ab")
        argv = [PHPFPM_BIN, "--fpm-config", self.phpfpm_conf, "-F", "-p", str(self.prefix)]
        self._php = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                     start_new_session=True)
        err.close()
        if wait:
            self._wait_ready(self._php, self.php_listen, "php-fpm", self.phpfpm_log,
                             self.prefix / "php-fpm.pid")

    def stop_php(self) -> None:
        # SIGQUIT is PHP-FPM's graceful stop; _kill_tree falls back to SIGKILL.
        _kill_tree(self._php, signal.SIGQUIT)
        self._php = None

    def spawn_listener(self, port: int, host: str = "127.0.0.1",
                       hang_up: bool = False) -> subprocess.Popen[bytes]:
        """Start another process (python3) that holds host:port, e.g. to steal nginx's port.
        It never answers; with hang_up it accepts and closes every connection at once (a
        program that speaks no HTTP), so a client fails fast instead of waiting."""
        serve = ("while True: s.accept()[0].close()" if hang_up else "time.sleep(3600)")
        code = ("import socket,time,sys\ns=socket.socket()\n"
                "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                f"s.bind(({host!r},{port}))\ns.listen(8)\nsys.stdout.write('ready\\n')\n"
                f"sys.stdout.flush()\n{serve}\n")
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self._extra.append(proc)
        self._wait_ready(proc, f"{host}:{port}", "listener", None)
        return proc

    def track(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """Have stop() end a process a test started itself."""
        self._extra.append(proc)
        return proc

    def _wait_ready(self, proc: subprocess.Popen[bytes], target: str, what: str,
                    log: str | None, pid_file: Path | None = None,
                    in_netns: bool = False) -> None:
        def ready() -> bool:
            if proc.poll() is not None:
                raise LabError(f"{what} exited with {proc.returncode}:\n{self._tails(log)}")
            if pid_file is not None and not pid_file.exists():
                return False
            if in_netns:
                return listens_in_netns_of(proc.pid, int(target.rpartition(":")[2]))
            return can_connect(target)

        try:
            wait_for(ready, READY_TIMEOUT, f"{what} on {target}")
        except LabError as exc:
            if "timed out" in str(exc):
                raise LabError(f"{exc}\n{self._tails(log)}") from None
            raise

    def _tails(self, log: str | None) -> str:
        parts = []
        for path in filter(None, [log, str(self.prefix / "logs" / "nginx.stderr"),
                                  str(self.prefix / "logs" / "php-fpm.stderr")]):
            with contextlib.suppress(OSError):
                tail = Path(path).read_text(errors="replace").splitlines()[-15:]
                parts.append(f"--- {path}\n" + "\n".join(tail))
        return "\n".join(parts)

    # -- requests -----------------------------------------------------------------------
    def request(self, path: str = "/", host: str | None = None,
                timeout: float = 10.0) -> tuple[int, str]:
        """GET path from nginx; returns (status, body). Connection errors raise OSError."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", "/" + path.lstrip("/"),
                         headers={"Host": host or self.nginx_params["server_name"]})
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", errors="replace")
        finally:
            conn.close()

    def log_text(self, which: str = "error") -> str:
        """Current text of the nginx error log ('error'), 'access' or 'php-fpm' log."""
        path = {"error": self.error_log, "access": self.access_log,
                "php-fpm": self.phpfpm_log}[which]
        try:
            return Path(path).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, needle: str, which: str = "error", timeout: float = 10.0) -> str:
        """Wait until a log contains needle (logs are written after the response)."""
        wait_for(lambda: needle in self.log_text(which), timeout, f"{needle!r} in {which} log")
        return self.log_text(which)

    def options(self, **extra: Any) -> Any:
        """wizard Options pointing at this lab's nginx.conf (plus any extra fields)."""
        from wizard.options import Options

        return Options(nginx_conf=self.nginx_conf, **extra)

    # -- lifetime ------------------------------------------------------------------------
    def stop(self, remove: bool = True) -> None:
        """End everything this lab started; remove its folder unless asked to keep it."""
        for proc in self._extra:
            _kill_tree(proc, signal.SIGTERM)
        self._extra.clear()
        self.stop_nginx()
        self.stop_php()
        if remove and os.environ.get("LAB_KEEP") != "1":
            shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def lab(**kwargs: Any) -> Iterator[Lab]:
    """`with lab(...) as l:` - same as `with Lab(...) as l:`."""
    instance = Lab(**kwargs)
    try:
        yield instance
    finally:
        instance.stop()
