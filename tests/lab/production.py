"""A production-shaped Debian/Ubuntu web host in a temp folder, for lab tests.

`ProductionHost` lays out a private root the way Debian lays out /etc/nginx, /etc/php,
/run and /var/log, and starts the real programs on it:

    <root>/nginx.conf                 includes conf.d/*.conf and sites-enabled/* (relative)
    <root>/conf.d/upstreams.conf      the API's upstream group, gunicorn's upstream
    <root>/conf.d/maps.conf           `map` with regex keys and named captures
    <root>/conf.d/old-site.conf.save  an editor's leftover: an old server block for the
                                      shop on a dead socket, which the *.conf glob skips
    <root>/sites-available/*          five sites; sites-enabled/* are symlinks to them;
                                      staging.shop.example.com is available, not enabled
    <root>/snippets/fastcgi-php.conf, fastcgi.conf, fastcgi_params, uwsgi_params,
    <root>/proxy_params, mime.types   copied from the installed Debian nginx package
    <root>/php/8.2/fpm/php-fpm.conf   includes pool.d/*.conf: pools shop and admin, each
                                      on run/php/php8.2-fpm-NAME.sock
    <root>/run/gunicorn/app.sock      the Python app (fake_upstreams.py http)
    <root>/run/uwsgi/app/legacy/socket  the uwsgi app (fake_upstreams.py uwsgi)
    <root>/log/nginx/*.log            the main error/access log and each site's own pair

The sites, each on its own 127.0.0.1 port (the only way a test can pick a site without a
name in /etc/hosts), as `default_server` there with its production server_name:

    shop    PHP (pool shop) with Debian's snippet, a named @fallback front controller,
            a nested location, `if`, a regex map and quoted braces and semicolons
    admin   PHP (pool admin)
    app     gunicorn's documented setup: try_files, then @proxy_to_app on a unix socket
    legacy  uwsgi_pass to a uwsgi app
    api     /v1/ through `upstream api_backend` (two servers, max_fails=1, keepalive);
            /v2/ through `resolver` and a variable: proxy_pass http://$backend:PORT

nginx runs as `user www-data;` (so socket permissions are real), PHP-FPM from
/usr/sbin/php-fpm8.2 on the private config only (never /run/php or the system pool).
Everything started is stopped by `stop()`, also when a test fails; every wait has a
deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tests.lab.harness import (
    NGINX_BIN,
    PHPFPM_BIN,
    READY_TIMEOUT,
    LabError,
    _kill_tree,
    can_connect,
    free_port,
    missing_parts,
    wait_for,
)

FAKE_UPSTREAMS = Path(__file__).with_name("fake_upstreams.py")
DEBIAN_NGINX = Path("/etc/nginx")
# The files the nginx package ships that the sites include, copied as they are.
DEBIAN_FILES = ("fastcgi.conf", "fastcgi_params", "uwsgi_params", "proxy_params",
                "mime.types", "snippets/fastcgi-php.conf")
SITE_NAMES = ("shop", "admin", "app", "legacy", "api")
API_NAME = "api.internal"  # what /v2/ asks the resolver for
POOLS = ("shop", "admin")
PORT_ATTEMPTS = 3

NGINX_CONF = """\
user www-data;
worker_processes 1;
pid {root}/run/nginx.pid;
error_log {root}/log/nginx/error.log;
daemon off;

events {
    worker_connections 256;
}

http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    server_tokens off;

    include mime.types;
    default_type application/octet-stream;

    access_log {root}/log/nginx/access.log;
    client_body_temp_path {root}/tmp/body;
    fastcgi_temp_path {root}/tmp/fastcgi;
    proxy_temp_path {root}/tmp/proxy;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;

    gzip on;

    include conf.d/*.conf;
    include sites-enabled/*;
}
"""

UPSTREAMS_CONF = """\
# The API's two backends; a server that fails once is left out for 30 seconds.
upstream api_backend {
    server 127.0.0.1:{api_a_port} max_fails=1 fail_timeout=30s;
    server 127.0.0.1:{api_b_port} max_fails=1 fail_timeout=30s;
    keepalive 8;
}

# gunicorn's documented setup: fail_timeout=0 tries the socket again on every request.
upstream app_server {
    server unix:{root}/run/gunicorn/app.sock fail_timeout=0;
}
"""

MAPS_CONF = """\
map $uri $legacy_target {
    default "";
    ~^/old/(?<rest>.*)$ /new/$rest;
    "~^/catalog/(?<id>[0-9]+)\\.html$" /product.php?id=$id;
}

map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
}
"""

# Left behind by an editor; the conf.d/*.conf glob never loads it.
OLD_SITE_SAVE = """\
server {
    listen 127.0.0.1:{shop_port};
    server_name shop.example.com www.shop.example.com;
    root {root}/www/shop-old;
    index index.php;

    location ~ \\.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass {save_pass};
    }
}
"""

SHOP_SITE = """\
server {
    listen 127.0.0.1:{shop_port} default_server;
    server_name shop.example.com www.shop.example.com;
    root {root}/www/shop;
    index index.php index.html;

    access_log {root}/log/nginx/shop.access.log;
    error_log {root}/log/nginx/shop.error.log;

    add_header X-Trap "a;b{c}";

    if ($legacy_target) {
        return 301 $legacy_target;
    }
    if ($request_method = POST) {
        set $skip_cache 1;
    }

    location = /brace {
        return 200 "}";
    }

    location / {
        try_files $uri $uri/ @fallback;
    }

    location /media/ {
        location ~* \\.(png|jpe?g|gif)$ {
            expires 30d;
            try_files $uri =404;
        }
        try_files $uri @fallback;
    }

    location ~ \\.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass {shop_pass};
    }

    # The front controller: every pretty URL is answered by index.php.
    location @fallback {
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root/index.php;
        fastcgi_pass {shop_pass};
    }
}
"""

# Available, never enabled: a staging copy of the shop on a socket nobody serves.
STAGING_SITE = """\
server {
    listen 127.0.0.1:{shop_port};
    server_name staging.shop.example.com;
    root {root}/www/shop;

    location ~ \\.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:{root}/run/php/php8.2-fpm-staging.sock;
    }
}
"""

ADMIN_SITE = """\
server {
    listen 127.0.0.1:{admin_port} default_server;
    server_name admin.example.com;
    root {root}/www/admin;
    index index.php;

    access_log {root}/log/nginx/admin.access.log;
    error_log {root}/log/nginx/admin.error.log;

    location / {
        try_files $uri $uri/ /index.php?$args;
    }

    location ~ \\.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass {admin_pass};
    }
}
"""

APP_SITE = """\
server {
    listen 127.0.0.1:{app_port} default_server;
    server_name app.example.com;
    root {root}/www/app/static;
    client_max_body_size 4G;
    keepalive_timeout 5;

    access_log {root}/log/nginx/app.access.log;
    error_log {root}/log/nginx/app.error.log;

    location / {
        try_files $uri @proxy_to_app;
    }

    location @proxy_to_app {
        include proxy_params;
        proxy_redirect off;
        proxy_read_timeout 1s;
        proxy_pass http://app_server;
    }
}
"""

LEGACY_SITE = """\
server {
    listen 127.0.0.1:{legacy_port} default_server;
    server_name legacy.example.com;

    access_log {root}/log/nginx/legacy.access.log;
    error_log {root}/log/nginx/legacy.error.log;

    location / {
        include uwsgi_params;
        uwsgi_read_timeout 5s;
        uwsgi_pass unix:{root}/run/uwsgi/app/legacy/socket;
    }
}
"""

API_SITE = """\
server {
    listen 127.0.0.1:{api_port} default_server;
    server_name api.example.com;

    access_log {root}/log/nginx/api.access.log;
    error_log {root}/log/nginx/api.error.log;

    resolver 127.0.0.1:{dns_port} valid=1s ipv6=off;
    resolver_timeout 2s;

    location /v1/ {
        proxy_pass http://api_backend;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_connect_timeout 1s;
        proxy_read_timeout 1s;
    }

    # Service discovery: the name is looked up through the resolver on each request.
    location /v2/ {
        set $backend "api.internal";
        proxy_pass http://$backend:{api_a_port};
        proxy_read_timeout 1s;
    }
}
"""

PHPFPM_CONF = """\
[global]
pid = {root}/run/php/php8.2-fpm.pid
error_log = {root}/log/php8.2-fpm.log
include = {root}/php/8.2/fpm/pool.d/*.conf
"""

POOL_CONF = """\
[{pool}]
user = www-data
group = www-data
listen = {root}/run/php/php8.2-fpm-{pool}.sock
listen.owner = www-data
listen.group = www-data
pm = dynamic
pm.max_children = {max_children}
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = {max_spare}
"""

SCRIPTS = {
    "shop/index.php": "<?php echo 'shop ok';\n",
    # ?s=SECONDS: a request that holds a PHP-FPM child that long
    "shop/slow.php": "<?php sleep((int)($_GET['s'] ?? 2)); echo 'slept';\n",
    "admin/index.php": "<?php echo 'admin ok';\n",
    "app/static/robots.txt": "User-agent: *\n",
    "shop-old/index.php": "<?php echo 'the old shop';\n",
}


@dataclass(frozen=True)
class Site:
    """One enabled site: its name, the port it is the default server of, its own logs."""

    name: str
    server_name: str
    port: int
    error_log: str
    access_log: str


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


def debian_files_missing() -> str | None:
    """Why the production lab cannot run here, or None."""
    reason = missing_parts()
    if reason:
        return reason
    for name in DEBIAN_FILES:
        if not (DEBIAN_NGINX / name).is_file():
            return f"{DEBIAN_NGINX / name} is missing (Debian's nginx-common package)"
    return None


def require_production_lab() -> None:
    """Skip (fail under CI=true) when the production lab cannot run here."""
    from tests.support import require

    reason = debian_files_missing()
    require(reason is None, reason or "")


class ProductionHost:
    """The host described above, started healthy unless told otherwise.

    shop_pass / admin_pass: the sites' fastcgi_pass (default: their pool's socket);
    save_pass: the fastcgi_pass of the unloaded old-site.conf.save;
    shop_max_children: the shop pool's pm.max_children (pm = dynamic, as Debian ships);
    shop_pool_extra: lines added to pool.d/shop.conf (e.g. listen.backlog).
    Values may use {root}. Breaks after the start: stop_php, kill_php, restart_app,
    restart_api, restart_dns, stop_uwsgi."""

    def __init__(self, *, shop_pass: str = "unix:{root}/run/php/php8.2-fpm-shop.sock",
                 admin_pass: str = "unix:{root}/run/php/php8.2-fpm-admin.sock",
                 save_pass: str = "unix:{root}/run/php/php7.4-fpm.sock",
                 shop_max_children: int = 5, shop_pool_extra: str = "",
                 base_dir: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="n502prod-", dir=base_dir))
        self.root.chmod(0o755)  # www-data walks to the sockets and the docroots
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.values: dict[str, str] = {"root": str(self.root)}
        self.sites: dict[str, Site] = {}
        try:
            self._lay_out()
            self.start_upstreams()
            self._write_phpfpm(shop_max_children, shop_pool_extra)
            self.start_php()
            self._start_nginx_on_free_ports(shop_pass, admin_pass, save_pass)
        except BaseException:
            self.stop()
            raise

    # -- layout --------------------------------------------------------------------------
    def _site(self, name: str) -> Site:
        port = free_port()
        self.values[f"{name}_port"] = str(port)
        return Site(name, f"{name}.example.com", port,
                    str(self.root / f"log/nginx/{name}.error.log"),
                    str(self.root / f"log/nginx/{name}.access.log"))

    def fill(self, text: str) -> str:
        """Replace only our {placeholders}, so nginx's own braces stay as they are."""
        for key, value in self.values.items():
            text = text.replace("{" + key + "}", value)
        return text

    def write(self, relpath: str, text: str, mode: int = 0o644) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.fill(text))
        path.chmod(mode)
        return path

    def _lay_out(self) -> None:
        for folder in ("conf.d", "sites-available", "sites-enabled", "snippets",
                       "php/8.2/fpm/pool.d", "run/php", "run/gunicorn", "run/uwsgi/app/legacy",
                       "log/nginx", "tmp"):
            (self.root / folder).mkdir(mode=0o755, parents=True, exist_ok=True)
        for name in DEBIAN_FILES:
            shutil.copyfile(DEBIAN_NGINX / name, self.root / name)
        for relpath, text in SCRIPTS.items():
            self.write(f"www/{relpath}", text)

    def _start_nginx_on_free_ports(self, shop_pass: str, admin_pass: str,
                                   save_pass: str) -> None:
        """nginx with a free port for each site; again on new ports when another program
        took one between our choice and nginx's bind (other tests run beside these)."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.sites = {name: self._site(name) for name in SITE_NAMES}
            self._write_nginx(shop_pass, admin_pass, save_pass)
            try:
                self.start_nginx()
                return
            except LabError as exc:
                if "Address already in use" not in str(exc) or attempt == PORT_ATTEMPTS:
                    raise
            for log in (self.root / "log/nginx").iterdir():  # no stale bind errors
                log.unlink()

    def _write_nginx(self, shop_pass: str, admin_pass: str, save_pass: str) -> None:
        self.values.update(shop_pass=self.fill(shop_pass), admin_pass=self.fill(admin_pass),
                           save_pass=self.fill(save_pass))
        self.write("nginx.conf", NGINX_CONF)
        self.write("conf.d/upstreams.conf", UPSTREAMS_CONF)
        self.write("conf.d/maps.conf", MAPS_CONF)
        self.write("conf.d/old-site.conf.save", OLD_SITE_SAVE)
        sites = {"shop.example.com": SHOP_SITE, "admin.example.com": ADMIN_SITE,
                 "app.example.com": APP_SITE, "legacy.example.com": LEGACY_SITE,
                 "api.example.com": API_SITE}
        for name, text in sites.items():
            available = self.write(f"sites-available/{name}", text)
            enabled = self.root / "sites-enabled" / name
            enabled.unlink(missing_ok=True)
            enabled.symlink_to(available)
        self.write("sites-available/staging.shop.example.com", STAGING_SITE)

    def _write_phpfpm(self, shop_max_children: int, shop_pool_extra: str) -> None:
        self.write("php/8.2/fpm/php-fpm.conf", PHPFPM_CONF)
        for pool in POOLS:
            shop = pool == "shop"
            children = shop_max_children if shop else 5
            text = POOL_CONF.replace("{pool}", pool).replace(
                "{max_children}", str(children)).replace("{max_spare}", str(min(3, children)))
            self.write(f"php/8.2/fpm/pool.d/{pool}.conf",
                       text + (shop_pool_extra + "\n" if shop else ""))

    # -- paths ---------------------------------------------------------------------------
    @property
    def nginx_conf(self) -> str:
        return str(self.root / "nginx.conf")

    @property
    def phpfpm_conf(self) -> str:
        return str(self.root / "php/8.2/fpm/php-fpm.conf")

    @property
    def main_error_log(self) -> str:
        return str(self.root / "log/nginx/error.log")

    @property
    def phpfpm_log(self) -> str:
        return str(self.root / "log/php8.2-fpm.log")

    def pool_socket(self, pool: str) -> str:
        return str(self.root / f"run/php/php8.2-fpm-{pool}.sock")

    @property
    def app_socket(self) -> str:
        return str(self.root / "run/gunicorn/app.sock")

    @property
    def uwsgi_socket(self) -> str:
        return str(self.root / "run/uwsgi/app/legacy/socket")

    @property
    def api_ports(self) -> tuple[int, int]:
        return int(self.values["api_a_port"]), int(self.values["api_b_port"])

    @property
    def shop(self) -> Site:
        return self.sites["shop"]

    @property
    def admin(self) -> Site:
        return self.sites["admin"]

    @property
    def app(self) -> Site:
        return self.sites["app"]

    @property
    def legacy(self) -> Site:
        return self.sites["legacy"]

    @property
    def api(self) -> Site:
        return self.sites["api"]

    # -- the upstream programs -----------------------------------------------------------
    def _start_fake(self, name: str, *args: str) -> str:
        """Start one fake_upstreams.py program; return the address it announced."""
        ready = self.root / "run" / f"{name}.ready"
        ready.unlink(missing_ok=True)
        log = (self.root / "log" / f"{name}.log").open("ab")
        proc = subprocess.Popen([sys.executable, str(FAKE_UPSTREAMS), *args, "--ready",
                                 str(ready)], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, start_new_session=True)
        log.close()
        self._procs[name] = proc

        def announced() -> bool:
            if proc.poll() is not None:
                raise LabError(f"{name} exited with {proc.returncode}:\n"
                               f"{read_text(str(self.root / 'log' / f'{name}.log'))[-2000:]}")
            return ready.exists()

        wait_for(announced, READY_TIMEOUT, f"{name} to bind")
        return ready.read_text().strip()

    def start_upstreams(self) -> None:
        self.start_app()
        self._start_fake("uwsgi", "uwsgi", "--unix", self.uwsgi_socket)
        for server in ("api_a", "api_b"):
            port = self.values.get(f"{server}_port", "0")
            address = self._start_fake(server, "http", "--port", port)
            self.values[f"{server}_port"] = address.rpartition(":")[2]
        self.start_dns()

    def start_app(self, mode: str = "ok", socket_mode: str = "0666") -> None:
        """The gunicorn-style app. gunicorn's own default umask makes its socket 0666."""
        self._start_fake("app", "http", "--unix", self.app_socket, "--mode", mode,
                         "--socket-mode", socket_mode)

    def restart_app(self, mode: str = "ok", socket_mode: str = "0666") -> None:
        self.stop_process("app")
        self.start_app(mode, socket_mode)

    def restart_api(self, mode: str) -> None:
        """Both API servers again, on their ports, now behaving as `mode`."""
        for server in ("api_a", "api_b"):
            self.stop_process(server)
            self._start_fake(server, "http", "--port", self.values[f"{server}_port"],
                             "--mode", mode)

    def start_dns(self, answer: str = "127.0.0.1") -> None:
        port = self.values.get("dns_port", "0")
        self.values["dns_port"] = self._start_fake("dns", "dns", "--port", port,
                                                   "--answer", answer)

    def restart_dns(self, answer: str) -> None:
        """The resolver again on its port: answer 'nxdomain' or an IPv4 for every name."""
        self.stop_process("dns")
        self.start_dns(answer)

    def stop_uwsgi(self) -> None:
        """uWSGI stopped: with `vacuum` it removes its socket on the way out."""
        self.stop_process("uwsgi")

    def is_running(self, name: str) -> bool:
        """Whether the program started as `name` (app, uwsgi, api_a, dns, php-fpm...) lives."""
        proc = self._procs.get(name)
        return proc is not None and proc.poll() is None

    def stop_process(self, name: str) -> None:
        _kill_tree(self._procs.pop(name, None), signal.SIGTERM)

    # -- PHP-FPM -------------------------------------------------------------------------
    def start_php(self) -> None:
        err = (self.root / "log" / "php-fpm.stderr").open("ab")
        proc = subprocess.Popen([PHPFPM_BIN, "--fpm-config", self.phpfpm_conf, "-F"],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                start_new_session=True)
        err.close()
        self._procs["php-fpm"] = proc
        pid_file = self.root / "run/php/php8.2-fpm.pid"

        def ready() -> bool:
            if proc.poll() is not None:
                raise LabError(f"php-fpm exited with {proc.returncode}:\n"
                               f"{read_text(self.phpfpm_log)[-2000:]}")
            return pid_file.exists() and all(can_connect(self.pool_socket(p)) for p in POOLS)

        wait_for(ready, READY_TIMEOUT, "php-fpm's pools")

    def stop_php(self) -> None:
        """A clean stop (SIGTERM, as systemd's `systemctl stop php8.2-fpm`): the master ends
        its children and removes the sockets."""
        _kill_tree(self._procs.pop("php-fpm", None), signal.SIGTERM)
        wait_for(lambda: not any(os.path.exists(self.pool_socket(p)) for p in POOLS),
                 READY_TIMEOUT, "php-fpm's sockets to go away")

    def kill_php(self) -> None:
        """SIGKILL to the master and its children at once, as the OOM killer or systemd's
        cgroup kill leaves it: nobody removes the socket files, so they stay behind with
        nobody listening (connect is refused)."""
        proc = self._procs.pop("php-fpm", None)
        assert proc is not None, "php-fpm is not running"
        master = psutil.Process(proc.pid)
        family = [master, *master.children(recursive=True)]
        for member in family:
            with contextlib.suppress(psutil.Error):
                member.kill()
        proc.wait(timeout=READY_TIMEOUT)
        psutil.wait_procs(family, timeout=READY_TIMEOUT)

    # -- nginx ---------------------------------------------------------------------------
    def start_nginx(self) -> None:
        err = (self.root / "log" / "nginx.stderr").open("ab")
        proc = subprocess.Popen([NGINX_BIN, "-p", f"{self.root}/", "-c", self.nginx_conf],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                start_new_session=True)
        err.close()
        self._procs["nginx"] = proc
        pid_file = self.root / "run/nginx.pid"

        def ready() -> bool:
            if proc.poll() is not None:
                raise LabError(f"nginx exited with {proc.returncode}:\n"
                               f"{read_text(str(self.root / 'log/nginx.stderr'))[-2000:]}"
                               f"{read_text(self.main_error_log)[-2000:]}")
            return pid_file.exists() and all(
                can_connect(f"127.0.0.1:{site.port}") for site in self.sites.values())

        wait_for(ready, READY_TIMEOUT, "nginx on every site's port")

    # -- requests and logs ---------------------------------------------------------------
    def request(self, site: Site, path: str = "/", timeout: float = 10.0) -> tuple[int, str]:
        """GET as a visitor of `site` (its Host header); (status, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=timeout)
        try:
            conn.request("GET", "/" + path.lstrip("/"), headers={"Host": site.server_name})
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", errors="replace")
        finally:
            conn.close()

    def wait_for_log(self, path: str, needle: str, timeout: float = 10.0) -> str:
        """Wait until the log at `path` holds `needle` (nginx writes after answering)."""
        wait_for(lambda: needle in read_text(path), timeout, f"{needle!r} in {path}")
        return read_text(path)

    def wait_for_status(self, site: Site, path: str, status: int,
                        timeout: float = 10.0) -> None:
        """Wait until `site` answers `path` with `status` (e.g. a resolver's cache ends)."""
        def answered() -> bool:
            with contextlib.suppress(OSError):
                return self.request(site, path, timeout=5.0)[0] == status
            return False

        wait_for(answered, timeout, f"{site.name}{path} to answer {status}")

    # -- lifetime ------------------------------------------------------------------------
    def stop(self, remove: bool = True) -> None:
        """End every process started here (nginx last: it may be mid-request to them)."""
        for name in [n for n in self._procs if n != "nginx"]:
            _kill_tree(self._procs.pop(name), signal.SIGTERM)
        _kill_tree(self._procs.pop("nginx", None), signal.SIGTERM)
        if remove and os.environ.get("LAB_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ProductionHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def production_hosts() -> Iterator[Callable[..., ProductionHost]]:
    """A factory of hosts; every host it made is stopped on the way out, pass or fail."""
    made: list[ProductionHost] = []

    def factory(**kwargs: Any) -> ProductionHost:
        host = ProductionHost(**kwargs)
        made.append(host)
        return host

    try:
        yield factory
    finally:
        for host in made:
            host.stop()
